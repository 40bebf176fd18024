/**
 * Password reset by e-mailed link (Django's PasswordResetForm, PasswordResetConfirmView and SetPasswordForm),
 * framework-free. The link carries the user's id in Django's form (`urlsafe_base64_encode(str(pk))`) and a token of
 * PasswordResetTokens: no table, and single use by construction, because setting the password changes the hash the
 * token is bound to.
 *
 *   for (const user of await reset.usersFor(em, 'alice@example.com')) send(user.email, reset.link(user));
 *   const user = await reset.userFor(em, uid, token);                 // null: INVALID_TOKEN
 *   const done = await reset.setPassword(em, user.id, token, await hashers.make(newPassword));
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AuthEventBus } from './events.js';
import type { PasswordHashers } from './hashers/index.js';
import type { PasswordResetTokens, TokenUser } from './tokens.js';
import { run, selectAll, selectOne } from '../db/sql.js';

/** What a reset needs of a user: what the token is bound to, and what the e-mail and the validators show. */
export interface ResetUser extends TokenUser {
  username: string;
  firstName: string;
  lastName: string;
}

interface UserRow {
  id: number;
  password: string;
  last_login: Date | null;
  email: string;
  username: string;
  first_name: string;
  last_name: string;
}

const COLUMNS = 'id, password, last_login, email, username, first_name, last_name';
/** Larger than any id PostgreSQL's `integer` primary key can hold: refused before it reaches SQL. */
const MAX_ID = 2_147_483_647;

/** Django's `urlsafe_base64_encode(force_bytes(pk))`: base64url of the decimal id, no padding. */
export function encodeUid(id: number): string {
  return Buffer.from(String(id), 'utf8').toString('base64url');
}

/** The id inside a uid, or null when it is not one `encodeUid` could have made. */
export function decodeUid(uid: string): number | null {
  if (!/^[A-Za-z0-9_-]{1,16}$/.test(uid)) return null;
  const text = Buffer.from(uid, 'base64url').toString('utf8');
  if (!/^[1-9]\d{0,9}$/.test(text)) return null;
  const id = Number(text);
  // Only the canonical spelling: two uids for one user would be two links that look different and are one.
  return id <= MAX_ID && encodeUid(id) === uid ? id : null;
}

export class PasswordReset {
  constructor(
    private readonly tokens: PasswordResetTokens,
    private readonly hashers: PasswordHashers,
    private readonly events?: AuthEventBus,
  ) {}

  /**
   * Django's `PasswordResetForm.get_users`: active users with this e-mail (case-insensitively, as Django's
   * `email__iexact`) and a usable password. Several accounts may share an address; each gets its own link.
   */
  async usersFor(em: EntityManager, email: string): Promise<ResetUser[]> {
    const rows = await selectAll<UserRow>(
      em,
      // A blank address is nobody's: an account without an e-mail gets no link.
      `SELECT ${COLUMNS} FROM auth_user WHERE upper(email) = upper(?) AND email <> '' AND is_active ORDER BY id`,
      [email],
    );
    return rows.map(toResetUser).filter(
      // An unusable password means "log in some other way" (SSO, disabled): no reset by e-mail for it. The second
      // comparison is Django's _unicode_ci_compare: SQL's upper() and Unicode case folding can disagree.
      (user) => this.hashers.isUsable(user.password) && sameEmail(user.email, email),
    );
  }

  /** A token for this user, now. */
  token(user: TokenUser): string {
    return this.tokens.make(user);
  }

  /**
   * The user a reset link is for, or null when the uid names no active user or the token is not (or no longer)
   * valid for them: wrong, used, expired, or voided by a password change or a login since it was made.
   */
  async userFor(em: EntityManager, uid: string, token: string): Promise<ResetUser | null> {
    const id = decodeUid(uid);
    if (id === null) return null;
    const row = await selectOne<UserRow>(em, `SELECT ${COLUMNS} FROM auth_user WHERE id = ? AND is_active`, [id]);
    if (!row) return null;
    const user = toResetUser(row);
    return this.tokens.check(user, token) ? user : null;
  }

  /**
   * Stores `passwordHash` if `token` is still valid for the user at this moment; false otherwise. The row is locked
   * while the token is checked again, so two requests racing with one token cannot both succeed: the second sees
   * the hash the first wrote, and the token no longer matches it.
   */
  async setPassword(em: EntityManager, userId: number, token: string, passwordHash: string): Promise<boolean> {
    const stored = await em.transactional(async (tx) => {
      const row = await selectOne<UserRow>(
        tx,
        `SELECT ${COLUMNS} FROM auth_user WHERE id = ? AND is_active FOR UPDATE`,
        [userId],
      );
      if (!row || !this.tokens.check(toResetUser(row), token)) return false;
      await run(tx, 'UPDATE auth_user SET password = ? WHERE id = ?', [passwordHash, userId]);
      return true;
    });
    // After the commit: listeners hear of a password that is stored.
    if (stored) await this.events?.emit('userPasswordChanged', { userId, via: 'reset' });
    return stored;
  }
}

function toResetUser(row: UserRow): ResetUser {
  return {
    id: row.id,
    password: row.password,
    lastLogin: row.last_login === null ? null : new Date(row.last_login),
    email: row.email,
    username: row.username,
    firstName: row.first_name,
    lastName: row.last_name,
  };
}

/** Django's `_unicode_ci_compare`: NFKC, then case-folded (lower-casing is JavaScript's closest). */
function sameEmail(a: string, b: string): boolean {
  const fold = (text: string) => text.normalize('NFKC').toLowerCase();
  return fold(a) === fold(b);
}
