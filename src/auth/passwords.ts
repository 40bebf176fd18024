/**
 * A user's password (Django's AbstractBaseUser password methods). The raw password is hashed at once and never
 * kept, logged or returned.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { User } from '../entities/user.js';
import type { PasswordHashers } from './hashers/index.js';

export class Passwords {
  constructor(readonly hashers: PasswordHashers) {}

  /** Sets a new hash on the entity (flush to store it). `null` sets an unusable password. */
  async setPassword(user: User, raw: string | null): Promise<void> {
    user.password = await this.hashers.make(raw);
  }

  setUnusablePassword(user: User): void {
    user.password = this.hashers.makeUnusable();
  }

  /** Whether the user has a password that can ever verify. Loads the hash if it is not loaded. */
  async hasUsablePassword(em: EntityManager, user: User): Promise<boolean> {
    return this.hashers.isUsable(await this.storedHash(em, user));
  }

  /**
   * Django's `check_password` with its setter: true when `raw` matches. When it matches a hash made by another
   * hasher or with other parameters, the hash is rewritten with the preferred hasher, and only the password
   * column is written. A failed check writes nothing.
   */
  async checkPassword(em: EntityManager, user: User, raw: string): Promise<boolean> {
    const { valid, mustUpdate } = await this.hashers.verify(raw, await this.storedHash(em, user));
    if (valid && mustUpdate) {
      const upgraded = await this.hashers.make(raw);
      await em.nativeUpdate(User, { id: user.id }, { password: upgraded });
    }
    return valid;
  }

  private async storedHash(em: EntityManager, user: User): Promise<string | undefined> {
    // `password` is a lazy property: loaded only when asked for, so it cannot leak through a query by accident.
    const loaded = await em.findOne(User, { id: user.id }, { populate: ['password'], refresh: true });
    return loaded?.password;
  }
}
