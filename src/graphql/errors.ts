/**
 * How errors leave the server. Every error a client sees carries a stable `extensions.code`; tests assert the
 * code, never the text. An error we did not expect (a bug, a dropped connection) reaches the client as
 * INTERNAL_SERVER_ERROR with a fixed message: its text, SQL or stack stay in the log.
 */
import { ApolloServerErrorCode, unwrapResolverError } from '@apollo/server/errors';
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { GraphQLContext } from './context.js';

export const INTERNAL_MESSAGE = 'Internal server error';

export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (code !== ApolloServerErrorCode.INTERNAL_SERVER_ERROR) return formatted;
  const original = unwrapResolverError(error);
  // A GraphQLError thrown on purpose with no code keeps its message; anything else is hidden.
  if (original instanceof GraphQLError) return formatted;
  return {
    message: INTERNAL_MESSAGE,
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code },
  };
}

/** True for errors that are bugs or outages (not a GraphQLError thrown on purpose): they go to the log. */
export function isUnexpected(error: GraphQLError): boolean {
  return error.originalError !== undefined && !(error.originalError instanceof GraphQLError);
}

/** Logs what `formatError` hides from clients, with the operation and path, so a masked error can be found. */
export const logUnexpectedErrors: ApolloServerPlugin<GraphQLContext> = {
  requestDidStart() {
    return Promise.resolve({
      didEncounterErrors({ errors, contextValue, operationName }) {
        for (const error of errors) {
          if (!isUnexpected(error)) continue;
          contextValue.logger.error({ err: error.originalError, path: error.path, operationName }, 'resolver failed');
        }
        return Promise.resolve();
      },
    });
  },
};
