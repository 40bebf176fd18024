/**
 * `Authorization: Bearer <access token>` (RFC 6750): the request is its owner's, with no cookie and no session.
 * Runs before the session middleware, which a request with a token skips: a cookie sent beside a token is ignored
 * (neither read nor written), so one request never acts as two users, and the token's answer sets no cookie.
 *
 * A token that authenticates nobody is refused here, before GraphQL: 401 UNAUTHENTICATED with
 * `WWW-Authenticate: Bearer error="invalid_token"`, and no database write (a malformed one costs no statement at
 * all). Unknown or malformed tokens are guesses: each counts against the client's address, and LOCKOUT_LIMIT of them
 * within LOCKOUT_COOLOFF refuse that address's bearer requests (429 TOO_MANY_ATTEMPTS) for LOCKOUT_COOLOFF, before
 * any lookup (src/auth/bearer-guard.ts).
 */
import type { Request, RequestHandler, Response } from 'express';
import type { AccessTokens, RefusedAccessToken, VerifiedAccessToken } from '../auth/access-tokens.js';
import type { Clock } from '../auth/clock.js';
import type { BearerGuard } from '../auth/bearer-guard.js';
import type { Database } from '../db/database.js';
import { currentRequest, type Logger } from '../logger.js';
import { clientIpOf, requestIdOf } from './request-log.js';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's own way to type what middleware adds
  namespace Express {
    interface Request {
      /** The access token the request authenticated with, verified (bearer.ts); undefined for any other request. */
      accessToken?: VerifiedAccessToken;
    }
  }
}

export interface BearerDeps {
  readonly tokens: AccessTokens;
  readonly guard: BearerGuard;
  readonly database: Database;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The token of `Bearer <token>` (the scheme in any case, RFC 7235); undefined when the header names no bearer. */
function bearerOf(req: Request): string | undefined {
  const header = req.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer[ ]+(\S*)\s*$/i.exec(header);
  // Another scheme (Basic, ...) authenticates nothing here and is left alone; a Bearer with anything but one token
  // after it is a malformed token.
  if (!match) return /^Bearer(\s|$)/i.test(header) ? '' : undefined;
  return match[1] ?? '';
}

const WHY: Record<RefusedAccessToken, string> = {
  unknown: 'no such access token (malformed, revoked or never issued)',
  expired: 'the access token expired',
  inactive: "the access token's owner is inactive",
  password_changed: "the owner's password changed since the access token was created",
};

function refuse(req: Request, res: Response, status: 401 | 429, retryAfterSeconds?: number): void {
  if (status === 401) res.set('WWW-Authenticate', 'Bearer error="invalid_token"');
  if (retryAfterSeconds !== undefined) res.set('Retry-After', String(retryAfterSeconds));
  // One message for every kind of refusal: which one it was is for the log, never for the client.
  const [message, code] =
    status === 401
      ? ['The access token is invalid or has expired.', 'UNAUTHENTICATED']
      : [`Too many failed attempts. Try again in ${retryAfterSeconds ?? 1} seconds.`, 'TOO_MANY_ATTEMPTS'];
  res.status(status).json({
    errors: [
      {
        message,
        extensions: {
          code,
          ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
          requestId: requestIdOf(req),
        },
      },
    ],
  });
}

/** Verifies a bearer token, if the request carries one; a request without one goes on untouched. */
export function bearerAuthentication({ tokens, guard, database, clock, logger }: BearerDeps): RequestHandler {
  // Raw SQL only, as the session store's: one fork for the server's life, not one per request.
  const em = database.orm.em.fork();
  const named = database.embeddedUrl === undefined;
  return (req, res, next) => {
    const token = bearerOf(req);
    if (token === undefined) {
      next();
      return;
    }
    const ip = clientIpOf(req);
    void (async () => {
      // Refused before any lookup while the address is locked: a flood of guesses costs no statement.
      const wait = await guard.refusedFor(ip);
      if (wait > 0) {
        logger.debug({ retryAfterSeconds: wait }, 'bearer token refused: too many failed tokens from this address');
        refuse(req, res, 429, wait);
        return;
      }
      const verified = await tokens.verify(em, token, clock.now(), named);
      if (typeof verified === 'string') {
        // Only a token that is no token counts as a guess; an expired one, or one its owner's change ended, is
        // a real token, presented by whoever holds it.
        if (verified === 'unknown') await guard.failed(ip);
        logger.debug(`bearer token refused: ${WHY[verified]}`);
        refuse(req, res, 401);
        return;
      }
      req.accessToken = verified;
      // Who the request acts as, for what records it (the audit log), from here on.
      const scope = currentRequest();
      if (scope) {
        scope.userId = verified.user.id;
        scope.accessTokenId = verified.id;
      }
      next();
    })().catch((error: unknown) => {
      // The database (or the counters' store) failed: neither an anonymous answer nor a 500.
      next(
        Object.assign(new Error('access tokens are unavailable', { cause: error }), {
          status: 503,
          code: 'SERVICE_UNAVAILABLE',
        }),
      );
    });
  };
}

/** `middleware`, except for a request that authenticated with an access token (it has no session). */
export function unlessBearer(middleware: RequestHandler): RequestHandler {
  return (req, res, next) => {
    if (req.accessToken) next();
    else void middleware(req, res, next);
  };
}
