/**
 * A user's password (Django's AbstractBaseUser password methods). The raw password is hashed at once and never
 * kept, logged or returned; the stored hash is read with its own query and never put on the entity by a check.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { selectOne } from '../db/sql.js';
import { User } from '../entities/user.js';
import type { AuthEventBus, PasswordChangeVia } from './events.js';
import type { PasswordHashers } from './hashers/index.js';

export class Passwords {
  constructor(
    readonly hashers: PasswordHashers,
    private readonly events?: AuthEventBus,
  ) {}

  /** Sets a new hash on the entity (flush to store it). `null` sets an unusable password. */
  async setPassword(user: User, raw: string | null): Promise<void> {
    user.password = await this.hashers.make(raw);
  }

  setUnusablePassword(user: User): void {
    user.password = this.hashers.makeUnusable();
  }

  /** Whether the stored password can ever verify. */
  async hasUsablePassword(em: EntityManager, user: Pick<User, 'id'>): Promise<boolean> {
    return this.hashers.isUsable(await storedHash(em, user.id));
  }

  /** Django's `check_password` against the stored hash, with its setter (see `checkStored`). */
  async checkPassword(em: EntityManager, user: Pick<User, 'id'>, raw: string): Promise<boolean> {
    return this.checkStored(em, user.id, await storedHash(em, user.id), raw);
  }

  /**
   * For a password change: when `raw` is the user's password, the hash stored now (rewritten if it was upgraded), to
   * be replaced with `replaceStored`; otherwise undefined.
   */
  async checkForChange(em: EntityManager, userId: number, raw: string): Promise<string | undefined> {
    const stored = await storedHash(em, userId);
    const { valid, mustUpdate } = await this.hashers.verify(raw, stored);
    if (!valid || stored === undefined) return undefined;
    if (!mustUpdate) return stored;
    const upgraded = await this.hashers.make(raw);
    const rewritten = await em.nativeUpdate(User, { id: userId, password: stored }, { password: upgraded });
    return rewritten === 1 ? upgraded : stored;
  }

  /**
   * Stores `next` in place of `expected`, only if the user's stored hash is still `expected`: of password changes
   * racing each other (a change, a reset, an admin's), exactly one wins and the others learn it (false) instead of
   * answering yes while their password is silently overwritten (a lost update). `via`: how, for the event.
   */
  async replaceStored(
    em: EntityManager,
    userId: number,
    expected: string,
    next: string,
    via?: Exclude<PasswordChangeVia, 'reset'>,
  ): Promise<boolean> {
    const replaced = (await em.nativeUpdate(User, { id: userId, password: expected }, { password: next })) === 1;
    if (replaced) await this.events?.emit('userPasswordChanged', via === undefined ? { userId } : { userId, via });
    return replaced;
  }

  /**
   * True when `raw` matches `stored`, the hash already read for user `userId`. When it matches a hash made by
   * another hasher or with other parameters, the hash is rewritten with the preferred hasher: only the password
   * column, and only if it still holds `stored` (a password changed meanwhile is not overwritten with the old one).
   * A failed check writes nothing.
   */
  async checkStored(em: EntityManager, userId: number, stored: string | undefined, raw: string): Promise<boolean> {
    const { valid, mustUpdate } = await this.hashers.verify(raw, stored);
    if (valid && mustUpdate && stored !== undefined) {
      const upgraded = await this.hashers.make(raw);
      await em.nativeUpdate(User, { id: userId, password: stored }, { password: upgraded });
    }
    return valid;
  }
}

/** The stored password hash of a user, read on its own (never put on the entity), in `em`'s transaction. */
export async function storedHash(em: EntityManager, userId: number): Promise<string | undefined> {
  return (await selectOne<{ password: string }>(em, 'SELECT password FROM auth_user WHERE id = ?', [userId]))?.password;
}
