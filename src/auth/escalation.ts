/**
 * "Nobody hands out more than they hold", and nobody takes over an account that holds more: what one user or group
 * holds that a caller does not, at the model level and object by object (guardian's grants), directly and through
 * groups. An admin who may change users can then neither join a group carrying object-level grants they lack, nor
 * set the password of a user who holds more than they do and log in as them.
 *
 *   const beyond = await heldBeyond(em, caller, { groupId: 4 }); // [] when the caller holds all of it
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { selectAll } from '../db/sql.js';
import { isAuthenticated, type RequestUser } from './anonymous.js';

/** Whose holdings are compared with the caller's: one user's (direct and through groups), or one group's. */
export type Holder = { readonly userId: number } | { readonly groupId: number };

/** One thing held beyond the caller: a permission, on every object (objectKey null) or on one. */
export interface HeldBeyond {
  readonly perm: string;
  readonly model: string;
  readonly objectKey: string | null;
}

/** A user's permission ids (direct and through groups), or a group's: `?` is the user's or group's id. */
const MODEL_LEVEL = {
  user: `SELECT permission_id FROM auth_user_user_permissions WHERE user_id = ?
         UNION SELECT gp.permission_id FROM auth_group_permissions gp
           JOIN auth_user_groups ug ON ug.group_id = gp.group_id WHERE ug.user_id = ?`,
  group: `SELECT permission_id FROM auth_group_permissions WHERE group_id = ?`,
};

/** A user's object grants (direct and through groups), or a group's. */
const OBJECT_LEVEL = {
  user: `SELECT permission_id, object_pk FROM guardian_userobjectpermission WHERE user_id = ?
         UNION SELECT o.permission_id, o.object_pk FROM guardian_groupobjectpermission o
           JOIN auth_user_groups ug ON ug.group_id = o.group_id WHERE ug.user_id = ?`,
  group: `SELECT permission_id, object_pk FROM guardian_groupobjectpermission WHERE group_id = ?`,
};

/**
 * What `holder` holds that `caller` does not: model-level permissions the caller lacks, and object grants the
 * caller holds neither on the model nor on that object. Empty for an active superuser caller (who holds
 * everything); everything for an anonymous or inactive one. One query. A holder's rows count whether or not the
 * holder is active: reactivating an account is one of the changes this guards.
 */
export async function heldBeyond(em: EntityManager, caller: RequestUser, holder: Holder): Promise<HeldBeyond[]> {
  if (isAuthenticated(caller) && caller.isActive && caller.isSuperuser) return [];
  const callerId = isAuthenticated(caller) && caller.isActive ? caller.id : 0;
  const [kind, holderId] =
    'userId' in holder ? (['user', holder.userId] as const) : (['group', holder.groupId] as const);
  const holderParams = kind === 'user' ? [holderId, holderId] : [holderId];
  return selectAll<HeldBeyond>(
    em,
    `WITH caller_model AS (${MODEL_LEVEL.user}),
          caller_objects AS (${OBJECT_LEVEL.user}),
          held_model AS (${MODEL_LEVEL[kind]}),
          held_objects AS (${OBJECT_LEVEL[kind]}),
          beyond AS (
            SELECT permission_id, NULL::text AS object_pk FROM held_model
             WHERE permission_id NOT IN (SELECT permission_id FROM caller_model)
            UNION
            SELECT h.permission_id, h.object_pk FROM held_objects h
             WHERE h.permission_id NOT IN (SELECT permission_id FROM caller_model)
               AND NOT EXISTS (SELECT 1 FROM caller_objects c
                                WHERE c.permission_id = h.permission_id AND c.object_pk = h.object_pk))
     SELECT ct.app_label || '.' || p.codename AS perm, ct.app_label || '.' || ct.model AS model,
            b.object_pk AS "objectKey"
       FROM beyond b JOIN auth_permission p ON p.id = b.permission_id
       JOIN django_content_type ct ON ct.id = p.content_type_id
      ORDER BY 1, 3 NULLS FIRST`,
    [callerId, callerId, callerId, callerId, ...holderParams, ...holderParams],
  );
}
