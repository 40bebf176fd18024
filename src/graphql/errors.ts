/**
 * How errors leave the server. Every error a client sees carries a stable `extensions.code`; tests assert the
 * code, never the text. An error we did not expect (a bug, a dropped connection, a failure while building the
 * context) reaches the client as INTERNAL_SERVER_ERROR with a fixed message: its text, SQL or stack go to the log.
 */
import type { ApolloServerOptions } from '@apollo/server';
import { ApolloServerErrorCode, unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import type { ValidationIssue } from '../auth/errors.js';
import { currentRequestId, type Logger } from '../logger.js';

export const INTERNAL_MESSAGE = 'Internal server error';

/** The codes clients see in `extensions.code`, besides Apollo's own (GRAPHQL_VALIDATION_FAILED, ...). */
export const ErrorCode = {
  INVALID_CREDENTIALS: 'INVALID_CREDENTIALS',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  REGISTRATION_CLOSED: 'REGISTRATION_CLOSED',
  INVALID_TOKEN: 'INVALID_TOKEN',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  TOO_MANY_ATTEMPTS: 'TOO_MANY_ATTEMPTS',
  /** Another request changed what this one would change, meanwhile: nothing was done. */
  CONFLICT: 'CONFLICT',
  /** An automatic persisted query whose `sha256Hash` is not the hash of the `query` sent with it (HTTP 400). */
  PERSISTED_QUERY_HASH_MISMATCH: 'PERSISTED_QUERY_HASH_MISMATCH',
} as const;

/** A request that needs a logged-in user came from an anonymous one. */
export function unauthenticated(): GraphQLError {
  return new GraphQLError('You must be logged in.', { extensions: { code: ErrorCode.UNAUTHENTICATED } });
}

/** A logged-in user without the permission a field requires. Which permission is not said. */
export function forbidden(message = 'You do not have permission to do this.'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.FORBIDDEN } });
}

/** The object an operation names does not exist (said only to those allowed to act on every such object). */
export function notFound(what: string): GraphQLError {
  return new GraphQLError(`No such ${what}.`, { extensions: { code: ErrorCode.NOT_FOUND } });
}

/**
 * Input refused by validation: every failed rule, each with its code, in `extensions.validationErrors`. `status`:
 * for input refused before the operation runs, the HTTP status of the whole answer (400, as Apollo's own refusals
 * of a request); a resolver's refusal is one error among the answer's data, with status 200.
 */
export function badUserInput(issues: readonly ValidationIssue[], { status }: { status?: number } = {}): GraphQLError {
  return new GraphQLError(issues.map((issue) => issue.message).join(' '), {
    extensions: {
      code: ErrorCode.BAD_USER_INPUT,
      validationErrors: issues.map(({ code, message, field }) => ({ code, message, ...(field ? { field } : {}) })),
      ...(status === undefined ? {} : { http: { status } }),
    },
  });
}

/** A password reset link that is wrong, used, expired or voided. Which of these is not said. */
export function invalidToken(): GraphQLError {
  return new GraphQLError('The password reset link is invalid or has expired; ask for a new one.', {
    extensions: { code: ErrorCode.INVALID_TOKEN },
  });
}

/** Locked out after too many failed attempts: how long to wait is said (django-axes does too). */
export function tooManyAttempts(retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(`Too many failed attempts. Try again in ${retryAfterSeconds} seconds.`, {
    extensions: { code: ErrorCode.TOO_MANY_ATTEMPTS, retryAfterSeconds },
  });
}

/** What the operation would change was changed by another request meanwhile: nothing was done; try again. */
export function conflict(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: ErrorCode.CONFLICT } });
}

/** The password changed while this request ran (another change, a reset or an admin won the race). */
export function passwordChangedMeanwhile(): GraphQLError {
  return conflict('The password was changed by another request meanwhile; nothing was changed.');
}

/** The session store is down: the operation cannot be kept, so it did not happen. */
export function serviceUnavailable(): GraphQLError {
  return new GraphQLError('This is unavailable right now; try again shortly.', {
    extensions: { code: ErrorCode.SERVICE_UNAVAILABLE },
  });
}

/** True for an error thrown on purpose: a GraphQLError that does not merely wrap some other error. */
function isDeliberate(error: unknown): boolean {
  return error instanceof GraphQLError && (error.originalError === undefined || isDeliberate(error.originalError));
}

export function createFormatError(logger: Logger): NonNullable<ApolloServerOptions<never>['formatError']> {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError =>
    withRequestId(mask(withClientCode(withoutLimits(formatted), error), error, logger));
}

/**
 * The request errors Apollo raises without a code, by their fixed text. Apollo names its other persisted query
 * errors itself (PERSISTED_QUERY_NOT_FOUND, PERSISTED_QUERY_NOT_SUPPORTED).
 */
const APOLLO_UNCODED: Readonly<Record<string, string>> = {
  'provided sha does not match query': ErrorCode.PERSISTED_QUERY_HASH_MISMATCH,
  'Unsupported persisted query version': ApolloServerErrorCode.BAD_REQUEST,
};

/**
 * A request Apollo refused with a 4xx status but no code (a persisted query's wrong hash or version) would reach the
 * client as INTERNAL_SERVER_ERROR, a server fault: it is the client's, and gets a client code.
 */
function withClientCode(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  if (!(error instanceof GraphQLError) || error.extensions.code !== undefined) return formatted;
  const status = (error.extensions.http as { status?: unknown } | undefined)?.status;
  if (typeof status !== 'number' || status < 400 || status > 499) return formatted;
  const code = APOLLO_UNCODED[error.message] ?? ApolloServerErrorCode.BAD_REQUEST;
  return { ...formatted, extensions: { ...formatted.extensions, code } };
}

/** What every limit reached says (graphql-armor's message, with exposeLimits off): the limits are not told. */
export const LIMIT_MESSAGE = 'Syntax Error: Query validation error.';

/** graphql-js's own token limit names the limit in its message; the others say LIMIT_MESSAGE already. */
function withoutLimits(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const tokenLimit = /^Syntax Error: Document contains more tha[nt] \d+ tokens/.test(formatted.message);
  return tokenLimit ? { ...formatted, message: LIMIT_MESSAGE } : formatted;
}

/** An unexpected error's text, SQL or stack go to the log; the client gets a fixed message. */
function mask(formatted: GraphQLFormattedError, error: unknown, logger: Logger): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (code !== ApolloServerErrorCode.INTERNAL_SERVER_ERROR) return formatted;
  const original = unwrapResolverError(error);
  if (isDeliberate(original)) return formatted;
  logger.error({ err: original, path: formatted.path }, 'unexpected error (masked in the response)');
  return {
    message: INTERNAL_MESSAGE,
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: { code },
  };
}

/** Every error a client sees names its request, the key to the log lines about it. */
function withRequestId(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const requestId = currentRequestId();
  if (requestId === undefined) return formatted;
  return { ...formatted, extensions: { ...formatted.extensions, requestId } };
}
