/**
 * Reads what every field requires from the SDL's directives (`@auth`, `@hasPerm`, `@policy`, `@public`, and
 * `@model` saying which model a type's objects are), once, when the schema is assembled; refuses the schema when
 * a field reachable from a root has no decided policy (fail closed) or a directive is malformed or misplaced. Every
 * problem is one line naming its `Type.field`.
 *
 * The rule, kept simple so that a review can check it: an object type either carries a guard itself (which applies
 * to each of its fields) or every one of its fields carries one. A field's own guard adds to its type's.
 */
import { getDirective } from '@graphql-tools/utils';
import {
  Kind,
  getNamedType,
  isInputObjectType,
  isInterfaceType,
  isListType,
  isNonNullType,
  isObjectType,
  isScalarType,
  isUnionType,
  parse,
  type GraphQLField,
  type GraphQLInputType,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLOutputType,
  type GraphQLSchema,
} from 'graphql';
import { StartupError } from '../../startup-error.js';
import { POLICY_NAME } from './policies.js';

/** The model (Django's content type, `app_label.model`) a type's objects are, and the property holding their key. */
export interface ModelBinding {
  readonly name: string;
  readonly key: string;
}

/** How to find the objects in what a field returns, for `object: RESULT`. */
export type ResultShape =
  | { readonly kind: 'object' }
  | { readonly kind: 'list' }
  | {
      /** A page or connection type: lists of objects in its own fields, or edges each holding one. */
      readonly kind: 'page';
      readonly type: string;
      readonly lists: readonly string[];
      readonly edges: readonly { readonly field: string; readonly node: string }[];
    };

/** Which object an object-level `@hasPerm` asks about. */
export type ObjectSource =
  | { readonly from: 'parent' }
  | { readonly from: 'result'; readonly shape: ResultShape }
  /** An id in the arguments: `["id"]`, or `["input", "id"]` for `objectArg: "input.id"`. */
  | { readonly from: 'argument'; readonly path: readonly string[] };

/** One guard of a type or a field. */
export type Requirement =
  | { readonly kind: 'public' }
  | {
      readonly kind: 'auth';
      /**
       * Step-up: the last authentication at most this many seconds old, or 'stepUp' for the server's own limit
       * (STEP_UP_MAX_AGE); undefined: any logged-in user.
       */
      readonly recent?: number | 'stepUp';
    }
  | { readonly kind: 'perms'; readonly mode: 'all' | 'any'; readonly perms: readonly string[] }
  | {
      readonly kind: 'objectPerm';
      readonly perm: string;
      readonly object: ObjectSource;
      /** The object's model and key (from `@model`); undefined for an argument: the permission's own model. */
      readonly model: ModelBinding | undefined;
    }
  | { readonly kind: 'policy'; readonly name: string };

/** What one field requires: its type's guards (checked once per object and request) and its own, in that order. */
export interface FieldRequirements {
  readonly onType: readonly Requirement[];
  readonly own: readonly Requirement[];
}

