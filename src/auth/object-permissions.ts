/**
 * Object-level permissions (django-guardian's model, on guardian's tables): `polls.change_poll` granted on poll 7
 * only, to a user or to a group. Combined with the model level as this server defines it: a model-level grant
 * (direct, through a group, or as an active superuser) covers every object of its model; an object-level grant
 * covers that object. Inactive and anonymous users hold nothing.
 *
 * Every question names the model of the object it is about (`polls.poll`, Django's content type), as guardian
 * looks a codename up among the permissions of the object's content type: a grant on poll 42 says nothing about
 * choice 42, and `polls.view_poll` asked about a choice is never held (but by a superuser).
 *
 * Lists are filtered with one query whatever their length (the checks a response makes are gathered), and answers
 * are kept for the request. Long lists are better filtered in SQL: `scope()` is guardian's `get_objects_for_user`
 * as a condition for the list's own query, so a page holds only permitted rows and a count counts only them.
 *
 *   const checker = new ObjectPermissionChecker(em, auth.permissions(em));
 *   await checker.hasPerm(user, 'polls.change_poll', { model: 'polls.poll', key: 7 });
 *   const visible = await checker.filter(user, 'polls.view_poll', 'polls.poll', polls);
 *   await grantObjectPermission(em, 'polls.change_poll', { userId: 3 }, poll.id);
 */
import type { EntityName } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import DataLoader from 'dataloader';
import { keyColumnOf, keysetPage, type KeysetPage } from '../db/keyset-page.js';
import { isStorableText, run, selectAll, type SqlCondition } from '../db/sql.js';
import { isAuthenticated, type RequestUser } from './anonymous.js';
import { splitPermission, type PermissionChecker } from './permissions.js';

/** A primary key. guardian keeps them as text (`object_pk`): 42 and '42' are the same object. */
export type ObjectKey = string | number;
/** One object: its model, `app_label.model` as in django_content_type (`polls.poll`), and its primary key. */
export interface ObjectRef {
  readonly model: string;
  readonly key: ObjectKey;
}
/** Who receives an object-level grant: one user, or every member of one group. */
export type Grantee = { readonly userId: number } | { readonly groupId: number };

/**
 * The permission asked about, as rows of auth_permission: by app label and codename, and, when the model is given,
 * only that model's (a codename of another model in the same app is another permission).
 */
const PERMISSION = `SELECT p.id, p.content_type_id FROM auth_permission p
    JOIN django_content_type ct ON ct.id = p.content_type_id
   WHERE ct.app_label = ? AND p.codename = ? AND (?::text IS NULL OR ct.model = ?::text)`;

/**
 * Of some keys, those granted: both tables, the keys as one JSON parameter however many (a list of 10,000 does not
 * become 10,000 placeholders), turned into an array once. `= ANY(array)` is an index probe per key; the earlier
 * `IN (SELECT jsonb_array_elements_text(...))` planned as a nested loop, quadratic (9.6 s for 5,000 x 10,000).
 * The grant's content type is the permission's: a grant recorded under another content type never counts.
 */
const GRANTED = `
  WITH perm AS (${PERMISSION}), wanted AS (SELECT ARRAY(SELECT jsonb_array_elements_text(?::jsonb)) AS keys)
  SELECT o.object_pk FROM guardian_userobjectpermission o
    JOIN perm ON perm.id = o.permission_id AND perm.content_type_id = o.content_type_id
   WHERE o.user_id = ? AND o.object_pk = ANY((SELECT keys FROM wanted)::text[])
  UNION
  SELECT o.object_pk FROM guardian_groupobjectpermission o
    JOIN perm ON perm.id = o.permission_id AND perm.content_type_id = o.content_type_id
    JOIN auth_user_groups ug ON ug.group_id = o.group_id
   WHERE ug.user_id = ? AND o.object_pk = ANY((SELECT keys FROM wanted)::text[])`;

