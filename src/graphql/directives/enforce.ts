/**
 * Puts the requirements in force: each guarded field's resolver is wrapped so that its checks run first. A denied
 * field never runs its resolver, and answers null with UNAUTHENTICATED (anonymous) or FORBIDDEN (logged in) at its
 * path. `object: RESULT` is checked after the resolver: a list loses what the user may not see, a single object the
 * user may not see is denied, and a page must hold only permitted objects (it cannot be filtered once cut).
 *
 * A type's guards are checked once per object and request, however many of its fields are read.
 */
import { MapperKind, mapSchema } from '@graphql-tools/utils';
import { defaultFieldResolver, type GraphQLFieldConfig, type GraphQLFieldResolver, type GraphQLSchema } from 'graphql';
import type { Authorization, AuthorizationUser, ObjectKey } from './authorization.js';
import { deny, type Verdict } from './denials.js';
import { allows, type Policies } from './policies.js';
import type { FieldRequirements, ModelBinding, Requirement, ResultShape } from './requirements.js';

export interface EnforceOptions<TContext> {
  /** The request's authorization, from the GraphQL context. */
  readonly authorization: (context: TContext) => Authorization;
  readonly policies?: Policies<TContext>;
}

/** What one check needs to know. */
interface CheckInput<TContext> {
  readonly user: AuthorizationUser | null;
  readonly authorization: Authorization;
  readonly source: unknown;
  readonly args: Readonly<Record<string, unknown>>;
  readonly context: TContext;
  readonly policies: Policies<TContext>;
}

/** Per request: the verdicts of type guards, by type and object, for the user they were made for. */
interface RequestState {
  user: AuthorizationUser | null | undefined;
  byType: Map<string, WeakMap<object, Promise<Verdict>>>;
}
const states = new WeakMap<object, RequestState>();

/** The schema with every guarded field's resolver wrapped by its checks. */
export function enforce<TContext>(
  schema: GraphQLSchema,
  requirements: ReadonlyMap<string, FieldRequirements>,
  options: EnforceOptions<TContext>,
): GraphQLSchema {
  const policies = options.policies ?? {};
  return mapSchema(schema, {
    [MapperKind.OBJECT_FIELD]: (fieldConfig: GraphQLFieldConfig<unknown, TContext>, fieldName, typeName) => {
      const coordinate = `${typeName}.${fieldName}`;
      const needs = requirements.get(coordinate);
      if (!needs || [...needs.onType, ...needs.own].every((need) => need.kind === 'public')) return fieldConfig;
      const results = needs.own.filter(
        (need): need is Extract<Requirement, { kind: 'objectPerm' }> =>
          need.kind === 'objectPerm' && need.object.from === 'result',
      );
      const verdict = async (source: unknown, args: Record<string, unknown>, context: TContext) => {
        const authorization = options.authorization(context);
        const user = await authorization.user();
        const input: CheckInput<TContext> = { user, authorization, source, args, context, policies };
        return (await typeVerdict(typeName, needs.onType, input)) ?? (await verdictOf(needs.own, input));
      };
      const resolve: GraphQLFieldResolver<unknown, TContext> = fieldConfig.resolve ?? defaultFieldResolver;
      const guarded: GraphQLFieldConfig<unknown, TContext> = {
        ...fieldConfig,
        // The checks complete before the resolver starts: a denied field has no side effects.
        resolve: async (source, args: Record<string, unknown>, context, info) => {
          const denied = await verdict(source, args, context);
          if (denied) throw deny(denied, coordinate);
          let result: unknown = await resolve(source, args, context, info);
          for (const need of results) result = await checkResult(need, result, context, options, coordinate);
          return result;
        },
      };
      const { subscribe } = fieldConfig;
      // A subscription is checked when it starts, before its source is opened.
      if (subscribe) {
        guarded.subscribe = async (source, args: Record<string, unknown>, context, info) => {
          const denied = await verdict(source, args, context);
          if (denied) throw deny(denied, coordinate);
          return subscribe(source, args, context, info);
        };
      }
      return guarded;
    },
  });
}

/** A type's guards for one object: decided once per request (and user), whichever of its fields asks first. */
function typeVerdict<TContext>(
  typeName: string,
  onType: readonly Requirement[],
  input: CheckInput<TContext>,
): Promise<Verdict> | Verdict {
  if (onType.every((need) => need.kind === 'public')) return undefined;
  const { source, context } = input;
  // A type's policy is about the object, whichever field is read: it gets no field's arguments.
  const decide = () => verdictOf(onType, { ...input, args: {} });
  if (typeof source !== 'object' || source === null) return decide();
  let state = states.get(context as object);
  // A login or logout in this request changes who asks: what was decided for the previous user is dropped.
  if (!state || state.user !== input.user) {
    state = { user: input.user, byType: new Map() };
    states.set(context as object, state);
  }
  let byObject = state.byType.get(typeName);
  if (!byObject) state.byType.set(typeName, (byObject = new WeakMap()));
  let decided = byObject.get(source);
  if (!decided) byObject.set(source, (decided = decide()));
  return decided;
}

