/**
 * The core's session handle (src/auth/session-handle.ts) on express-session: `req.session` read and written, its id
 * regenerated, the session destroyed and its cookie cleared.
 */
import type { Request } from 'express';
import type { SessionAuthKeys, SessionClient, SessionHandle } from '../auth/session-handle.js';
import type { SessionConfig } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { UserRow } from '../stores/user-row.js';
import { warnIfSessionCookieLost } from './cookie-diagnostics.js';
import { clientIpOf } from './request-log.js';
import { userReadWith, type ExpressSessionStore } from './express-session-store.js';
import './session-data.js';

export class ExpressSessionHandle implements SessionHandle {
  constructor(
    private readonly req: Request,
    private readonly store: ExpressSessionStore,
    private readonly config: SessionConfig,
    private readonly logger: Logger,
  ) {}

  // Until express-session runs (session.ts), the session is the one read for the request's cookie, if any.

  get id(): string | undefined {
    return this.hasSession() ? this.req.sessionID : this.req.loadedSession?.id;
  }

  get keys(): Readonly<SessionAuthKeys> {
    return this.hasSession() ? this.req.session : (this.req.loadedSession?.data ?? {});
  }

  get user(): UserRow | null | undefined {
    if (this.hasSession()) return userReadWith(this.req.session);
    const loaded = this.req.loadedSession;
    return loaded === undefined ? undefined : userReadWith(loaded.data);
  }

  get client(): SessionClient {
    return { userAgent: this.req.get('user-agent'), ip: clientIpOf(this.req) };
  }

  async update(keys: Partial<SessionAuthKeys>): Promise<void> {
    const loaded = this.req.loadedSession;
    if (loaded !== undefined) {
      await this.req.startSession?.();
      // Read again by express-session: if it ended in between (a logout elsewhere), there is nothing to change, and a
      // blank session must not be started in its place.
      if (this.req.sessionID !== loaded.id) {
        (this.req as { session?: unknown }).session = undefined;
        return;
      }
    }
    if (this.hasSession()) Object.assign(this.req.session, keys);
  }

  /**
   * A fresh session id carrying `keys`, stored now (on failure no cookie is sent). The old session, if any, is
   * deleted first: an id known before login is never the id after it.
   */
  async cycleKey(keys: SessionAuthKeys): Promise<void> {
    try {
      // The session the cookie named (if any) is express-session's to end: it runs first.
      if (this.req.loadedSession !== undefined) await this.req.startSession?.();
      if (this.hasSession()) await promisify((done) => this.req.session.regenerate(done));
      else {
        // A request that came without a session cookie has no session yet (session.ts): express-session starts now,
        // to set the cookie of the session about to be stored. Nothing was stored before: nothing to delete.
        await this.req.startSession?.();
        this.req.sessionStore.generate(this.req);
      }
      this.store.allowInsert(this.req.sessionID);
      Object.assign(this.req.session, keys);
      await promisify((done) => this.req.session.save(done));
    } catch (error) {
      this.forgetSession();
      throw error;
    }
    // "The login works, then I am logged out": the log says why the browser will not keep this cookie.
    warnIfSessionCookieLost(this.req, this.config, this.logger);
  }

  async flush(): Promise<void> {
    if (this.req.loadedSession !== undefined) await this.req.startSession?.();
    if (this.hasSession()) await promisify((done) => this.req.session.destroy(done));
    this.forgetSession();
  }

  private hasSession(): boolean {
    return (this.req as { session?: unknown }).session !== undefined;
  }

  /**
   * Drops the session from this response (express-session sets a cookie and saves only while req.session exists)
   * and, if the browser presented a session cookie, tells it to delete that cookie.
   */
  private forgetSession(): void {
    (this.req as { session?: unknown }).session = undefined;
    const { cookieName, cookiePath, cookieDomain, cookieSecure, sameSite } = this.config;
    if (!this.req.get('cookie')?.includes(`${cookieName}=`)) return;
    // The same attributes as when it was set: browsers refuse to clear a Secure or prefixed cookie otherwise.
    this.req.res?.clearCookie(cookieName, {
      path: cookiePath,
      httpOnly: true,
      secure: cookieSecure,
      sameSite,
      ...(cookieDomain ? { domain: cookieDomain } : {}),
    });
  }
}

function promisify(start: (done: (error?: unknown) => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    start((error) => {
      if (error) reject(error instanceof Error ? error : new Error('session store error', { cause: error }));
      else resolve();
    });
  });
}
