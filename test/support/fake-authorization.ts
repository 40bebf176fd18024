/**
 * The directives in process, as graphql-js tests its own: a schema built inline, run with `graphql()`, and an
 * authorization that answers from lists instead of a database (the directives depend on that small interface only).
 *
 *   const result = await runGuarded({
 *     sdl: 'type Query { secret: String @hasPerm(perm: "app.view_secret") }',
 *     resolvers: { Query: { secret: () => 'hidden' } },
 *     query: '{ secret }',
 *     as: { user: alice, perms: ['app.view_secret'] },
 *   });
 */
import { makeExecutableSchema } from '@graphql-tools/schema';
import type { IResolvers } from '@graphql-tools/utils';
import { graphql, type ExecutionResult, type GraphQLSchema } from 'graphql';
import {
  authorizationDirectives,
  type Authorization,
  type AuthorizationUser,
  type ObjectKey,
  type Policies,
} from '../../src/graphql/directives/index.js';

export interface FakeContext {
  readonly authorization: FakeAuthorization;
}

export interface Holdings {
  /** Null: anonymous. */
  readonly user: AuthorizationUser | null;
  /** Model-level permissions, `app.codename`; a superuser holds every one. */
  readonly perms?: readonly string[];
  /** Object-level grants, as `app.codename app.model key` (`"polls.view_poll polls.poll 42"`). */
  readonly grants?: readonly string[];
  /** Seconds since the user last proved who they are (step-up); undefined: unknown, as with an access token. */
  readonly authenticatedSecondsAgo?: number;
}

/** Answers from lists, and records what it was asked (one entry per call, batched calls as one). */
export class FakeAuthorization implements Authorization {
  readonly asked: string[] = [];

  constructor(private readonly holdings: Holdings) {}

  /** What `@auth(stepUp: true)` accepts here. */
  readonly stepUpMaxAgeSeconds = 600;

  authenticationAge(): Promise<number | undefined> {
    this.asked.push('authenticationAge');
    return Promise.resolve(this.holdings.authenticatedSecondsAgo);
  }

  user(): Promise<AuthorizationUser | null> {
    return Promise.resolve(this.holdings.user);
  }

  hasPerm(perm: string): Promise<boolean> {
    this.asked.push(`hasPerm ${perm}`);
    return Promise.resolve(this.holds(perm));
  }

  permittedKeys(perm: string, model: string | undefined, keys: readonly ObjectKey[]): Promise<ReadonlySet<string>> {
    this.asked.push(`permittedKeys ${perm} ${model ?? '(its own model)'} [${keys.join(',')}]`);
    const [app, codename] = perm.split('.');
    const ownModel = `${app ?? ''}.${(codename ?? '').replace(/^[a-z]+_/, '')}`;
    const onModel = model ?? ownModel;
    const all = this.holdings.user?.isSuperuser || (onModel === ownModel && this.holds(perm));
    return Promise.resolve(
      new Set(
        keys.map(String).filter((key) => all || (this.holdings.grants ?? []).includes(`${perm} ${onModel} ${key}`)),
      ),
    );
  }

  private holds(perm: string): boolean {
    if (!this.holdings.user) return false;
    return this.holdings.user.isSuperuser || (this.holdings.perms ?? []).includes(perm);
  }
}

export const ALICE: AuthorizationUser = { id: 1, isStaff: false, isSuperuser: false };
export const ROOT: AuthorizationUser = { id: 2, isStaff: true, isSuperuser: true };

/** The SDL and resolvers with the directives in force (throws SchemaGuardError as the server would). */
export function guardedSchema(
  sdl: string,
  resolvers: IResolvers<unknown, FakeContext> = {},
  policies: Policies<FakeContext> = {},
): GraphQLSchema {
  const { typeDefs, transformer } = authorizationDirectives<FakeContext>({
    authorization: (context) => context.authorization,
    policies,
  });
  return transformer(makeExecutableSchema({ typeDefs: [typeDefs, sdl], resolvers }));
}

export interface RunOptions {
  readonly schema: GraphQLSchema;
  readonly query: string;
  readonly as: Holdings;
  readonly variables?: Record<string, unknown>;
}

/** Runs one operation in process; the authorization used is on the result, to see what was asked. */
export async function runGuarded({
  schema,
  query,
  as,
  variables,
}: RunOptions): Promise<ExecutionResult & { authorization: FakeAuthorization }> {
  const authorization = new FakeAuthorization(as);
  const result = await graphql({
    schema,
    source: query,
    contextValue: { authorization } satisfies FakeContext,
    ...(variables ? { variableValues: variables } : {}),
  });
  return { ...result, authorization };
}

/** An ExecutionResult as JSON (errors as clients see them, without locations), for whole-result comparisons. */
export function asJson(result: ExecutionResult): { data?: unknown; errors?: unknown[] } {
  return {
    ...(result.data !== undefined ? { data: result.data } : {}),
    ...(result.errors
      ? {
          errors: result.errors.map((error) => ({
            message: error.message,
            path: error.path,
            ...(Object.keys(error.extensions).length > 0 ? { extensions: error.extensions } : {}),
          })),
        }
      : {}),
  };
}
