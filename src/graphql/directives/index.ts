/**
 * The authorization directives as a component: `@auth`, `@hasPerm`, `@policy` and `@public` (and `@model`, which
 * says which model a type's objects are), for any graphql-js schema, after graphql-tools' "Enforcing Access
 * Permissions" pattern:
 *
 *   const { typeDefs, transformer, plugin } = authorizationDirectives<MyContext>({
 *     authorization: (context) => context.authorization, // the small interface in ./authorization.ts
 *     policies, // named rules: ./policies.ts
 *   });
 *   // Before merging (which joins a type's declarations): guards given twice, fields an `extend type` adds to a
 *   // @public type. Each returns the problems, one line each.
 *   const problems = [...repeatedGuards(sdl), ...fieldsOutsidePublic(sdl)];
 *   const schema = transformer(makeExecutableSchema({ typeDefs: [typeDefs, mySdl], resolvers }));
 *   new ApolloServer({ schema, plugins: [plugin] }); // plugin: one error per denied field coordinate
 *
 * The parts, one job each: requirements.ts reads the SDL and refuses what is undecided or malformed; enforce.ts
 * wraps the resolvers; policies.ts runs named rules; denials.ts keeps denials small; manifest.ts writes who may do
 * what; catalogue.ts checks the permissions named against those the database holds.
 */
import fs from 'node:fs';
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import { collapseDenialsPlugin } from './denials.js';
import { enforce, type EnforceOptions } from './enforce.js';
import { readRequirements, type FieldRequirements } from './requirements.js';

export type { Authorization, AuthorizationUser, ObjectKey } from './authorization.js';
export { permissionProblems, type CatalogueEntry } from './catalogue.js';
export { collapseDenials, collapseDenialsPlugin } from './denials.js';
export type { EnforceOptions } from './enforce.js';
export { describeRequirement, permissionManifest } from './manifest.js';
export type { Policies, Policy, PolicyCheck, PolicyRequest } from './policies.js';
export {
  SchemaGuardError,
  fieldsOutsidePublic,
  permissionsNamed,
  reachableObjectTypes,
  readRequirements,
  repeatedGuards,
  type FieldRequirements,
  type ModelBinding,
  type ObjectSource,
  type Requirement,
  type ResultShape,
} from './requirements.js';

/** The directives' SDL (schema/directives.graphql): add it to the schema's type definitions. */
export const typeDefs = fs.readFileSync(new URL('../../../schema/directives.graphql', import.meta.url), 'utf8');

/** What each schema guarded here requires, by `Type.field`: only those schemas are guarded. */
const guarded = new WeakMap<GraphQLSchema, ReadonlyMap<string, FieldRequirements>>();

/**
 * The schema with its directives in force. Throws SchemaGuardError listing every problem: a reachable field with no
 * decided policy, a malformed or misplaced directive, an unknown policy.
 */
export function guardSchema<TContext>(schema: GraphQLSchema, options: EnforceOptions<TContext>): GraphQLSchema {
  const requirements = readRequirements(schema, { policyNames: Object.keys(options.policies ?? {}) });
  const result = enforce(schema, requirements, options);
  guarded.set(result, requirements);
  return result;
}

/** What a guarded schema's fields require; undefined for a schema guardSchema did not make. */
export function requirementsOf(schema: GraphQLSchema): ReadonlyMap<string, FieldRequirements> | undefined {
  return guarded.get(schema);
}

/** The directives as graphql-tools' `{ typeDefs, transformer }`, with the Apollo plugin that keeps denials small. */
export function authorizationDirectives<TContext extends object>(
  options: EnforceOptions<TContext>,
): {
  typeDefs: string;
  transformer: (schema: GraphQLSchema) => GraphQLSchema;
  plugin: ApolloServerPlugin<TContext>;
} {
  return { typeDefs, transformer: (schema) => guardSchema(schema, options), plugin: collapseDenialsPlugin<TContext>() };
}
