/**
 * The authorization directives of schema/directives.graphql, made to work: `@auth`, `@hasPerm`, `@public`.
 *
 * `guardSchema(schema)` reads them once, at assembly, and
 *  - refuses the schema (SchemaGuardError, one line per problem, each naming its `Type.field`) when a root field
 *    carries none of them (fail closed), when one sits where it cannot take effect (an interface field), when
 *    `@public` contradicts its type's directive, or when a `@hasPerm` is malformed;
 *  - wraps each guarded field's resolver so that the check runs first: a denied field never runs its resolver, and
 *    answers null with UNAUTHENTICATED (anonymous) or FORBIDDEN (logged in, without the permission) at its path.
 *
 * Checks use the request's user (resolved once per request) and its PermissionChecker (one query per user per
 * request), so a response with a thousand guarded items costs one permission query, not a thousand.
 */
import { MapperKind, getDirective, mapSchema } from '@graphql-tools/utils';
import {
  Kind,
  parse,
  defaultFieldResolver,
  isInterfaceType,
  isObjectType,
  type GraphQLFieldConfig,
  type GraphQLFieldResolver,
  type GraphQLSchema,
} from 'graphql';
import type { EntityManager } from '@mikro-orm/postgresql';
import { isAuthenticated } from '../auth/anonymous.js';
import type { ObjectKey } from '../auth/object-permissions.js';
import { SessionStoreError } from '../http/request-auth.js';
import { selectAll } from '../db/sql.js';
import type { GraphQLContext } from './context.js';
import { forbidden, serviceUnavailable, unauthenticated } from './errors.js';
import { StartupError } from '../startup-error.js';

/** Which object an object-level permission is asked about. */
export type ObjectSource =
  { readonly from: 'result' } | { readonly from: 'parent' } | { readonly from: 'argument'; readonly name: string };

/** What a field requires, from its own directives and its type's. */
export type Requirement =
  | { readonly kind: 'public' }
  | { readonly kind: 'auth' }
  | { readonly kind: 'perms'; readonly mode: 'all' | 'any'; readonly perms: readonly string[] }
  | { readonly kind: 'objectPerm'; readonly perm: string; readonly object: ObjectSource };

/** A permission name as Django writes it: `app_label.codename`. */
const PERMISSION_NAME = /^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z0-9_]+$/;

