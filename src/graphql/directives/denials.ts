/**
 * Denials, and keeping them small. A field denied in every item of a 1,000-item list would otherwise answer 1,000
 * identical errors (245 kB instead of 27 kB). Each denial remembers its field coordinate (`Poll.secret`); before
 * the response leaves, the denials of one coordinate and one code become one error: the first one's message and
 * path, and `extensions.pathCount`, how many paths it stands for. The data still holds a null at every denied path.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import type { GraphQLError, GraphQLFormattedError } from 'graphql';
import { forbidden, reauthenticationRequired, unauthenticated } from '../errors.js';

/**
 * Why a field is refused: no user (UNAUTHENTICATED), a user without the right (FORBIDDEN), or a user whose last
 * authentication is older than the field accepts (`reauthenticate`: the seconds it accepts); undefined: allowed.
 */
export type Verdict = Denial | undefined;
export type Denial = 'UNAUTHENTICATED' | 'FORBIDDEN' | { readonly reauthenticate: number };

/** The coordinate each denial was thrown for. */
const coordinates = new WeakMap<Error, string>();

/** The error a denied field answers, remembered with the field's coordinate. */
export function deny(verdict: Denial, coordinate: string): GraphQLError {
  const error =
    verdict === 'UNAUTHENTICATED'
      ? unauthenticated()
      : verdict === 'FORBIDDEN'
        ? forbidden()
        : reauthenticationRequired(verdict.reauthenticate);
  coordinates.set(error, coordinate);
  return error;
}

/**
 * The formatted errors with the denials of one coordinate and code made one. `originals[i]` is the error
 * `formatted[i]` was made from (graphql-js wraps what a resolver threw: the thrown one is its originalError).
 */
export function collapseDenials(
  originals: readonly GraphQLError[],
  formatted: readonly GraphQLFormattedError[],
): GraphQLFormattedError[] {
  if (originals.length !== formatted.length) return [...formatted];
  const kept: GraphQLFormattedError[] = [];
  const first = new Map<string, number>();
  const counts = new Map<number, number>();
  formatted.forEach((error, index) => {
    const original = originals[index];
    const coordinate = original?.originalError ? coordinates.get(original.originalError) : undefined;
    if (coordinate === undefined) {
      kept.push(error);
      return;
    }
    const key = `${coordinate} ${String(error.extensions?.code)}`;
    const at = first.get(key);
    if (at === undefined) {
      first.set(key, kept.length);
      counts.set(kept.length, 1);
      kept.push(error);
    } else counts.set(at, (counts.get(at) ?? 1) + 1);
  });
  return kept.map((error, index) => {
    const count = counts.get(index) ?? 1;
    return count > 1 ? { ...error, extensions: { ...error.extensions, pathCount: count } } : error;
  });
}

/** The Apollo Server plugin that collapses each response's denials (collapseDenials). */
export function collapseDenialsPlugin<TContext extends object>(): ApolloServerPlugin<TContext> {
  return {
    requestDidStart() {
      return Promise.resolve({
        willSendResponse({ response, errors }) {
          const body = response.body;
          if (body.kind !== 'single' || !errors || !body.singleResult.errors) return Promise.resolve();
          if (body.singleResult.errors.length > 1)
            body.singleResult.errors = collapseDenials(errors, body.singleResult.errors);
          return Promise.resolve();
        },
      });
    },
  };
}
