/**
 * The type a resolver really receives and returns for a GraphQL type, for graphql-codegen's typed resolvers: the
 * app's model (a MikroORM entity) where the app maps the type's name to one, and otherwise the GraphQL type with
 * each field mapped the same way, through lists and nulls (a connection's edges hold entities, not GraphQL shapes).
 * An app names it in codegen.yml once (`defaultMapper`), and maps a new type with one line in its models file:
 *
 *   // models.ts                                   # codegen.yml, under the app's output
 *   export interface GraphQLModels {              #   - add: { content: "import type { ModelOf } from
 *     Poll: Poll;                                 #       'graphql-auth-server'; import type { GraphQLModels } from
 *   }                                             #       '../models.ts'; type Mapped<T> = ModelOf<T, GraphQLModels>;" }
 *                                                 #   config: { defaultMapper: "Mapped<{T}>" }
 */
export type ModelOf<T, Models> = T extends { __typename?: infer Name }
  ? Name extends keyof Models
    ? Models[Name]
    : { [Field in keyof T]: ModelOf<T[Field], Models> }
  : T extends readonly (infer Item)[]
    ? ModelOf<Item, Models>[]
    : T;
