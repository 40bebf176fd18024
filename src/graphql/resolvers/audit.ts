/**
 * The audit log's staff query (schema/audit.graphql): who may read it is the directives' (staff, with
 * gqlauth.view_auditevent); here arguments are read and rows shown.
 */
import type { AuditKind } from '../../audit/rows.js';
import { auditEvents, type AuditFilter } from '../../services/audit.js';
import { badUserInput } from '../errors.js';
import type { Resolvers } from '../generated/resolvers.js';
import { idOf, pageSizeOf } from '../ids.js';

const MAX_PAGE = 200;

/** The event id a cursor of this list stands for (audit ids are bigints: up to 2^53 here, not integer's bound). */
function eventIdOfCursor(cursor: string): number {
  const decoded = /^[A-Za-z0-9_-]{1,24}$/.test(cursor) ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  if (!/^[1-9]\d{0,15}$/.test(decoded) || !Number.isSafeInteger(Number(decoded))) {
    throw badUserInput([{ code: 'invalid_cursor', message: 'after is not a cursor this list gave.', field: 'after' }]);
  }
  return Number(decoded);
}

const cursorOf = (id: number) => Buffer.from(String(id), 'utf8').toString('base64url');

const idOrNull = (id: number | null | undefined) => (id === null || id === undefined ? null : String(id));

export const auditResolvers: Resolvers = {
  Query: {
    async auditEvents(_parent, { filter, first, after }, { em }) {
      const size = pageSizeOf(first, MAX_PAGE);
      const given = <T>(value: T | null | undefined): T | undefined => value ?? undefined;
      const range = { after: given(filter?.after), before: given(filter?.before) };
      if (range.after && range.before && range.after >= range.before) {
        throw badUserInput([
          { code: 'invalid', message: 'filter.after must be before filter.before.', field: 'filter.after' },
        ]);
      }
      const actorId = given(filter?.actorId);
      const targetUserId = given(filter?.targetUserId);
      const targetGroupId = given(filter?.targetGroupId);
      const kinds = given(filter?.kinds);
      const conditions: AuditFilter = {
        actorId: actorId === undefined ? undefined : idOf(actorId, 'filter.actorId'),
        targetUserId: targetUserId === undefined ? undefined : idOf(targetUserId, 'filter.targetUserId'),
        targetGroupId: targetGroupId === undefined ? undefined : idOf(targetGroupId, 'filter.targetGroupId'),
        // The enum's values are the stored kinds in upper case.
        kinds: kinds?.map((kind) => kind.toLowerCase() as AuditKind),
        ...range,
      };
      const page = await auditEvents(em, conditions, size, after ? eventIdOfCursor(after) : undefined);
      const edges = page.items.map((node) => ({ node, cursor: cursorOf(node.id) }));
      return {
        totalCount: page.totalCount,
        edges,
        pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null },
      };
    },
  },
  AuditEvent: {
    id: (event) => String(event.id),
    kind: (event) => event.kind.toUpperCase() as Uppercase<AuditKind>,
    actorId: (event) => idOrNull(event.actorId),
    impersonatorId: (event) => idOrNull(event.impersonatorId),
    targetUserId: (event) => idOrNull(event.targetUserId),
    targetGroupId: (event) => idOrNull(event.targetGroupId),
  },
};