/**
 * Every key granted to the user (directly or through a group), as text: a subquery for `scope()`. A key granted both
 * ways comes twice, which `= ANY` does not mind (cheaper than removing duplicates first).
 */
const GRANTED_KEYS = `
  SELECT o.object_pk FROM guardian_userobjectpermission o
   WHERE o.user_id = ? AND (o.permission_id, o.content_type_id) IN (${PERMISSION})
  UNION ALL
  SELECT o.object_pk FROM guardian_groupobjectpermission o JOIN auth_user_groups ug ON ug.group_id = o.group_id
   WHERE ug.user_id = ? AND (o.permission_id, o.content_type_id) IN (${PERMISSION})`;

/**
 * Which objects of a model a list query may return (guardian's `get_objects_for_user`): all of them (a model-level
 * grant, or a superuser), none (anonymous, inactive, or a permission of another model), or those granted one by one.
 */
export type ObjectScope =
  | { readonly kind: 'all' }
  | { readonly kind: 'none' }
  | {
      readonly kind: 'granted';
      /** A subquery answering the granted keys as text (`object_pk`), with its parameters. */
      readonly keysSql: string;
      readonly params: readonly unknown[];
    };

/**
 * The scope as a condition on `column` (a qualified column, `t.id`). The granted keys become one array, computed
 * once, and the table is probed through its primary key once per grant: the cost follows the user's grants, not
 * the table's size (5,000 grants among 100,000 polls: a page and its count in about 10 ms on PostgreSQL 15). An
 * integer key is compared as an integer; a grant whose object_pk is not a number names no row of such a table and is
 * skipped rather than failing the cast (checked with translate(), about 1 ms cheaper per 5,000 keys than a regex).
 */
export function scopeCondition(scope: ObjectScope, column: string, keyType: 'integer' | 'text'): SqlCondition {
  if (scope.kind === 'all') return { sql: 'true', params: [] };
  if (scope.kind === 'none') return { sql: 'false', params: [] };
  const [compared, key] =
    keyType === 'integer'
      ? [
          column,
          `CASE WHEN length(g.object_pk) BETWEEN 1 AND 18 AND translate(g.object_pk, '0123456789', '') = ''
                THEN g.object_pk::bigint END`,
        ]
      : [`${column}::text`, 'g.object_pk'];
  return {
    sql: `${compared} = ANY(ARRAY(SELECT ${key} FROM (${scope.keysSql}) g(object_pk)))`,
    params: scope.params,
  };
}

export class ObjectPermissionChecker {
  /**
   * One DataLoader per user, permission and model: the checks made while a response is being built (one per list
   * item, say) are gathered into one query, and every answer is kept for the rest of the request.
   */
  private readonly loaders = new Map<string, DataLoader<string, boolean>>();

  constructor(
    private readonly em: EntityManager,
    private readonly models: PermissionChecker,
  ) {}

  /** Whether the user holds `perm` on this object (model level or object level). */
  async hasPerm(user: RequestUser | null, perm: string, object: ObjectRef): Promise<boolean> {
    return (await this.permittedKeys(user, perm, object.model, [object.key])).has(String(object.key));
  }

  /** The objects of `objects` (of `model`) on which the user holds `perm`, in their order. One query at most. */
  async filter<T>(
    user: RequestUser | null,
    perm: string,
    model: string,
    objects: readonly T[],
    keyOf: (object: T) => ObjectKey = (object) => (object as { id: ObjectKey }).id,
  ): Promise<T[]> {
    const allowed = await this.permittedKeys(user, perm, model, objects.map(keyOf));
    return objects.filter((object) => allowed.has(String(keyOf(object))));
  }

