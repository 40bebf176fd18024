/**
 * express-session, configured as a login session should be: a signed cookie (SESSION_SECRET; a list rotates:
 * the first signs, all verify), HttpOnly, SameSite=Lax by default, Secure in production; nothing stored for
 * anonymous visitors; an unchanged session never rewritten. A session that cannot be loaded because the store
 * is down answers 503 SERVICE_UNAVAILABLE.
 */
import crypto from 'node:crypto';
import session from 'express-session';
import type { Request, RequestHandler } from 'express';
import { timingSafeEqualStrings } from '../auth/hashers/compare.js';
import type { SessionConfig } from '../config/index.js';
import type { Logger } from '../logger.js';
import { CORRUPT_SESSION_EVENT, type ExpressSessionStore } from './express-session-store.js';

/** The session store failed while express-session loaded or saved a session: the service is unavailable. */
export class SessionLoadError extends Error {
  /** Read by the error handler (errors.ts): 503 with this code, not a 500. */
  readonly status = 503;
  readonly code = 'SERVICE_UNAVAILABLE';
  constructor(cause: unknown) {
    super('the session store is unavailable', { cause });
    this.name = 'SessionLoadError';
  }
}

export function sessionMiddleware(config: SessionConfig, store: ExpressSessionStore, logger: Logger): RequestHandler {
  // Emitted while a request loads its session: the line carries that request's id.
  store.on(CORRUPT_SESSION_EVENT, () => {
    logger.warn(
      'session data corrupted: the stored session could not be read, so it was deleted and the request is ' +
        'anonymous (another program writing to the same Redis prefix or table?)',
    );
  });
  const middleware = session({
    name: config.cookieName,
    secret: [...config.secrets],
    store,
    // Anonymous traffic writes nothing; an unchanged session is not written back.
    saveUninitialized: false,
    resave: false,
    rolling: false,
    // Every ending of a session is explicit (logout, flush); nothing is destroyed again behind our back.
    unset: 'keep',
    cookie: {
      // Script on the page never reads the session cookie (XSS cannot steal it).
      httpOnly: true,
      sameSite: config.sameSite,
      // Behind a TLS-terminating proxy, req.secure comes from X-Forwarded-Proto only with TRUST_PROXY set;
      // without it express-session silently sends no Secure cookie.
      secure: config.cookieSecure,
      path: config.cookiePath,
      ...(config.cookieDomain ? { domain: config.cookieDomain } : {}),
      // The browser keeps the cookie as long as the session may live without activity; the server enforces
      // both timeouts itself (src/auth/session-auth.ts).
      maxAge: config.idleTimeoutSeconds * 1000,
    },
  });
  return (req, res, next) => {
    // A request without the session cookie has no session to load, and most of them (anonymous reads, probes of the
    // API) never make one: express-session would still draw an id, build a session and a cookie, hash them and hook
    // the response, to drop it all unsaved. It runs on demand instead, when a login starts a session (startSession).
    if (cookieText(req, config.cookieName) === undefined) {
      req.startSession = () =>
        new Promise<void>((resolve, reject) => {
          middleware(req, res, (error?: unknown) => {
            if (error === undefined) resolve();
            else reject(new SessionLoadError(error));
          });
        });
      next();
      return;
    }
    middleware(req, res, (error?: unknown) => {
      // A request that presents a session cookie while the store is down: neither a crash nor an anonymous answer.
      if (error !== undefined) {
        next(new SessionLoadError(error));
        return;
      }
      if (logger.isLevelEnabled('debug')) explainUnusedCookie(req, config, logger);
      next();
    });
  };
}

/**
 * "me is null although the browser sends a cookie": says at debug level why the cookie did not name a session.
 * Never logs the cookie or the session id (either would let a reader of the logs take over the session).
 */
function explainUnusedCookie(req: Request, config: SessionConfig, logger: Logger): void {
  const signed = cookieValue(req, config.cookieName);
  if (signed === undefined) return;
  const id = unsign(signed, config.secrets);
  if (id === undefined) {
    logger.debug(
      'the session cookie has a bad signature, so it was ignored: it was signed with another SESSION_SECRET ' +
        '(replicas with different secrets, or a rotated secret dropped from the list) or altered',
    );
  } else if (id !== req.sessionID) {
    logger.debug(
      'the session cookie names a session that does not exist (any more): it ended (logout, ' +
        'SESSION_IDLE_TIMEOUT or SESSION_ABSOLUTE_TIMEOUT, a password change, clearsessions) or the session store ' +
        'lost it (a Redis flush or eviction, another database)',
    );
  }
}

/** The cookie `name` as the request sent it, found as express-session's parser finds it (blanks around the name). */
function cookieText(req: Request, name: string): string | undefined {
  for (const pair of (req.headers.cookie ?? '').split(';')) {
    const separator = pair.indexOf('=');
    if (separator > 0 && pair.slice(0, separator).trim() === name) return pair.slice(separator + 1).trim();
  }
  return undefined;
}

/** The cookie `name`, decoded; undefined when it is absent or not valid percent-encoding. */
function cookieValue(req: Request, name: string): string | undefined {
  const text = cookieText(req, name);
  if (text === undefined) return undefined;
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

/** The session id in an express-session cookie (`s:<id>.<HMAC-SHA256, base64>`) if one of `secrets` signed it. */
function unsign(value: string, secrets: readonly string[]): string | undefined {
  if (!value.startsWith('s:')) return undefined;
  const dot = value.lastIndexOf('.');
  if (dot < 2) return undefined;
  const id = value.slice(2, dot);
  const signature = value.slice(dot + 1);
  const valid = secrets.some((secret) =>
    timingSafeEqualStrings(
      crypto.createHmac('sha256', secret).update(id).digest('base64').replace(/=+$/, ''),
      signature,
    ),
  );
  return valid ? id : undefined;
}
