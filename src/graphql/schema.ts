/**
 * Assembles the executable schema from the SDL files in schema/ and the resolvers in resolvers/, with the
 * authorization directives in force (directives/).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import type { IResolvers } from '@graphql-tools/utils';
import type { EntityManager } from '@mikro-orm/postgresql';
import { permissionCatalogue } from '../db/content-types.js';
import type { GraphQLContext } from './context.js';
import {
  SchemaGuardError,
  fieldsOutsidePublic,
  guardSchema,
  permissionManifest,
  permissionProblems,
  readRequirements,
  repeatedGuards,
  requirementsOf,
  type Policies,
} from './directives/index.js';
import { textBoundProblems } from './input-text.js';
import { authPolicies } from './policies.js';
import { resolvers } from './resolvers/index.js';

export const SCHEMA_DIR = fileURLToPath(new URL('../../schema/', import.meta.url));

/** The SDL of every `schema/*.graphql` file (the directives' own included), in file-name order. */
export function loadTypeDefs(dir = SCHEMA_DIR): string[] {
  const files = fs.globSync('*.graphql', { cwd: dir }).sort();
  if (files.length === 0) throw new Error(`no .graphql files in ${dir}`);
  return files.map((file) => fs.readFileSync(path.join(dir, file), 'utf8'));
}

/** The server's own named policies. */
export const serverPolicies: Policies<GraphQLContext> = authPolicies;

export interface SchemaExtensions {
  /** More SDL, e.g. `extend type Query { ... }` or a schema author's own types. */
  typeDefs?: readonly string[];
  resolvers?: readonly IResolvers<unknown, GraphQLContext>[];
  /** More named policies for `@policy(name: ...)`; a name the server already has is refused. */
  policies?: Policies<GraphQLContext>;
}

/**
 * The schema from schema/*.graphql and resolvers/, plus any extensions, with its authorization directives in force.
 * Throws SchemaGuardError (every problem listed) while a reachable field has no decided policy, a directive is
 * misplaced or malformed (@maxLength included), or a policy is unknown.
 */
export function buildSchema(extensions: SchemaExtensions = {}): GraphQLSchema {
  const typeDefs = [...loadTypeDefs(), ...(extensions.typeDefs ?? [])];
  // Checked before merging, which would keep only the last of two @hasPerm on one type or field.
  const repeated = [...repeatedGuards(typeDefs), ...fieldsOutsidePublic(typeDefs)];
  const twice = Object.keys(extensions.policies ?? {}).filter((name) => name in serverPolicies);
  const problems = [...repeated, ...twice.map((name) => `policy ${JSON.stringify(name)} is registered twice`)];
  if (problems.length > 0) throw new SchemaGuardError(problems);
  const schema = makeExecutableSchema({
    typeDefs,
    resolvers: [...resolvers, ...(extensions.resolvers ?? [])],
    // A resolver for a field the SDL does not declare is a typo: fail at start-up, not at request time.
    resolverValidationOptions: { requireResolversToMatchSchema: 'error' },
  });
  // A bound on a number, or below 1, would refuse nothing or everything: the schema author's mistake, told at start-up.
  const misplaced = textBoundProblems(schema);
  if (misplaced.length > 0) throw new SchemaGuardError(misplaced);
  return guardSchema<GraphQLContext>(schema, {
    authorization: (context) => context.authorization,
    policies: { ...serverPolicies, ...extensions.policies },
  });
}

/**
 * What the database says of the permissions the schema names: one line for each that does not exist, or that is
 * asked about another model's objects than its own. Empty when all is well.
 */
export async function permissionProblemsIn(em: EntityManager, schema: GraphQLSchema): Promise<string[]> {
  const requirements = requirementsOf(schema);
  // A schema assembled some other way would carry the directives without enforcing them.
  if (!requirements) return ['the schema was not assembled by buildSchema(): its directives would not be enforced'];
  let catalogue;
  try {
    catalogue = await permissionCatalogue(em);
  } catch (error) {
    // 42P01, undefined_table: a database that was never migrated.
    if ((error as { code?: unknown }).code !== '42P01') throw error;
    return ['the database has no auth tables: run `npm run migrate` first (or set MIGRATE_ON_START=true)'];
  }
  return permissionProblems(requirements, catalogue);
}

/** The permissions manifest of a schema (schema/permissions.txt for the server's own). */
export function schemaManifest(schema: GraphQLSchema): string {
  return permissionManifest(schema, requirementsOf(schema) ?? readRequirements(schema));
}