export class SchemaGuardError extends StartupError {
  constructor(readonly problems: readonly string[]) {
    super(`the schema cannot be served:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
    this.name = 'SchemaGuardError';
  }
}

type AstNodeHolder = Parameters<typeof getDirective>[1];

/**
 * The requirements a type or field declares itself (not inherited); problems go to `problems`. `argumentNames`:
 * the field's arguments, or undefined for a type.
 */
function declared(
  schema: GraphQLSchema,
  holder: AstNodeHolder,
  coordinate: string,
  problems: string[],
  argumentNames?: readonly string[],
): Requirement[] {
  const requirements: Requirement[] = [];
  if (getDirective(schema, holder, 'public')?.length) requirements.push({ kind: 'public' });
  if (getDirective(schema, holder, 'auth')?.length) requirements.push({ kind: 'auth' });
  for (const args of getDirective(schema, holder, 'hasPerm') ?? []) {
    const { perm, allOf, anyOf, object, objectArg } = args as {
      perm?: string | null;
      allOf?: string[] | null;
      anyOf?: string[] | null;
      object?: 'RESULT' | 'PARENT' | null;
      objectArg?: string | null;
    };
    const given = [perm, allOf, anyOf].filter((value) => value !== undefined && value !== null);
    if (given.length !== 1) {
      problems.push(`${coordinate}: @hasPerm takes exactly one of perm, allOf, anyOf`);
      continue;
    }
    const perms = perm ?? allOf ?? anyOf ?? [];
    const list = typeof perms === 'string' ? [perms] : perms;
    const bad = list.filter((name) => !PERMISSION_NAME.test(name));
    if (list.length === 0) problems.push(`${coordinate}: @hasPerm names no permission`);
    else if (bad.length > 0)
      problems.push(
        `${coordinate}: @hasPerm names ${bad.map((name) => JSON.stringify(name)).join(', ')}, not app_label.codename`,
      );
    else if ((object ?? objectArg ?? undefined) === undefined)
      requirements.push({ kind: 'perms', mode: anyOf ? 'any' : 'all', perms: list });
    else {
      const source = objectSource(perm ?? undefined, object ?? undefined, objectArg ?? undefined, argumentNames);
      if (typeof source === 'string') problems.push(`${coordinate}: ${source}`);
      else if (perm) requirements.push({ kind: 'objectPerm', perm, object: source });
    }
  }
  return requirements;
}

/** The object an object-level @hasPerm asks about, or what is wrong with its declaration. */
function objectSource(
  perm: string | undefined,
  object: 'RESULT' | 'PARENT' | undefined,
  objectArg: string | undefined,
  argumentNames: readonly string[] | undefined,
): ObjectSource | string {
  if (perm === undefined) return '@hasPerm at object level takes perm (one permission), not allOf or anyOf';
  if (object !== undefined && objectArg !== undefined) return '@hasPerm takes object or objectArg, not both';
  if (objectArg !== undefined) {
    if (argumentNames === undefined) return '@hasPerm(objectArg) belongs on a field, not on a type';
    if (!argumentNames.includes(objectArg)) return `@hasPerm(objectArg: "${objectArg}") names no argument`;
    return { from: 'argument', name: objectArg };
  }
  if (object === 'RESULT' && argumentNames === undefined)
    return '@hasPerm(object: RESULT) belongs on a field, not on a type (use PARENT)';
  return { from: object === 'RESULT' ? 'result' : 'parent' };
}

function mentionsDirective(schema: GraphQLSchema, holder: AstNodeHolder): boolean {
  return ['auth', 'hasPerm', 'public'].some((name) => (getDirective(schema, holder, name)?.length ?? 0) > 0);
}

const GUARDS = new Set(['auth', 'hasPerm', 'public']);

/**
 * Guard directives repeated on one type or field across its definition and extensions (or a field declared twice).
 * Merging the SDL would keep only the last one, silently dropping a requirement: refused instead, each listed.
 */
export function repeatedGuards(typeDefs: readonly string[]): string[] {
  const seen = new Map<string, number>();
  const count = (coordinate: string, directives: readonly { name: { value: string } }[] | undefined) => {
    for (const directive of directives ?? []) {
      if (!GUARDS.has(directive.name.value)) continue;
      const key = `${coordinate} @${directive.name.value}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  };
  for (const source of typeDefs) {
    for (const definition of parse(source).definitions) {
      if (
        definition.kind !== Kind.OBJECT_TYPE_DEFINITION &&
        definition.kind !== Kind.OBJECT_TYPE_EXTENSION &&
        definition.kind !== Kind.INTERFACE_TYPE_DEFINITION &&
        definition.kind !== Kind.INTERFACE_TYPE_EXTENSION
      )
        continue;
      const type = definition.name.value;
      count(type, definition.directives);
      for (const field of definition.fields ?? []) count(`${type}.${field.name.value}`, field.directives);
    }
  }
  return [...seen]
    .filter(([, times]) => times > 1)
    .map(([key]) => {
      const [coordinate, directive] = key.split(' ');
      return `${coordinate}: ${directive} given ${seen.get(key)} times (across its definition and extensions): the last would silently replace the others; write one (allOf / anyOf for several permissions)`;
    })
    .sort();
}

/** Every field's requirements (its type's first, then its own), by `Type.field`. Throws SchemaGuardError. */
export function readRequirements(schema: GraphQLSchema): Map<string, Requirement[]> {
  const problems: string[] = [];
  const byField = new Map<string, Requirement[]>();
  const roots = new Set(
    [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()].flatMap((type) =>
      type ? [type.name] : [],
    ),
  );
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    if (isInterfaceType(type)) {
      // Interface fields are never resolved themselves: a directive there would protect nothing.
      for (const field of Object.values(type.getFields())) {
        if (declared(schema, field, `${type.name}.${field.name}`, []).length > 0) {
          problems.push(
            `${type.name}.${field.name}: directives on interface fields take no effect; put them on the fields of the types that implement ${type.name}`,
          );
        }
      }
      continue;
    }
    if (!isObjectType(type)) continue;
    const onType = declared(schema, type, type.name, problems);
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      const own = declared(
        schema,
        field,
        coordinate,
        problems,
        field.args.map((arg) => arg.name),
      );
      const mutating = type === schema.getMutationType() || type === schema.getSubscriptionType();
      if (mutating && own.some((need) => need.kind === 'objectPerm' && need.object.from === 'result')) {
        // Checked after the resolver: on a mutation, the change would already be made when the answer is no.
        problems.push(
          `${coordinate}: @hasPerm(object: RESULT) is checked after the resolver runs; use objectArg on a ${type.name} field`,
        );
      }
      if (own.some((requirement) => requirement.kind === 'public') && onType.length > 0) {
        problems.push(`${coordinate}: @public contradicts the directive on ${type.name}`);
      }
      if (own.some((requirement) => requirement.kind === 'public') && own.length > 1) {
        problems.push(`${coordinate}: @public contradicts the field's other directives`);
      }
      const requirements = [...onType, ...own];
      // Fail closed: an operation nobody decided about is an operation left open by accident. (A malformed
      // directive is reported above, not again here.)
      if (roots.has(type.name) && !mentionsDirective(schema, type) && !mentionsDirective(schema, field)) {
        problems.push(`${coordinate}: no @auth, @hasPerm or @public (every root field must say who may run it)`);
      }
      if (requirements.length > 0) byField.set(coordinate, requirements);
    }
  }
  if (problems.length > 0) throw new SchemaGuardError(problems.sort());
  return byField;
}