  /**
   * Of these primary keys of `model`'s objects, those the user holds `perm` on (as text). `model` undefined: the
   * permission's own model (an id argument naming an object of the permission's model).
   */
  async permittedKeys(
    user: RequestUser | null,
    perm: string,
    model: string | undefined,
    keys: readonly ObjectKey[],
  ): Promise<Set<string>> {
    // object_pk is a varchar(255) of storable text: a key that cannot be one names no object (and would fail the query).
    const wanted = [...new Set(keys.map(String))].filter((key) => key.length <= 255 && isStorableText(key));
    if (!isAuthenticated(user) || !user.isActive || wanted.length === 0) return new Set();
    // A token limited to other permissions reaches no object through this one, granted one by one or not.
    if (!this.models.withinScope(user, perm)) return new Set();
    // The model level covers every object of its model (and an active superuser holds every permission).
    if (await this.models.hasPermOnModel(user, perm, model)) return new Set(wanted);
    if (!sameApp(perm, model)) return new Set();
    const answers = await this.loaderFor(user.id, perm, model).loadMany(wanted);
    // loadMany hands failures back as values: a failed query must fail the request, not read as "no grant".
    const failure = answers.find((answer) => answer instanceof Error);
    if (failure) throw failure;
    return new Set(wanted.filter((_key, index) => answers[index] === true));
  }

  /**
   * guardian's `get_objects_for_user` (with `accept_global_perms`), for a list query to apply in SQL: the objects
   * of `model` the user holds `perm` on. Put `scopeCondition(scope, 't.id', 'integer')` in the list's WHERE, then
   * `prime()` what it returned, so that the directive's check of each item costs no query.
   */
  async scope(user: RequestUser | null, perm: string, model: string): Promise<ObjectScope> {
    if (!isAuthenticated(user) || !user.isActive || !this.models.withinScope(user, perm)) return { kind: 'none' };
    if (await this.models.hasPermOnModel(user, perm, model)) return { kind: 'all' };
    if (!sameApp(perm, model)) return { kind: 'none' };
    const { appLabel, codename } = splitPermission(perm);
    const modelName = modelNameOf(model);
    const permission = [appLabel, codename, modelName, modelName];
    return { kind: 'granted', keysSql: GRANTED_KEYS, params: [user.id, ...permission, user.id, ...permission] };
  }

  /**
   * One page of `entity`'s rows (objects of `model`) the user holds `perm` on, in key order after `after`, with how
   * many there are in all: one statement, filtered in SQL (so the page is full and the count tells of no hidden
   * row), its rows primed so that checking them again costs nothing.
   */
  async permittedPage<T extends object>(
    entity: EntityName<T>,
    user: RequestUser | null,
    perm: string,
    model: string,
    { first, after }: { first: number; after?: string | number },
  ): Promise<KeysetPage<T>> {
    const scope = await this.scope(user, perm, model);
    const { column, type, property } = keyColumnOf(this.em, entity);
    const where = scope.kind === 'all' ? undefined : scopeCondition(scope, `t."${column}"`, type);
    const page = await keysetPage(this.em, entity, {
      first,
      ...(where === undefined ? {} : { where }),
      ...(after === undefined ? {} : { after }),
    });
    const keys = page.items.map((item) => (item as Record<string, ObjectKey>)[property] as ObjectKey);
    this.prime(user, perm, model, keys);
    return page;
  }

  /** Drops every answer: the next check reads the grants again (after this request changed them). */
  forget(): void {
    this.loaders.clear();
  }

  /** Records that the user holds `perm` on these objects (rows a scoped query just returned): no query asks again. */
  prime(user: RequestUser | null, perm: string, model: string, keys: readonly ObjectKey[]): void {
    if (!isAuthenticated(user)) return;
    const loader = this.loaderFor(user.id, perm, model);
    for (const key of keys) loader.prime(String(key), true);
  }

