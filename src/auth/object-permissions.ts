/**
 * Object-level permissions (django-guardian's model, on guardian's tables): `polls.change_poll` granted on poll 7
 * only, to a user or to a group. Combined with the model level as this server defines it: a model-level grant
 * (direct, through a group, or as an active superuser) covers every object; an object-level grant covers that
 * object. Inactive and anonymous users hold nothing.
 *
 * Lists are filtered with one query, whatever their length, and answers are kept for the request.
 *
 *   const checker = new ObjectPermissionChecker(em, auth.permissions(em));
 *   const visible = await checker.filter(user, 'polls.view_poll', polls);
 *   await grantObjectPermission(em, 'polls.change_poll', { userId: 3 }, poll.id);
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { run, selectAll, selectOne } from '../db/sql.js';
import { isAuthenticated, type RequestUser } from './anonymous.js';
import type { PermissionChecker } from './permissions.js';

export type ObjectKey = string | number;
/** Who receives an object-level grant: one user, or every member of one group. */
export type Grantee = { readonly userId: number } | { readonly groupId: number };

/**
 * Both tables, for one permission (by app label and codename) and the objects whose keys are in a JSON array (one
 * parameter, however many keys: a list of 10,000 does not become 10,000 placeholders).
 */
const GRANTED = `
  SELECT o.object_pk FROM guardian_userobjectpermission o
    JOIN auth_permission p ON p.id = o.permission_id AND p.content_type_id = o.content_type_id
    JOIN django_content_type ct ON ct.id = p.content_type_id
   WHERE ct.app_label = ? AND p.codename = ? AND o.user_id = ? AND o.object_pk IN (SELECT jsonb_array_elements_text(?::jsonb))
  UNION
  SELECT o.object_pk FROM guardian_groupobjectpermission o
    JOIN auth_permission p ON p.id = o.permission_id AND p.content_type_id = o.content_type_id
    JOIN django_content_type ct ON ct.id = p.content_type_id
    JOIN auth_user_groups ug ON ug.group_id = o.group_id
   WHERE ct.app_label = ? AND p.codename = ? AND ug.user_id = ? AND o.object_pk IN (SELECT jsonb_array_elements_text(?::jsonb))`;

export class ObjectPermissionChecker {
  /**
   * One DataLoader per user and permission: the checks made while a response is being built (one per list item,
   * say) are gathered into one query, and every answer is kept for the rest of the request.
   */
  private readonly loaders = new Map<string, DataLoader<string, boolean>>();

  constructor(
    private readonly em: EntityManager,
    private readonly models: PermissionChecker,
  ) {}

  /** Whether the user holds `perm` on the object with this primary key (model level or object level). */
  async hasPerm(user: RequestUser | null, perm: string, key: ObjectKey): Promise<boolean> {
    return (await this.permittedKeys(user, perm, [key])).has(String(key));
  }

  /** The objects of `objects` on which the user holds `perm`, in their order. One query at most. */
  async filter<T extends { readonly id: ObjectKey }>(
    user: RequestUser | null,
    perm: string,
    objects: readonly T[],
  ): Promise<T[]> {
    const allowed = await this.permittedKeys(
      user,
      perm,
      objects.map((object) => object.id),
    );
    return objects.filter((object) => allowed.has(String(object.id)));
  }

  /** Of these primary keys, those the user holds `perm` on (as text). */
  async permittedKeys(user: RequestUser | null, perm: string, keys: readonly ObjectKey[]): Promise<Set<string>> {
    const wanted = [...new Set(keys.map(String))];
    if (!isAuthenticated(user) || !user.isActive || wanted.length === 0) return new Set();
    // The model level covers every object (and an active superuser holds every permission).
    if (await this.models.hasPerm(user, perm)) return new Set(wanted);
    const answers = await this.loaderFor(user.id, perm).loadMany(wanted);
    // loadMany hands failures back as values: a failed query must fail the request, not read as "no grant".
    const failure = answers.find((answer) => answer instanceof Error);
    if (failure) throw failure;
    return new Set(wanted.filter((_key, index) => answers[index] === true));
  }

  private loaderFor(userId: number, perm: string): DataLoader<string, boolean> {
    const id = `${userId} ${perm}`;
    let loader = this.loaders.get(id);
    if (!loader) {
      const [appLabel, codename] = splitPermission(perm);
      loader = new DataLoader<string, boolean>(async (keys) => {
        const list = JSON.stringify(keys);
        const rows = await selectAll<{ object_pk: string }>(this.em, GRANTED, [
          appLabel,
          codename,
          userId,
          list,
          appLabel,
          codename,
          userId,
          list,
        ]);
        const granted = new Set(rows.map((row) => row.object_pk));
        return keys.map((key) => granted.has(key));
      });
      this.loaders.set(id, loader);
    }
    return loader;
  }
}

/** Grants `perm` on one object. Granting twice is harmless. Throws when the permission does not exist. */
export async function grantObjectPermission(
  em: EntityManager,
  perm: string,
  grantee: Grantee,
  key: ObjectKey,
): Promise<void> {
  const { id, contentTypeId } = await permissionRow(em, perm);
  if ('userId' in grantee) {
    await run(
      em,
      `INSERT INTO guardian_userobjectpermission (object_pk, content_type_id, permission_id, user_id)
       VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [String(key), contentTypeId, id, grantee.userId],
    );
  } else {
    await run(
      em,
      `INSERT INTO guardian_groupobjectpermission (object_pk, content_type_id, group_id, permission_id)
       VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [String(key), contentTypeId, grantee.groupId, id],
    );
  }
}

/** Revokes an object-level grant; returns whether there was one. */
export async function revokeObjectPermission(
  em: EntityManager,
  perm: string,
  grantee: Grantee,
  key: ObjectKey,
): Promise<boolean> {
  const { id } = await permissionRow(em, perm);
  const [table, column, granteeId] =
    'userId' in grantee
      ? ['guardian_userobjectpermission', 'user_id', grantee.userId]
      : ['guardian_groupobjectpermission', 'group_id', grantee.groupId];
  return (
    (await run(em, `DELETE FROM ${table} WHERE permission_id = ? AND ${column} = ? AND object_pk = ?`, [
      id,
      granteeId,
      String(key),
    ])) > 0
  );
}

export class UnknownPermissionError extends Error {
  constructor(readonly perm: string) {
    super(`${JSON.stringify(perm)} is not a known permission`);
    this.name = 'UnknownPermissionError';
  }
}

async function permissionRow(em: EntityManager, perm: string): Promise<{ id: number; contentTypeId: number }> {
  const [appLabel, codename] = splitPermission(perm);
  const row = await selectOne<{ id: number; content_type_id: number }>(
    em,
    `SELECT p.id, p.content_type_id FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id
      WHERE ct.app_label = ? AND p.codename = ?`,
    [appLabel, codename],
  );
  if (!row) throw new UnknownPermissionError(perm);
  return { id: row.id, contentTypeId: row.content_type_id };
}

function splitPermission(perm: string): [appLabel: string, codename: string] {
  const dot = perm.indexOf('.');
  return [perm.slice(0, dot), perm.slice(dot + 1)];
}
