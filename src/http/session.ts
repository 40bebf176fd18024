/**
 * express-session, configured as a login session should be: a signed cookie (SESSION_SECRET; a list rotates:
 * the first signs, all verify), HttpOnly, SameSite=Lax by default, Secure in production; nothing stored for
 * anonymous visitors; an unchanged session never rewritten. A session that cannot be loaded because the store
 * is down answers 503 SERVICE_UNAVAILABLE.
 */
import crypto from 'node:crypto';
import session from 'express-session';
import { LRUCache } from 'lru-cache';
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
  // Cookies whose signature checked out, and their session ids: an HMAC per request saved for a browser's later
  // requests. Only good signatures are kept (no one can fill it without SESSION_SECRET), and the secrets are the
  // process's for its whole life, so an entry is as true as the check it saves.
  const verified = new LRUCache<string, string>({ max: 10_000 });
  return (req, res, next) => {
    let started: Promise<void> | undefined;
    req.startSession = () =>
      (started ??= new Promise<void>((resolve, reject) => {
        middleware(req, res, (error?: unknown) => {
          // express-session has now read the session again (or made a new one) for req.session: the copy is done.
          req.loadedSession = undefined;
          if (error === undefined) resolve();
          else reject(new SessionLoadError(error));
        });
      }));
    // Outside the cookie's path express-session leaves the request alone: so does this.
    if (!(req.originalUrl || req.url).startsWith(config.cookiePath)) {
      req.startSession().then(() => {
        next();
      }, next);
      return;
    }
    // Most requests never change their session: express-session would still parse every cookie, build a session
    // object and its cookie, hash the session twice (to see whether it changed) and hook the response. So the session
    // the cookie names is read here, with the same signature check, and express-session runs only when a request
    // starts, changes or ends a session (req.startSession, from the session handle). A request without the cookie,
    // or whose cookie names no session, has none until a login starts one.
    const text = cookieText(req, config.cookieName);
    if (text === undefined) {
      next();
      return;
    }
    const sid = verified.get(text) ?? unsign(decoded(text), config.secrets);
    if (sid === undefined) {
      explainUnusedCookie('bad signature', logger);
      next();
      return;
    }
    verified.set(text, sid);
    store.loadData(sid).then(
      (data) => {
        if (data === null) explainUnusedCookie('no such session', logger);
        else req.loadedSession = { id: sid, data };
        next();
      },
      // A request that presents a session cookie while the store is down: neither a crash nor an anonymous answer.
      (error: unknown) => {
        next(new SessionLoadError(error));
      },
    );
  };
}

/**
 * "me is null although the browser sends a cookie": says at debug level why the cookie did not name a session.
 * Never logs the cookie or the session id (either would let a reader of the logs take over the session).
 */
function explainUnusedCookie(reason: 'bad signature' | 'no such session', logger: Logger): void {
  if (!logger.isLevelEnabled('debug')) return;
  if (reason === 'bad signature') {
    logger.debug(
      'the session cookie has a bad signature, so it was ignored: it was signed with another SESSION_SECRET ' +
        '(replicas with different secrets, or a rotated secret dropped from the list) or altered',
    );
  } else {
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
    if (separator > 0 && blanksTrimmed(pair.slice(0, separator)) === name) {
      return blanksTrimmed(pair.slice(separator + 1));
    }
  }
  return undefined;
}

/**
 * `text` without the spaces and tabs around it: the only blanks express-session's parser (`cookie`) trims. Not
 * String.trim, which trims a no-break space too (a header byte 0xA0): that would read a session from a cookie
 * express-session ignores, and a logout (express-session's) would leave it to be read again.
 */
function blanksTrimmed(text: string): string {
  // A loop, not a regular expression: /[ \t]+$/ takes quadratic time on a long run of blanks inside a header.
  const blank = (at: number) => text[at] === ' ' || text[at] === '\t';
  let start = 0;
  let end = text.length;
  while (start < end && blank(start)) start++;
  while (end > start && blank(end - 1)) end--;
  return text.slice(start, end);
}

/** A cookie's value percent-decoded as express-session's parser decodes it: left as it is when it is not valid. */
function decoded(text: string): string {
  const value = text.startsWith('"') && text.endsWith('"') && text.length > 1 ? text.slice(1, -1) : text;
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
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
