/**
 * How errors leave the server. Every error a client sees carries a stable `extensions.code`; tests assert the
 * code, never the text. An error we did not expect (a bug, a dropped connection, a failure while building the
 * context) reaches the client as INTERNAL_SERVER_ERROR with a fixed message: its text, SQL or stack go to the log.
 */
import type { ApolloServerOptions } from '@apollo/server';
import { ApolloServerErrorCode, unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ValidationError, type ValidationIssue } from '../auth/errors.js';
import { LockoutStoreError } from '../auth/lockout.js';
import { SessionStoreError } from '../auth/request-auth.js';
import { RefusedWhileImpersonating } from '../auth/impersonation.js';
import { UndecryptableSecret } from '../auth/secret-box.js';
import {
  ImpersonationRefused,
  InvalidCredentials,
  InvalidResetLink,
  LockedOut,
  NotFound,
  NotImpersonating,
  NotLoggedIn,
  NotPermitted,
  OidcProviderUnavailable,
  PasswordChangedMeanwhile,
  InvalidCode,
  NoPendingLogin,
  ReauthenticationRequired,
  RegistrationClosed,
  SecondFactorRequired,
  SessionRequired,
  UnknownOidcProvider,
  TotpAlreadyEnabled,
  TotpNotEnabled,
} from '../services/errors.js';
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
  /** The operation works on a browser session; the request authenticated with an access token instead. */
  SESSION_REQUIRED: 'SESSION_REQUIRED',
  /** Another request changed what this one would change, meanwhile: nothing was done. */
  CONFLICT: 'CONFLICT',
  /** Refused because the session is impersonating: a password change, a token, another impersonation. */
  IMPERSONATING: 'IMPERSONATING',
  /** This user may not be impersonated by the caller; `extensions.reason` says why (SUPERUSER, INACTIVE, ...). */
  IMPERSONATION_REFUSED: 'IMPERSONATION_REFUSED',
  /** stopImpersonating in a session that impersonates nobody. */
  NOT_IMPERSONATING: 'NOT_IMPERSONATING',
  /** The password was right; the account's second factor is next (verifyTotp); `extensions.methods` lists the ways. */
  SECOND_FACTOR_REQUIRED: 'SECOND_FACTOR_REQUIRED',
  /** A TOTP or recovery code that is wrong, used already, or out of its time. */
  INVALID_CODE: 'INVALID_CODE',
  /** No login waits for a second factor in this session (none, expired, or ended by wrong codes). */
  NO_PENDING_LOGIN: 'NO_PENDING_LOGIN',
  TOTP_ALREADY_ENABLED: 'TOTP_ALREADY_ENABLED',
  TOTP_NOT_ENABLED: 'TOTP_NOT_ENABLED',
  /**
   * The account's TOTP secret cannot be read (its key is no longer in SECRET_ENCRYPTION_KEYS): no code can be checked
   * until an administrator resets the second factor. The server's log says so, at error level.
   */
  SECOND_FACTOR_UNAVAILABLE: 'SECOND_FACTOR_UNAVAILABLE',
  /** The field needs a more recent authentication (`reauthenticate`); `extensions.maxAgeSeconds` says how recent. */
  REAUTHENTICATION_REQUIRED: 'REAUTHENTICATION_REQUIRED',
  /** An automatic persisted query whose `sha256Hash` is not the hash of the `query` sent with it (HTTP 400). */
  PERSISTED_QUERY_HASH_MISMATCH: 'PERSISTED_QUERY_HASH_MISMATCH',
  /** oidcLoginUrl names no provider of OIDC_PROVIDERS. */
  OIDC_UNKNOWN_PROVIDER: 'OIDC_UNKNOWN_PROVIDER',
  /** The provider's discovery failed (down, or no usable metadata): try again later. */
  OIDC_PROVIDER_UNAVAILABLE: 'OIDC_PROVIDER_UNAVAILABLE',
} as const;

/**
 * The errors the use-cases and the core throw, each with the code clients see for it: one code per fact
 * (better-auth's error codes). Resolvers throw these (or let them through); `createFormatError` answers them.
 */
