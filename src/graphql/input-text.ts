/**
 * Text PostgreSQL cannot hold is refused before anything runs: the NUL character (no text column or jsonb value
 * takes it) and unpaired UTF-16 surrogates (no UTF-8 encodes them; jsonb refuses their escapes). Let through, they
 * reached a query and failed it: a 500 for input the client got wrong. Literals in the document are checked at
 * validation, variables once the operation is known; both answer BAD_USER_INPUT with status 400.
 */
import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, type ASTVisitor, type ValidationContext } from 'graphql';
import { isStorableText } from '../db/sql.js';
import { ErrorCode } from './errors.js';

const MESSAGE = 'Text may not contain the NUL character or unpaired surrogates.';

/** A validation rule: string literals of the document. */
export function storableLiterals(context: ValidationContext): ASTVisitor {
  return {
    StringValue(node) {
      if (!isStorableText(node.value))
        context.reportError(new GraphQLError(MESSAGE, { nodes: node, extensions: { code: ErrorCode.BAD_USER_INPUT } }));
    },
  };
}

/** Every string in a JSON value, keys included: whether one is not storable. */
function holdsUnstorable(value: unknown, depth = 0): boolean {
  if (typeof value === 'string') return !isStorableText(value);
  // Variables are parsed JSON, bounded by MAX_BODY_BYTES; the depth bound keeps the walk's stack bounded too.
  if (depth > 64 || typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(([key, inner]) => !isStorableText(key) || holdsUnstorable(inner, depth + 1));
}

/** The plugin: the operation's variables. */
export function storableVariables<TContext extends object>(): ApolloServerPlugin<TContext> {
  return {
    requestDidStart() {
      return Promise.resolve({
        didResolveOperation({ request }) {
          if (holdsUnstorable(request.variables)) {
            throw new GraphQLError(MESSAGE, {
              extensions: { code: ErrorCode.BAD_USER_INPUT, http: { status: 400 } },
            });
          }
          return Promise.resolve();
        },
      });
    },
  };
}