/** Every permission the schema's directives name, sorted, without repeats. */
export function permissionsNamed(requirements: ReadonlyMap<string, readonly Requirement[]>): string[] {
  const names = new Set<string>();
  for (const list of requirements.values())
    for (const requirement of list) {
      if (requirement.kind === 'perms') for (const name of requirement.perms) names.add(name);
      // Object-level names too: a typo there would deny everyone but superusers, silently.
      if (requirement.kind === 'objectPerm') names.add(requirement.perm);
    }
  return [...names].sort();
}

/** A requirement in words, for the manifest. */
function describeRequirement(requirement: Requirement): string {
  switch (requirement.kind) {
    case 'public':
      return 'public';
    case 'auth':
      return 'logged in';
    case 'perms':
      return requirement.perms.length === 1
        ? (requirement.perms[0] ?? '')
        : `${requirement.mode === 'all' ? 'all of' : 'any of'} ${requirement.perms.join(', ')}`;
    case 'objectPerm': {
      const { object } = requirement;
      const on =
        object.from === 'argument'
          ? `on the object whose id is argument ${object.name}`
          : object.from === 'parent'
            ? 'on the object the field belongs to'
            : 'on each object returned (lists filtered)';
      return `${requirement.perm} ${on}`;
    }
  }
}

/**
 * The permissions manifest: one line per root field and per other guarded field, sorted, with what it requires
 * (its type's requirements and its own, joined by "and"). Committed as schema/permissions.txt, so that a change of
 * who may do what shows in review as a diff.
 */
export function permissionManifest(schema: GraphQLSchema): string {
  const requirements = readRequirements(schema);
  const roots = [schema.getQueryType(), schema.getMutationType(), schema.getSubscriptionType()];
  const coordinates = new Set(requirements.keys());
  for (const root of roots)
    if (root) for (const name of Object.keys(root.getFields())) coordinates.add(`${root.name}.${name}`);
  const rows = [...coordinates].sort().map((coordinate) => {
    const list = requirements.get(coordinate) ?? [];
    return [coordinate, list.map(describeRequirement).join(' and ')] as const;
  });
  const width = Math.max(...rows.map(([coordinate]) => coordinate.length));
  return rows.map(([coordinate, text]) => `${coordinate.padEnd(width)}  ${text}`).join('\n') + '\n';
}

/**
 * One line per permission the schema names that the database does not hold (a typo, or a model never installed),
 * with every field naming it: `"polls.view_pol" (Query.polls) does not exist`. Empty when all exist.
 */
export async function unknownPermissions(em: EntityManager, schema: GraphQLSchema): Promise<string[]> {
  const requirements = readRequirements(schema);
  const named = permissionsNamed(requirements);
  if (named.length === 0) return [];
  let rows: { name: string }[];
  try {
    rows = await selectAll<{ name: string }>(
      em,
      `SELECT ct.app_label || '.' || p.codename AS name
         FROM auth_permission p JOIN django_content_type ct ON ct.id = p.content_type_id`,
    );
  } catch (error) {
    // 42P01, undefined_table: a database that was never migrated.
    if ((error as { code?: unknown }).code !== '42P01') throw error;
    return ['the database has no auth tables: run `npm run migrate` first (or set MIGRATE_ON_START=true)'];
  }
  const known = new Set(rows.map((row) => row.name));
  return named
    .filter((name) => !known.has(name))
    .map((name) => {
      const where = [...requirements]
        .filter(([, list]) =>
          list.some(
            (requirement) =>
              (requirement.kind === 'perms' && requirement.perms.includes(name)) ||
              (requirement.kind === 'objectPerm' && requirement.perm === name),
          ),
        )
        .map(([coordinate]) => coordinate);
      return `${JSON.stringify(name)} (${where.join(', ')}) is not a known permission`;
    });
}

/** The request's user; a session store that fails while resolving it is SERVICE_UNAVAILABLE, as elsewhere. */
async function requestUser(context: GraphQLContext) {
  try {
    return await context.auth.requestUser();
  } catch (error) {
    if (!(error instanceof SessionStoreError)) throw error;
    context.logger.error({ err: error.cause }, 'the session store failed');
    throw serviceUnavailable();
  }
}