export class SchemaGuardError extends StartupError {
  constructor(readonly problems: readonly string[]) {
    super(`the schema cannot be served:\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
    this.name = 'SchemaGuardError';
  }
}

/** The directives that decide who may read a field. */
export const GUARDS: readonly string[] = ['auth', 'hasPerm', 'policy', 'public'];

/** A permission name as Django writes it: `app_label.codename`. */
const PERMISSION_NAME = /^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z0-9_]+$/;
/** A model as django_content_type writes it: `app_label.model`. */
const MODEL_NAME = /^[A-Za-z_][A-Za-z0-9_]*\.[a-z0-9_]+$/;
const KEY_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The scalars an id argument may be. */
const ID_SCALARS = new Set(['ID', 'Int', 'String']);

type AstNodeHolder = Parameters<typeof getDirective>[1];

/** Where a directive sits: on a type, or on one of its fields. */
interface Site {
  readonly schema: GraphQLSchema;
  readonly type: GraphQLObjectType;
  readonly field?: GraphQLField<unknown, unknown>;
  readonly coordinate: string;
  readonly policyNames: ReadonlySet<string> | undefined;
  readonly problems: string[];
}

export interface ReadOptions {
  /** The policies that exist: `@policy` naming another refuses the schema. Omitted: names are not checked. */
  readonly policyNames?: Iterable<string>;
}

/**
 * Every field's requirements, by `Type.field`, for every object type (root types included). Throws SchemaGuardError
 * with every problem, sorted.
 */
export function readRequirements(schema: GraphQLSchema, options: ReadOptions = {}): Map<string, FieldRequirements> {
  const problems: string[] = [];
  const policyNames = options.policyNames === undefined ? undefined : new Set(options.policyNames);
  const byField = new Map<string, FieldRequirements>();
  const reachable = new Set(reachableObjectTypes(schema).map((type) => type.name));
  for (const type of Object.values(schema.getTypeMap())) {
    if (type.name.startsWith('__')) continue;
    if (isInterfaceType(type)) {
      // Interface fields are never resolved themselves: a directive there would protect nothing.
      for (const field of Object.values(type.getFields())) {
        if (mentionsGuard(schema, field)) {
          problems.push(
            `${type.name}.${field.name}: directives on interface fields take no effect; put them on the fields of the types that implement ${type.name}`,
          );
        }
      }
      continue;
    }
    if (!isObjectType(type)) continue;
    readModel(schema, type, problems);
    const typeSite = { schema, type, coordinate: type.name, policyNames, problems };
    const onType = declared(typeSite, type);
    if (onType.some(isPublic) && onType.length > 1)
      problems.push(`${type.name}: @public contradicts the type's other directives`);
    const typeGuarded = mentionsGuard(schema, type);
    for (const field of Object.values(type.getFields())) {
      const coordinate = `${type.name}.${field.name}`;
      const own = declared({ ...typeSite, field: field as GraphQLField<unknown, unknown>, coordinate }, field);
      if (own.some(isPublic) && onType.length > 0 && !onType.every(isPublic))
        problems.push(`${coordinate}: @public contradicts the directive on ${type.name}`);
      if (own.some(isPublic) && own.length > 1)
        problems.push(`${coordinate}: @public contradicts the field's other directives`);
      if (onType.some(isPublic) && own.some((requirement) => !isPublic(requirement)))
        problems.push(
          `${coordinate}: ${type.name} is @public, so none of its fields may require more (guard the fields of ${type.name} one by one instead)`,
        );
      // Fail closed: a field nobody decided about is a field left open by accident. (A malformed directive is
      // reported above, not again here.)
      if (reachable.has(type.name) && !typeGuarded && !mentionsGuard(schema, field)) {
        problems.push(
          `${coordinate}: no @auth, @hasPerm, @policy or @public on the field or on ${type.name} (every field reachable from Query, Mutation or Subscription must say who may read it)`,
        );
      }
      byField.set(coordinate, { onType, own });
    }
  }
  if (problems.length > 0) throw new SchemaGuardError([...new Set(problems)].sort());
  return byField;
}

const isPublic = (requirement: Requirement) => requirement.kind === 'public';

function mentionsGuard(schema: GraphQLSchema, holder: AstNodeHolder): boolean {
  return GUARDS.some((name) => (getDirective(schema, holder, name)?.length ?? 0) > 0);
}

/**
 * The object types a client can reach from the root types (through fields, interfaces and unions), sorted by
 * name. Introspection's own types are not among them.
 */
export function reachableObjectTypes(schema: GraphQLSchema): GraphQLObjectType[] {
  const seen = new Set<string>();
  const found: GraphQLObjectType[] = [];
  const queue: GraphQLNamedType[] = [
    schema.getQueryType(),
    schema.getMutationType(),
    schema.getSubscriptionType(),
  ].filter((type) => type !== null && type !== undefined);
  while (queue.length > 0) {
    const type = queue.pop();
    if (!type || seen.has(type.name) || type.name.startsWith('__')) continue;
    seen.add(type.name);
    if (isObjectType(type)) found.push(type);
    if (isObjectType(type) || isInterfaceType(type))
      for (const field of Object.values(type.getFields())) queue.push(getNamedType(field.type));
    if (isInterfaceType(type) || isUnionType(type)) queue.push(...schema.getPossibleTypes(type));
  }
  return found.sort((a, b) => (a.name < b.name ? -1 : 1));
}

/** `@model` of a type: the model its objects are and their key property; undefined when it has none. */
export function modelOf(schema: GraphQLSchema, type: GraphQLObjectType): ModelBinding | undefined {
  const args = getDirective(schema, type, 'model')?.[0] as { name?: string; key?: string | null } | undefined;
  if (!args?.name) return undefined;
  return { name: args.name, key: args.key ?? 'id' };
}

function readModel(schema: GraphQLSchema, type: GraphQLObjectType, problems: string[]): void {
  const model = modelOf(schema, type);
  if (!model) return;
  if (!MODEL_NAME.test(model.name))
    problems.push(
      `${type.name}: @model(name: ${JSON.stringify(model.name)}) is not app_label.model (e.g. "polls.poll")`,
    );
  if (!KEY_NAME.test(model.key))
    problems.push(`${type.name}: @model(key: ${JSON.stringify(model.key)}) is not the name of a property`);
}

/** The guards a type or field declares itself (not inherited); problems go to the site's list. */
function declared(site: Site, holder: AstNodeHolder): Requirement[] {
  const { schema, coordinate, problems } = site;
  const requirements: Requirement[] = [];
  if (getDirective(schema, holder, 'public')?.length) requirements.push({ kind: 'public' });
  for (const args of getDirective(schema, holder, 'auth') ?? []) {
    const requirement = auth(site, args as AuthArgs);
    if (typeof requirement === 'string') problems.push(`${coordinate}: ${requirement}`);
    else requirements.push(requirement);
  }
  for (const args of getDirective(schema, holder, 'hasPerm') ?? []) {
    const requirement = hasPerm(site, args as HasPermArgs);
    if (typeof requirement === 'string') problems.push(`${coordinate}: ${requirement}`);
    else requirements.push(requirement);
  }
  for (const args of getDirective(schema, holder, 'policy') ?? []) {
    const { name } = args as { name: string };
    if (!POLICY_NAME.test(name))
      problems.push(`${coordinate}: @policy(name: ${JSON.stringify(name)}) is not a policy name`);
    else if (site.policyNames && !site.policyNames.has(name)) {
      const known = [...site.policyNames].sort().join(', ') || 'none';
      problems.push(
        `${coordinate}: @policy(name: ${JSON.stringify(name)}) names no registered policy (registered: ${known})`,
      );
    } else requirements.push({ kind: 'policy', name });
  }
  return requirements;
}

interface AuthArgs {
  recent?: number | null;
  stepUp?: boolean | null;
}

/** One `@auth`, or what is wrong with it. */
function auth(site: Site, { recent, stepUp }: AuthArgs): Requirement | string {
  if (recent === undefined || recent === null) return stepUp ? { kind: 'auth', recent: 'stepUp' } : { kind: 'auth' };
  if (stepUp) return '@auth takes recent or stepUp, not both';
  if (!site.field) return '@auth(recent) belongs on a field, not on a type';
  if (!Number.isInteger(recent) || recent < 1) return `@auth(recent: ${recent}) is not a number of seconds (1 or more)`;
  return { kind: 'auth', recent };
}

interface HasPermArgs {
  perm?: string | null;
  allOf?: string[] | null;
  anyOf?: string[] | null;
  object?: 'RESULT' | 'PARENT' | null;
  objectArg?: string | null;
}

/** One `@hasPerm`, or what is wrong with it. */
function hasPerm(site: Site, { perm, allOf, anyOf, object, objectArg }: HasPermArgs): Requirement | string {
  const given = [perm, allOf, anyOf].filter((value) => value !== undefined && value !== null);
  if (given.length !== 1) return '@hasPerm takes exactly one of perm, allOf, anyOf';
  const list = perm ? [perm] : (allOf ?? anyOf ?? []);
  const bad = list.filter((name) => !PERMISSION_NAME.test(name));
  if (list.length === 0) return '@hasPerm names no permission';
  if (bad.length > 0)
    return `@hasPerm names ${bad.map((name) => JSON.stringify(name)).join(', ')}, not app_label.codename`;
  if ((object ?? objectArg ?? undefined) === undefined)
    return { kind: 'perms', mode: anyOf ? 'any' : 'all', perms: list };
  if (!perm) return '@hasPerm at object level takes perm (one permission), not allOf or anyOf';
  if (object && objectArg) return '@hasPerm takes object or objectArg, not both';
  const { schema, type, field } = site;
  if (objectArg) {
    if (!field) return '@hasPerm(objectArg) belongs on a field, not on a type';
    const path = argumentPath(field, objectArg);
    if (typeof path === 'string') return path;
    return { kind: 'objectPerm', perm, object: { from: 'argument', path }, model: undefined };
  }
  if (object === 'RESULT') {
    if (!field) return '@hasPerm(object: RESULT) belongs on a field, not on a type (use PARENT)';
    const root = type === schema.getMutationType() || type === schema.getSubscriptionType();
    // Checked after the resolver: on a mutation, the change would already be made when the answer is no.
    if (root)
      return `@hasPerm(object: RESULT) is checked after the resolver runs; use objectArg on a ${type.name} field`;
    const result = resultShape(schema, field.type);
    if (typeof result === 'string') return result;
    return (
      sameApp(perm, result.model) ?? {
        kind: 'objectPerm',
        perm,
        object: { from: 'result', shape: result.shape },
        model: result.model,
      }
    );
  }
  const model = modelOf(schema, type);
  if (!model)
    return `@hasPerm(object: PARENT) asks about a ${type.name}, which has no @model(name: "app_label.model") saying which model its objects are`;
  return sameApp(perm, model) ?? { kind: 'objectPerm', perm, object: { from: 'parent' }, model };
}

/** A permission of one app asked about another app's model is never held (but by superusers): a mistake. */
function sameApp(perm: string, model: ModelBinding): string | undefined {
  const app = perm.slice(0, perm.indexOf('.'));
  if (model.name.startsWith(`${app}.`)) return undefined;
  return `@hasPerm(perm: ${JSON.stringify(perm)}) is a permission of app ${app}, asked about a ${model.name}: only superusers would ever hold it`;
}

/** `objectArg: "input.id"` as the path to an id in the arguments, or what is wrong with it. */
function argumentPath(field: GraphQLField<unknown, unknown>, objectArg: string): string[] | string {
  const path = objectArg.split('.');
  const argument = field.args.find((arg) => arg.name === path[0]);
  if (!argument) return `@hasPerm(objectArg: "${objectArg}") names no argument`;
  let type: GraphQLInputType = argument.type;
  for (const [index, name] of path.slice(1).entries()) {
    const input = isNonNullType(type) ? type.ofType : type;
    const prefix = path.slice(0, index + 1).join('.');
    if (!isInputObjectType(input)) return `@hasPerm(objectArg: "${objectArg}"): ${prefix} is not an input object`;
    const inner = input.getFields()[name];
    if (!inner) return `@hasPerm(objectArg: "${objectArg}") names no field ${name} of ${input.name}`;
    type = inner.type;
  }
  const named = isNonNullType(type) ? type.ofType : type;
  if (isInputObjectType(named))
    return `@hasPerm(objectArg: "${objectArg}") names an input object, not an id: name the id inside it (objectArg: "${objectArg}.id")`;
  if (!isScalarType(named) || !ID_SCALARS.has(named.name))
    return `@hasPerm(objectArg: "${objectArg}") names a ${String(type)}, not one id (ID, Int or String)`;
  return path;
}

/** How `object: RESULT` finds the objects a field returns, and their model; or what is wrong. */
function resultShape(
  schema: GraphQLSchema,
  returned: GraphQLOutputType,
): { shape: ResultShape; model: ModelBinding } | string {
  const NEEDS =
    '@hasPerm(object: RESULT) needs a type with @model, a list of one, or a page of one (a list field, or edges with a node)';
  const type = isNonNullType(returned) ? returned.ofType : returned;
  if (isListType(type)) {
    const item = isNonNullType(type.ofType) ? type.ofType.ofType : type.ofType;
    const model = isObjectType(item) ? modelOf(schema, item) : undefined;
    return model ? { shape: { kind: 'list' }, model } : `${NEEDS}; ${String(returned)} is not`;
  }
  if (!isObjectType(type)) return `${NEEDS}; ${String(returned)} is not`;
  const own = modelOf(schema, type);
  if (own) return { shape: { kind: 'object' }, model: own };
  // A page: the lists of modelled objects among its fields, and its edges (a list of objects holding one).
  const lists: string[] = [];
  const edges: { field: string; node: string }[] = [];
  const models = new Map<string, ModelBinding>();
  const resolved: string[] = [];
  for (const field of Object.values(type.getFields())) {
    const fieldType = isNonNullType(field.type) ? field.type.ofType : field.type;
    if (!isListType(fieldType)) continue;
    const item = isNonNullType(fieldType.ofType) ? fieldType.ofType.ofType : fieldType.ofType;
    if (!isObjectType(item)) continue;
    const itemModel = modelOf(schema, item);
    if (itemModel) {
      lists.push(field.name);
      models.set(itemModel.name, itemModel);
      if (field.resolve) resolved.push(`${type.name}.${field.name}`);
      continue;
    }
    const nodes = Object.values(item.getFields()).flatMap((inner) => {
      const innerType = isNonNullType(inner.type) ? inner.type.ofType : inner.type;
      const innerModel = isObjectType(innerType) ? modelOf(schema, innerType) : undefined;
      return innerModel ? [{ node: inner, model: innerModel }] : [];
    });
    const [only] = nodes;
    if (nodes.length !== 1 || !only) continue;
    const { node, model: nodeModel } = only;
    edges.push({ field: field.name, node: node.name });
    models.set(nodeModel.name, nodeModel);
    if (field.resolve) resolved.push(`${type.name}.${field.name}`);
    if (node.resolve) resolved.push(`${item.name}.${node.name}`);
  }
  if (models.size > 1)
    return `@hasPerm(object: RESULT): ${type.name} holds objects of several models (${[...models.keys()].sort().join(', ')})`;
  // The items are checked where the resolver put them: a field computed by a resolver of its own is not there yet.
  if (resolved.length > 0)
    return `@hasPerm(object: RESULT) checks the objects in ${resolved.join(', ')}, which ${resolved.length === 1 ? 'has a resolver' : 'have resolvers'} of its own: return them in the ${type.name} object instead`;
  const [model] = [...models.values()];
  if (!model) return `${NEEDS}; ${String(returned)} is not`;
  return { shape: { kind: 'page', type: type.name, lists, edges }, model };
}

/**
 * Guard directives repeated on one type or field across its definition and extensions (or a field declared twice).
 * Merging the SDL would keep only the last one, silently dropping a requirement: refused instead, each listed.
 */
export function repeatedGuards(typeDefs: readonly string[]): string[] {
  const seen = new Map<string, number>();
  const watched = new Set([...GUARDS, 'model']);
  const count = (coordinate: string, directives: readonly { name: { value: string } }[] | undefined) => {
    for (const directive of directives ?? []) {
      if (!watched.has(directive.name.value)) continue;
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

/**
 * Fields that a type's `@public` would cover although they were declared elsewhere: `@public` opens the fields written
 * beside it, and a field added to that type later, in another file's `extend type`, must say who may read it (or it
 * would be public without anyone deciding so). Checked before merging, which joins the declarations into one.
 */
export function fieldsOutsidePublic(typeDefs: readonly string[]): string[] {
  const publicTypes = new Set<string>();
  const declared: { type: string; field: string; guarded: boolean; beside: boolean }[] = [];
  for (const source of typeDefs) {
    for (const definition of parse(source).definitions) {
      if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
      const type = definition.name.value;
      const beside = definition.directives?.some((directive) => directive.name.value === 'public') ?? false;
      if (beside) publicTypes.add(type);
      for (const field of definition.fields ?? []) {
        const guarded = field.directives?.some((directive) => GUARDS.includes(directive.name.value)) ?? false;
        declared.push({ type, field: field.name.value, guarded, beside });
      }
    }
  }
  return declared
    .filter(({ type, guarded, beside }) => publicTypes.has(type) && !guarded && !beside)
    .map(
      ({ type, field }) =>
        `${type}.${field}: declared apart from the @public on ${type}, which opens only the fields written beside it: mark it @public too if it is meant to be (or put it on another type)`,
    )
    .sort();
}

/** Every permission the schema's directives name, sorted, without repeats. */
export function permissionsNamed(requirements: ReadonlyMap<string, FieldRequirements>): string[] {
  const names = new Set<string>();
  for (const { own, onType } of requirements.values())
    for (const requirement of [...onType, ...own]) {
      if (requirement.kind === 'perms') for (const name of requirement.perms) names.add(name);
      // Object-level names too: a typo there would deny everyone but superusers, silently.
      if (requirement.kind === 'objectPerm') names.add(requirement.perm);
    }
  return [...names].sort();
}