  private loaderFor(userId: number, perm: string, model: string | undefined): DataLoader<string, boolean> {
    const id = `${userId} ${perm} ${model ?? ''}`;
    let loader = this.loaders.get(id);
    if (!loader) {
      const { appLabel, codename } = splitPermission(perm);
      const modelName = model === undefined ? null : modelNameOf(model);
      loader = new DataLoader<string, boolean>(async (keys) => {
        const rows = await selectAll<{ object_pk: string }>(this.em, GRANTED, [
          appLabel,
          codename,
          modelName,
          modelName,
          JSON.stringify(keys),
          userId,
          userId,
        ]);
        const granted = new Set(rows.map((row) => row.object_pk));
        return keys.map((key) => granted.has(key));
      });
      this.loaders.set(id, loader);
    }
    return loader;
  }
}

/** `polls.poll` → `poll`. */
function modelNameOf(model: string): string {
  return model.slice(model.indexOf('.') + 1);
}

/** A permission is about the models of its own app: `polls.view_poll` asked about an `auth.user` is never held. */
function sameApp(perm: string, model: string | undefined): boolean {
  return model === undefined || model.startsWith(`${splitPermission(perm).appLabel}.`);
}

/**
 * Grants `perm` on one object (of the permission's model); returns whether the grant is new. Granting twice is
 * harmless. Throws when unknown.
 */
export async function grantObjectPermission(
  em: EntityManager,
  perm: string,
  grantee: Grantee,
  key: ObjectKey,
): Promise<boolean> {
  const { id, contentTypeId } = await permissionRow(em, perm);
  if ('userId' in grantee) {
    return (
      (await run(
        em,
        `INSERT INTO guardian_userobjectpermission (object_pk, content_type_id, permission_id, user_id)
       VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
        [String(key), contentTypeId, id, grantee.userId],
      )) > 0
    );
  }
  return (
    (await run(
      em,
      `INSERT INTO guardian_groupobjectpermission (object_pk, content_type_id, group_id, permission_id)
       VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
      [String(key), contentTypeId, grantee.groupId, id],
    )) > 0
  );
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

/**
 * Deletes every object-level grant on one object, to users and groups alike; returns how many went. guardian leaves
 * them behind when the object is deleted (its `clean_orphan_obj_perms` sweeps them later): call this in the
 * transaction that deletes the object instead.
 */
export async function deleteObjectPermissions(em: EntityManager, model: string, key: ObjectKey): Promise<number> {
  const [appLabel, name] = model.split('.', 2);
  let deleted = 0;
  for (const table of ['guardian_userobjectpermission', 'guardian_groupobjectpermission']) {
    // A grant left on a deleted object would apply to a new object that reuses its key (ids are recycled in
    // SQL sequences only after a reset, but keys of other kinds, names or slugs, are reused at will).
    deleted += await run(
      em,
      `DELETE FROM ${table} WHERE object_pk = ? AND content_type_id =
         (SELECT id FROM django_content_type WHERE app_label = ? AND model = ?)`,
      [String(key), appLabel, name],
    );
  }
  return deleted;
}

export class UnknownPermissionError extends Error {
  constructor(
    readonly perm: string,
    why = 'is not a known permission',
  ) {
    super(`${JSON.stringify(perm)} ${why}`);
    this.name = 'UnknownPermissionError';
  }
}

/** The permission's row and content type (the model its grants are about). */
export async function permissionRow(em: EntityManager, perm: string): Promise<{ id: number; contentTypeId: number }> {
  const { appLabel, codename } = splitPermission(perm);
  const rows = await selectAll<{ id: number; content_type_id: number }>(
    em,
    `SELECT p.id, p.content_type_id FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id
      WHERE ct.app_label = ? AND p.codename = ? LIMIT 2`,
    [appLabel, codename],
  );
  const [row] = rows;
  if (!row) throw new UnknownPermissionError(perm);
  // One codename on two models of the app: which model's object the key names is not said. Refused, never guessed.
  if (rows.length > 1) throw new UnknownPermissionError(perm, 'names permissions of several models');
  return { id: row.id, contentTypeId: row.content_type_id };
}
