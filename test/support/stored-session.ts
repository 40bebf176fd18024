/**
 * A session handle with no web framework: the session kept in a real store (the port of src/stores), read with its
 * user in one call, saved when the test says the request ends. What the Express glue does for the server, in the
 * fewest lines, so that the core's session flow can be tested on its own.
 */
import crypto from 'node:crypto';
import type { Clock } from '../../src/auth/clock.js';
import type { SessionAuthKeys, SessionHandle } from '../../src/auth/session-handle.js';
import { sessionEnd, type SessionTimeouts } from '../../src/auth/session-expiry.js';
import { CORRUPT, type SessionStore } from '../../src/stores/session-store.js';
import type { UserRow } from '../../src/stores/user-row.js';

export class StoredSessionHandle implements SessionHandle {
  private changed = false;

  private constructor(
    private readonly store: SessionStore,
    private readonly timeouts: SessionTimeouts,
    private readonly clock: Clock,
    private current: { id: string; keys: SessionAuthKeys; user: UserRow | null | undefined } | undefined,
  ) {}

  /** The handle of a request without a session (no cookie). */
  static anonymous(store: SessionStore, timeouts: SessionTimeouts, clock: Clock): StoredSessionHandle {
    return new StoredSessionHandle(store, timeouts, clock, undefined);
  }

  /** The handle of a request presenting session id `sid`: the session and its user read in one call. */
  static async load(
    store: SessionStore,
    timeouts: SessionTimeouts,
    clock: Clock,
    sid: string,
  ): Promise<StoredSessionHandle> {
    const found = await store.getSessionAndUser(sid);
    const current =
      found === null || found === CORRUPT
        ? undefined
        : { id: sid, keys: { ...(found.session as SessionAuthKeys) }, user: found.user };
    return new StoredSessionHandle(store, timeouts, clock, current);
  }

  get id(): string | undefined {
    return this.current?.id;
  }

  get keys(): Readonly<SessionAuthKeys> {
    return this.current?.keys ?? {};
  }

  get user(): UserRow | null | undefined {
    return this.current?.user;
  }

  readonly client = { userAgent: undefined, ip: '' };

  update(keys: Partial<SessionAuthKeys>): Promise<void> {
    if (this.current) {
      Object.assign(this.current.keys, keys);
      this.changed = true;
    }
    return Promise.resolve();
  }

  async cycleKey(keys: SessionAuthKeys): Promise<void> {
    if (this.current) await this.store.destroy(this.current.id);
    const id = crypto.randomBytes(24).toString('base64url');
    await this.store.insert(id, { ...keys }, this.expiresAt(keys));
    this.current = { id, keys: { ...keys }, user: undefined };
    this.changed = false;
  }

  async flush(): Promise<void> {
    if (this.current) await this.store.destroy(this.current.id);
    this.current = undefined;
  }

  /** The end of the request: a changed session is written back (only if it still exists). */
  async save(): Promise<void> {
    if (!this.current || !this.changed) return;
    await this.store.update(this.current.id, { ...this.current.keys }, this.expiresAt(this.current.keys));
    this.changed = false;
  }

  private expiresAt(keys: SessionAuthKeys): Date {
    return new Date(sessionEnd(keys, this.timeouts, this.clock.now().getTime()).at);
  }
}