/** The first denial among the requirements, or undefined when every one passes. `object: RESULT` waits. */
async function verdictOf<TContext>(
  requirements: readonly Requirement[],
  input: CheckInput<TContext>,
): Promise<Verdict> {
  const { user, authorization } = input;
  const refused: Verdict = user ? 'FORBIDDEN' : 'UNAUTHENTICATED';
  /** The most recent authentication a step-up asks for (seconds): checked last, once every right is held. */
  let recent: number | undefined;
  for (const requirement of requirements) {
    if (requirement.kind === 'public') continue;
    if (requirement.kind === 'policy') {
      const policy = input.policies[requirement.name];
      // readRequirements refused unknown names; a policy dropped from the registry since then allows nothing.
      const allowed = policy
        ? await allows(policy, requirement.name, {
            user,
            authorization,
            parent: input.source,
            args: input.args,
            context: input.context,
          })
        : false;
      if (!allowed) return refused;
      continue;
    }
    // Every other guard needs a logged-in, active user first.
    if (!user) return 'UNAUTHENTICATED';
    if (requirement.kind === 'auth') {
      if (requirement.recent === undefined) continue;
      const maxAgeSeconds =
        // An authorization that says no age for stepUp gets none: nothing is recent enough (fail closed).
        requirement.recent === 'stepUp' ? (authorization.stepUpMaxAgeSeconds ?? 0) : requirement.recent;
      recent = Math.min(recent ?? maxAgeSeconds, maxAgeSeconds);
      continue;
    }
    if (requirement.kind === 'perms') {
      const held = await Promise.all(requirement.perms.map((perm) => authorization.hasPerm(perm)));
      if (!(requirement.mode === 'all' ? held.every(Boolean) : held.some(Boolean))) return 'FORBIDDEN';
      continue;
    }
    const { object, perm, model } = requirement;
    if (object.from === 'result') continue;
    if (object.from === 'parent') {
      const key = keyOf(input.source, model);
      if (key === undefined) throw new MissingKeyError(perm, model);
      if (!(await authorization.permittedKeys(perm, model?.name, [key])).has(String(key))) return 'FORBIDDEN';
      continue;
    }
    const key = valueAt(input.args, object.path);
    // No object named (an optional id left out): only the model level can allow it.
    const allowed =
      key === null || key === undefined
        ? await authorization.hasPerm(perm)
        : (await authorization.permittedKeys(perm, undefined, [key])).has(String(key));
    if (!allowed) return 'FORBIDDEN';
  }
  if (recent !== undefined) {
    // Asked only of someone who may otherwise do it: nobody is sent to reauthenticate for a field they may not use.
    const age = await authorization.authenticationAge?.();
    // Unknown (an access token, an Authorization that cannot tell) is not recent: fail closed.
    if (age === undefined || age > recent) return { reauthenticate: recent };
  }
  return undefined;
}

/** The object's key (its `@model`'s key property), or undefined when it has none to ask about. */
function keyOf(object: unknown, model: ModelBinding | undefined): ObjectKey | undefined {
  if (typeof object !== 'object' || object === null) return undefined;
  const key = (object as Record<string, unknown>)[model?.key ?? 'id'];
  return typeof key === 'string' || typeof key === 'number' ? key : undefined;
}

/** The value at `input.id` in the arguments (readRequirements checked that the path names an id). */
function valueAt(args: Readonly<Record<string, unknown>>, path: readonly string[]): ObjectKey | null | undefined {
  let value: unknown = args;
  for (const name of path)
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' || typeof value === 'number' ? value : (value as null | undefined);
}

/** A resolver handed over an object without the key its `@model` names: a bug, never a permission to guess. */
class MissingKeyError extends Error {
  constructor(perm: string, model: ModelBinding | undefined) {
    super(`an object of ${model?.name ?? 'the model'} has no key "${model?.key ?? 'id'}" to check ${perm} against`);
    this.name = 'MissingKeyError';
  }
}

/** A page that holds objects the user may not see: its counts and cursors would tell of them. A bug. */
class UnscopedPageError extends Error {
  constructor(coordinate: string, perm: string, model: string) {
    super(
      `${coordinate}: the page holds ${model} objects the user may not see (${perm}); filter its query with ` +
        'the object permission scope (a page cannot be filtered once cut: its counts and cursors would tell)',
    );
    this.name = 'UnscopedPageError';
  }
}

/** `object: RESULT`, after the resolver. */
async function checkResult<TContext>(
  need: Extract<Requirement, { kind: 'objectPerm' }>,
  result: unknown,
  context: TContext,
  options: EnforceOptions<TContext>,
  coordinate: string,
): Promise<unknown> {
  if (result === null || result === undefined) return result;
  const { perm, model } = need;
  const shape = (need.object as { shape: ResultShape }).shape;
  const authorization = options.authorization(context);
  const user = await authorization.user();
  const permitted = (keys: ObjectKey[]) => authorization.permittedKeys(perm, model?.name, keys);
  if (shape.kind === 'object') {
    const key = keyOf(result, model);
    if (key === undefined) throw new MissingKeyError(perm, model);
    if (!(await permitted([key])).has(String(key))) throw deny(user ? 'FORBIDDEN' : 'UNAUTHENTICATED', coordinate);
    return result;
  }
  if (shape.kind === 'list') {
    const items = result as unknown[];
    const keys = items.map((item) => keyOf(item, model));
    const allowed = await permitted(keys.filter((key) => key !== undefined));
    // Null items stay (the list's own nulls); an object without a key is dropped rather than shown unchecked.
    return items.filter((item, index) => {
      if (item === null || item === undefined) return true;
      const key = keys[index];
      return key !== undefined && allowed.has(String(key));
    });
  }
  const page = result as Record<string, unknown>;
  const objects: unknown[] = [];
  for (const field of shape.lists) objects.push(...asArray(page[field]));
  for (const { field, node } of shape.edges)
    for (const edge of asArray(page[field])) objects.push((edge as Record<string, unknown> | null)?.[node]);
  const present = objects.filter((object) => object !== null && object !== undefined);
  const keys = present.map((object) => keyOf(object, model));
  if (keys.some((key) => key === undefined)) throw new MissingKeyError(perm, model);
  const allowed = await permitted(keys as ObjectKey[]);
  if (keys.some((key) => !allowed.has(String(key)))) throw new UnscopedPageError(coordinate, perm, model?.name ?? '');
  return result;
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}
