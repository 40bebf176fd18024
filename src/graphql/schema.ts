/**
 * Assembles the executable schema from the SDL files in schema/ and the resolvers in resolvers/.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { GraphQLSchema } from 'graphql';
import type { IResolvers } from '@graphql-tools/utils';
import type { GraphQLContext } from './context.js';
import { SchemaGuardError, guardSchema, repeatedGuards } from './directives.js';
import { resolvers } from './resolvers/index.js';

export const SCHEMA_DIR = fileURLToPath(new URL('../../schema/', import.meta.url));

/** The SDL of every `schema/*.graphql` file, in file-name order. */
export function loadTypeDefs(dir = SCHEMA_DIR): string[] {
  const files = fs.globSync('*.graphql', { cwd: dir }).sort();
  if (files.length === 0) throw new Error(`no .graphql files in ${dir}`);
  return files.map((file) => fs.readFileSync(path.join(dir, file), 'utf8'));
}

export interface SchemaExtensions {
  /** More SDL, e.g. `extend type Query { ... }` or a schema author's own types. */
  typeDefs?: string[];
  resolvers?: IResolvers<unknown, GraphQLContext>[];
}

/**
 * The schema from schema/*.graphql and resolvers/, plus any extensions, with its authorization directives in force.
 * Throws SchemaGuardError (every problem listed) while a root field is unguarded or a directive is misplaced.
 */
export function buildSchema(extensions: SchemaExtensions = {}): GraphQLSchema {
  const typeDefs = [...loadTypeDefs(), ...(extensions.typeDefs ?? [])];
  // Checked before merging, which would keep only the last of two @hasPerm on one type or field.
  const repeated = repeatedGuards(typeDefs);
  if (repeated.length > 0) throw new SchemaGuardError(repeated);
  const schema = makeExecutableSchema({
    typeDefs,
    resolvers: [...resolvers, ...(extensions.resolvers ?? [])],
    // A resolver for a field the SDL does not declare is a typo: fail at start-up, not at request time.
    resolverValidationOptions: { requireResolversToMatchSchema: 'error' },
  });
  return guardSchema(schema);
}
