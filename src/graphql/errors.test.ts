import { describe, expect, it } from '@jest/globals';
import { GraphQLError, locatedError, type GraphQLFormattedError } from 'graphql';
import { pino } from 'pino';
import { INTERNAL_MESSAGE, createFormatError } from './errors.js';

/** A formatError whose log lines land in `lines`. */
function setUp() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'info' },
    { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { lines, formatError: createFormatError(logger) };
}

/** What Apollo hands formatError for an error thrown inside a resolver. */
function fromResolver(thrown: unknown): { formatted: GraphQLFormattedError; error: GraphQLError } {
  const error = locatedError(thrown, undefined, ['serverInfo']);
  const code =
    thrown instanceof GraphQLError ? (thrown.extensions.code ?? 'INTERNAL_SERVER_ERROR') : 'INTERNAL_SERVER_ERROR';
  return { formatted: { ...error.toJSON(), extensions: { ...error.extensions, code } }, error };
}

describe('formatError', () => {
  it('hides the text of an unexpected error behind INTERNAL_SERVER_ERROR, and logs it', () => {
    const { formatError, lines } = setUp();
    const { formatted, error } = fromResolver(
      new Error('relation "auth_user" does not exist: SELECT * FROM auth_user'),
    );
    expect(formatError(formatted, error)).toEqual({
      message: INTERNAL_MESSAGE,
      path: ['serverInfo'],
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 50, err: { message: expect.stringContaining('SELECT * FROM auth_user') } });
  });

  it('hides an error that Apollo wrapped outside any resolver (context creation)', () => {
    const { formatError } = setUp();
    // What Apollo's ensureGraphQLError makes of an Error thrown while building the context.
    const error = new GraphQLError('Context creation failed: connect ECONNREFUSED 10.0.0.5:5432', {
      originalError: new Error('connect ECONNREFUSED 10.0.0.5:5432'),
    });
    const formatted = { message: error.message, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    expect(formatError(formatted, error)).toEqual({
      message: INTERNAL_MESSAGE,
      extensions: { code: 'INTERNAL_SERVER_ERROR' },
    });
  });

  it('passes an error with a code through untouched, without logging it', () => {
    const { formatError, lines } = setUp();
    const { formatted, error } = fromResolver(
      new GraphQLError('You must be logged in', { extensions: { code: 'UNAUTHENTICATED' } }),
    );
    expect(formatError(formatted, error)).toEqual(formatted);
    expect(lines).toEqual([]);
  });

  it('keeps the message of a GraphQLError thrown on purpose without a code', () => {
    const { formatError } = setUp();
    const { formatted, error } = fromResolver(new GraphQLError('Choose a shorter name'));
    expect(formatError(formatted, error)).toMatchObject({ message: 'Choose a shorter name' });
  });

  it('gives a request error Apollo raised with a 4xx status and no code a client code, not INTERNAL_SERVER_ERROR', () => {
    const { formatError, lines } = setUp();
    // As Apollo's request pipeline makes them: no code, an HTTP status in extensions (removed before formatError).
    const refused = (message: string) => {
      const error = new GraphQLError(message, { extensions: { http: { status: 400, headers: new Map() } } });
      return formatError({ message, extensions: { code: 'INTERNAL_SERVER_ERROR' } }, error);
    };
    expect(refused('provided sha does not match query').extensions?.code).toBe('PERSISTED_QUERY_HASH_MISMATCH');
    expect(refused('Unsupported persisted query version').extensions?.code).toBe('BAD_REQUEST');
    expect(refused('Some request error of a later Apollo').extensions).toEqual({ code: 'BAD_REQUEST' });
    expect(lines).toEqual([]);
  });
});