const CATALOGUE: readonly (readonly [abstract new (...args: never[]) => Error, ErrorCodeName])[] = [
  [InvalidCredentials, ErrorCode.INVALID_CREDENTIALS],
  [NotLoggedIn, ErrorCode.UNAUTHENTICATED],
  [NotPermitted, ErrorCode.FORBIDDEN],
  [NotFound, ErrorCode.NOT_FOUND],
  [LockedOut, ErrorCode.TOO_MANY_ATTEMPTS],
  [InvalidResetLink, ErrorCode.INVALID_TOKEN],
  [PasswordChangedMeanwhile, ErrorCode.CONFLICT],
  [RegistrationClosed, ErrorCode.REGISTRATION_CLOSED],
  [RefusedWhileImpersonating, ErrorCode.IMPERSONATING],
  [ImpersonationRefused, ErrorCode.IMPERSONATION_REFUSED],
  [NotImpersonating, ErrorCode.NOT_IMPERSONATING],
  [SessionRequired, ErrorCode.SESSION_REQUIRED],
  [UnknownOidcProvider, ErrorCode.OIDC_UNKNOWN_PROVIDER],
  [OidcProviderUnavailable, ErrorCode.OIDC_PROVIDER_UNAVAILABLE],
  [SecondFactorRequired, ErrorCode.SECOND_FACTOR_REQUIRED],
  [InvalidCode, ErrorCode.INVALID_CODE],
  [NoPendingLogin, ErrorCode.NO_PENDING_LOGIN],
  [TotpAlreadyEnabled, ErrorCode.TOTP_ALREADY_ENABLED],
  [TotpNotEnabled, ErrorCode.TOTP_NOT_ENABLED],
  [ReauthenticationRequired, ErrorCode.REAUTHENTICATION_REQUIRED],
  [UndecryptableSecret, ErrorCode.SECOND_FACTOR_UNAVAILABLE],
  [ValidationError, ErrorCode.BAD_USER_INPUT],
  // The operation cannot be kept, so it did not happen (or, said where it did, its answer says so): never masked as
  // an internal error, whichever operation met the outage.
  [SessionStoreError, ErrorCode.SERVICE_UNAVAILABLE],
  [LockoutStoreError, ErrorCode.SERVICE_UNAVAILABLE],
];

type ErrorCodeName = (typeof ErrorCode)[keyof typeof ErrorCode];

const UNAVAILABLE_MESSAGE = 'This is unavailable right now; try again shortly.';

/** The code of a domain error, or undefined for any other error (a bug: masked). */
function codeOf(error: unknown): ErrorCodeName | undefined {
  return CATALOGUE.find(([type]) => error instanceof type)?.[1];
}

/** The GraphQL error a domain error becomes; undefined for any other error. */
export function graphQLErrorOf(error: unknown): GraphQLError | undefined {
  const code = codeOf(error);
  if (code === undefined || !(error instanceof Error)) return undefined;
  if (error instanceof ValidationError) return badUserInput(error.issues);
  // A store's own message names its internals, and so does a secret's (its settings): the client learns only what
  // it can act on.
  const message =
    code === ErrorCode.SERVICE_UNAVAILABLE
      ? UNAVAILABLE_MESSAGE
      : code === ErrorCode.SECOND_FACTOR_UNAVAILABLE
        ? 'Your second factor cannot be checked right now: an administrator can reset it.'
        : error.message;
  const details =
    error instanceof LockedOut
      ? { retryAfterSeconds: error.retryAfterSeconds }
      : error instanceof ImpersonationRefused
        ? { reason: error.reason }
        : error instanceof SecondFactorRequired
          ? { methods: [...error.methods] }
          : error instanceof ReauthenticationRequired
            ? { maxAgeSeconds: error.maxAgeSeconds }
            : {};
  return new GraphQLError(message, { extensions: { code, ...details } });
}

/** A domain error, as the GraphQL error it becomes (for resolvers and directives that throw one themselves). */
function answer(error: Error): GraphQLError {
  return graphQLErrorOf(error) ?? new GraphQLError(error.message);
}

/** A request that needs a logged-in user came from an anonymous one. */
export function unauthenticated(): GraphQLError {
  return answer(new NotLoggedIn());
}

/** A logged-in user without the permission a field requires. Which permission is not said. */
export function forbidden(message?: string): GraphQLError {
  return answer(new NotPermitted(message));
}

/** The field works on a browser session; the request authenticated with an access token instead. */
export function sessionRequired(): GraphQLError {
  return answer(new SessionRequired());
}

/** The field needs an authentication within the last `maxAgeSeconds`: `reauthenticate` first (step-up). */
export function reauthenticationRequired(maxAgeSeconds: number): GraphQLError {
  return answer(new ReauthenticationRequired(maxAgeSeconds));
}

/** The object an operation names does not exist (said only to those allowed to act on every such object). */
export function notFound(what: string): GraphQLError {
  return answer(new NotFound(what));
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

/** The session store is down: the operation cannot be kept, so it did not happen. */
export function serviceUnavailable(): GraphQLError {
  return new GraphQLError(UNAVAILABLE_MESSAGE, { extensions: { code: ErrorCode.SERVICE_UNAVAILABLE } });
}

/** True for an error thrown on purpose: a GraphQLError that does not merely wrap some other error. */
function isDeliberate(error: unknown): boolean {
  return error instanceof GraphQLError && (error.originalError === undefined || isDeliberate(error.originalError));
}

export function createFormatError(logger: Logger): NonNullable<ApolloServerOptions<never>['formatError']> {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError =>
    withRequestId(mask(withClientCode(withoutLimits(coded(formatted, error, logger)), error), error, logger));
}

/** A domain error a resolver let through, answered with its code from the catalogue (a store failure logged). */
function coded(formatted: GraphQLFormattedError, error: unknown, logger: Logger): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  const answered = graphQLErrorOf(original);
  if (!answered) return formatted;
  if (original instanceof SessionStoreError) logger.error({ err: original.cause }, 'the session store failed');
  if (original instanceof LockoutStoreError) logger.error({ err: original.cause }, 'the lockout counters failed');
  return {
    message: answered.message,
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    ...(formatted.path ? { path: formatted.path } : {}),
    extensions: answered.extensions,
  };
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
