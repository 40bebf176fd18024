/**
 * gqlauth_audit_event: one security event (src/audit/). Written only by the audit recorder, in batches of raw SQL;
 * the entity is for reading (the staff query's pages). Ids of users and groups, not references: a row outlives them.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const AuditEvent = defineEntity({
  name: 'AuditEvent',
  tableName: 'gqlauth_audit_event',
  properties: {
    // bigint: a busy server's log outgrows an integer's ids; as a number, exact up to 2^53.
    id: p.bigint('number').primary().autoincrement(),
    at: p.datetime(),
    kind: p.string().length(64),
    actorId: p.integer().nullable(),
    impersonatorId: p.integer().nullable(),
    targetUserId: p.integer().nullable(),
    targetGroupId: p.integer().nullable(),
    username: p.string().length(150).nullable(),
    address: p.string().length(64).nullable(),
    requestId: p.string().length(128).nullable(),
    details: p.json<Record<string, unknown>>(),
  },
});
export type AuditEvent = InferEntity<typeof AuditEvent>;
