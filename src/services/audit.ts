/**
 * The staff query of the audit log (schema/audit.graphql): the directives decide who may read it; this reads it.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuditKind } from '../audit/rows.js';
import { keysetPage, type KeysetPage } from '../db/keyset-page.js';
import type { SqlCondition } from '../db/sql.js';
import { AuditEvent } from '../entities/audit-event.js';

export interface AuditFilter {
  readonly actorId?: number | undefined;
  readonly targetUserId?: number | undefined;
  readonly targetGroupId?: number | undefined;
  /** Any of these; every kind when omitted. */
  readonly kinds?: readonly AuditKind[] | undefined;
  /** At or after. */
  readonly after?: Date | undefined;
  /** Before. */
  readonly before?: Date | undefined;
}

/** The filter as a condition on the table aliased `t`; undefined for every row. Each column has its index. */
function conditionOf(filter: AuditFilter): SqlCondition | undefined {
  const clauses: string[] = [];
  const params: unknown[] = [];
  const add = (sql: string, value: unknown) => {
    clauses.push(sql);
    params.push(value);
  };
  if (filter.actorId !== undefined) add('t.actor_id = ?', filter.actorId);
  if (filter.targetUserId !== undefined) add('t.target_user_id = ?', filter.targetUserId);
  if (filter.targetGroupId !== undefined) add('t.target_group_id = ?', filter.targetGroupId);
  // As one JSON parameter: an array parameter would be spread into a list of placeholders.
  if (filter.kinds !== undefined)
    add('t.kind IN (SELECT jsonb_array_elements_text(?::jsonb))', JSON.stringify(filter.kinds));
  if (filter.after !== undefined) add('t.at >= ?', filter.after);
  if (filter.before !== undefined) add('t.at < ?', filter.before);
  return clauses.length === 0 ? undefined : { sql: clauses.join(' AND '), params };
}

/** `first` events matching `filter` after the event `afterId`, oldest first (in the order they happened). */
export function auditEvents(
  em: EntityManager,
  filter: AuditFilter,
  first: number,
  afterId?: number,
): Promise<KeysetPage<AuditEvent>> {
  const where = conditionOf(filter);
  return keysetPage(em, AuditEvent, {
    first,
    ...(where === undefined ? {} : { where }),
    ...(afterId === undefined ? {} : { after: afterId }),
  });
}
