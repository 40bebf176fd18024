/**
 * express-session, configured as a login session should be: a signed cookie (SESSION_SECRET; a list rotates:
 * the first signs, all verify), HttpOnly, SameSite=Lax by default, Secure in production; nothing stored for
 * anonymous visitors; an unchanged session never rewritten. A session that cannot be loaded because the store
 * is down answers 503 SERVICE_UNAVAILABLE.
 */
import session from 'express-session';
import type { RequestHandler } from 'express';
import type { SessionConfig } from '../config/index.js';

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

export function sessionMiddleware(config: SessionConfig, store: session.Store): RequestHandler {
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
      // both timeouts itself (request-auth.ts).
      maxAge: config.idleTimeoutSeconds * 1000,
    },
  });
  return (req, res, next) => {
    middleware(req, res, (error?: unknown) => {
      // A request that presents a session cookie while the store is down: neither a crash nor an anonymous answer.
      if (error === undefined) next();
      else next(new SessionLoadError(error));
    });
  };
}
