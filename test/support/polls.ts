/**
 * The schema the test server serves by default: the package's and the polls example's (test/support/app.ts installs
 * it), plus a test's own SDL and resolvers.
 */
import type { GraphQLSchema } from 'graphql';
import polls from '../../examples/polls/index.ts';
import { schemaOf } from '../../src/apps.js';
import { buildSchema, type SchemaExtensions } from '../../src/graphql/schema.js';

export function pollsSchema(extra: SchemaExtensions = {}): GraphQLSchema {
  const app = schemaOf([polls]);
  return buildSchema({
    typeDefs: [...(app.typeDefs ?? []), ...(extra.typeDefs ?? [])],
    resolvers: [...(app.resolvers ?? []), ...(extra.resolvers ?? [])],
    policies: { ...app.policies, ...extra.policies },
  });
}
