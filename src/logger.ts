/**
 * The server's structured logger (pino): one JSON object per line on stdout.
 *
 * Every line written while a request is served carries that request's id (`reqId`), wherever in the code it is
 * written: the id lives in an AsyncLocalStorage entered once per request (`runWithRequestId`), and pino's mixin
 * reads it. The same id is in the X-Request-Id response header and in every error a client receives.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { pino, type Logger } from 'pino';
import type { LogLevel } from './config/index.js';
import { maskAccessTokens } from './auth/access-token-format.js';

export type { Logger };

/**
 * What is known of the request being served, wherever in the code it is asked: its id and address from the
 * start, who makes it once the session is read. The audit log attributes an event to its request through it.
 */
export interface RequestScope {
  readonly id: string;
  /** The client's address (TRUST_PROXY decides how far X-Forwarded-For is believed); '' where unknown. */
  readonly ip: string;
  /** The user the request acts as, once known (the impersonated user under impersonation). */
  userId?: number;
  /** Under impersonation, the real user acting as `userId`. */
  impersonatorId?: number;
  /** The personal access token the request authenticated with, if any (its id). */
  accessTokenId?: number;
}

const requestScopes = new AsyncLocalStorage<RequestScope>();

/** Runs `fn` (and everything it starts, awaited or not) as part of the request `id`. */
export function runWithRequestId<T>(id: string, fn: () => T, ip = ''): T {
  return requestScopes.run({ id, ip }, fn);
}

/** The request being served (to record who it acts as), or undefined outside any request. */
export function currentRequest(): RequestScope | undefined {
  return requestScopes.getStore();
}

/**
 * Runs `fn` outside any request: for what outlives the request that happened to start it (a new connection to
 * Redis, whose later events would otherwise all be logged with that request's id).
 */
export function outsideRequest<T>(fn: () => T): T {
  return requestScopes.exit(fn);
}

/** The id of the request being served, or undefined outside any request (start-up, commands). */
export function currentRequestId(): string | undefined {
  return requestScopes.getStore()?.id;
}

/** `destination` is stdout unless given (tests pass a stream to read the lines). */
export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { pid: process.pid },
    mixin() {
      const reqId = requestScopes.getStore()?.id;
      return reqId === undefined ? {} : { reqId };
    },
    // Defence in depth: these never belong in a log line, whichever object carries them.
    redact: {
      paths: ['password', '*.password', 'newPassword', '*.newPassword', 'oldPassword', '*.oldPassword'],
      censor: '[redacted]',
    },
    // An access token pasted into any field, message or error text (a header quoted in an error, a token sent as a
    // variable) is masked past its public id, whatever carries it: the whole line is looked at, once.
    hooks: { streamWrite: maskAccessTokens },
  };
  return destination ? pino(options, destination) : pino(options);
}
