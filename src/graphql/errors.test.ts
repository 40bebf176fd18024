import { describe, expect, it } from '@jest/globals';
import { GraphQLError, locatedError, type GraphQLFormattedError } from 'graphql';
import { INTERNAL_MESSAGE, formatError, isUnexpected } from './errors.js';

/** What Apollo hands formatError for an error thrown inside a resolver. */
function fromResolver(thrown: unknown): { formatted: GraphQLFormattedError; error: GraphQLError } {
  const error = locatedError(thrown, undefined, ['serverInfo']);
  const code =
    thrown instanceof GraphQLError ? (thrown.extensions.code ?? 'INTERNAL_SERVER_ERROR') : 'INTERNAL_SERVER_ERROR';
  return { formatted: { ...error.toJSON(), extensions: { ...error.extensions, code } }, error };
}

describe('formatError', () => {
  it('hides the text of an unexpected error behind INTERNAL_SERVER_ERROR', () => {
    const { formatted, error } = fromResolver(
      new Error('relation "auth_user" does not exist: SELECT * FROM auth_user'),
    );
    expect(formatError(formatted, error)).toEqual({
      message: INTERNAL_MESSAGE,
      path: ['serverInfo'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(isUnexpected(error)).toBe(true);
  });

  it('passes an error with a code through untouched', () => {
    const { formatted, error } = fromResolver(
      new GraphQLError('You must be logged in', { extensions: { code: 'UNAUTHENTICATED' } }),
    );
    expect(formatError(formatted, error)).toBe(formatted);
    expect(isUnexpected(error)).toBe(false);
  });

  it('keeps the message of a GraphQLError thrown on purpose without a code', () => {
    const { formatted, error } = fromResolver(new GraphQLError('Choose a shorter name'));
    expect(formatError(formatted, error)).toMatchObject({ message: 'Choose a shorter name' });
  });
});