/** The primary key of an object the resolvers handed over (an entity, or a plain object with an id). */
function keyOf(object: unknown): ObjectKey | undefined {
  const id = (object as { id?: unknown } | null | undefined)?.id;
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/**
 * Runs a field's requirements for this request, before its resolver; throws UNAUTHENTICATED or FORBIDDEN. Object
 * permissions on the result are left for `filterResult`.
 */
async function enforce(
  requirements: readonly Requirement[],
  context: GraphQLContext,
  source: unknown,
  args: Record<string, unknown>,
): Promise<void> {
  for (const requirement of requirements) {
    if (requirement.kind === 'public') continue;
    const user = await requestUser(context);
    // Only active users ever resolve from a session; the check is repeated here so that no path skips it.
    if (!isAuthenticated(user) || !user.isActive) throw unauthenticated();
    if (requirement.kind === 'auth') continue;
    if (requirement.kind === 'objectPerm') {
      if (requirement.object.from === 'result') continue;
      const key = requirement.object.from === 'parent' ? keyOf(source) : args[requirement.object.name];
      const allowed =
        typeof key === 'string' || typeof key === 'number'
          ? await context.objectPermissions.hasPerm(user, requirement.perm, key)
          : // No object to ask about: only the model level can allow it.
            await context.permissions.hasPerm(user, requirement.perm);
      if (!allowed) throw forbidden();
      continue;
    }
    const checks = await Promise.all(requirement.perms.map((perm) => context.permissions.hasPerm(user, perm)));
    const allowed = requirement.mode === 'all' ? checks.every(Boolean) : checks.some(Boolean);
    if (!allowed) throw forbidden();
  }
}

/**
 * `object: RESULT`: a list loses the objects the user may not see (one query for the whole list); a single object
 * the user may not see is FORBIDDEN.
 */
async function filterResult(perm: string, result: unknown, context: GraphQLContext): Promise<unknown> {
  if (result === null || result === undefined) return result;
  const user = await requestUser(context);
  const checker = context.objectPermissions;
  if (Array.isArray(result)) {
    const items = result as unknown[];
    const keys = items.map(keyOf);
    const allowed = await checker.permittedKeys(
      user,
      perm,
      keys.filter((key) => key !== undefined),
    );
    return items.filter((_item, index) => {
      const key = keys[index];
      return key !== undefined && allowed.has(String(key));
    });
  }
  const key = keyOf(result);
  if (key === undefined || !(await checker.hasPerm(user, perm, key))) throw forbidden();
  return result;
}

/** Schemas whose directives are enforced (made by guardSchema): the server serves no other. */
const guardedSchemas = new WeakSet<GraphQLSchema>();

/** Whether `schema` came out of guardSchema (buildSchema does that). */
export function isGuarded(schema: GraphQLSchema): boolean {
  return guardedSchemas.has(schema);
}

/**
 * The schema with every guarded field's resolver wrapped by its check. Throws SchemaGuardError listing every
 * problem when the schema leaves a root field unguarded or misplaces a directive.
 */
export function guardSchema(schema: GraphQLSchema): GraphQLSchema {
  const requirements = readRequirements(schema);
  const guarded = mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (fieldConfig: GraphQLFieldConfig<unknown, GraphQLContext>, fieldName, typeName) => {
      const needs = requirements.get(`${typeName}.${fieldName}`);
      if (!needs || needs.every((requirement) => requirement.kind === 'public')) return fieldConfig;
      const resolve: GraphQLFieldResolver<unknown, GraphQLContext> = fieldConfig.resolve ?? defaultFieldResolver;
      const guarded: GraphQLFieldConfig<unknown, GraphQLContext> = {
        ...fieldConfig,
        // The check completes before the resolver starts: a denied field has no side effects.
        resolve: async (source, args: Record<string, unknown>, context, info) => {
          await enforce(needs, context, source, args);
          let result: unknown = await resolve(source, args, context, info);
          for (const need of needs) {
            if (need.kind === 'objectPerm' && need.object.from === 'result')
              result = await filterResult(need.perm, result, context);
          }
          return result;
        },
      };
      const { subscribe } = fieldConfig;
      // A subscription is checked when it starts, before its source is opened.
      if (subscribe) {
        guarded.subscribe = async (source, args: Record<string, unknown>, context, info) => {
          await enforce(needs, context, source, args);
          return subscribe(source, args, context, info);
        };
      }
      return guarded;
    },
  });
  guardedSchemas.add(guarded);
  return guarded;
}
