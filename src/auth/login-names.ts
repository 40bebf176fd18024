/**
 * The accounts a typed login name reaches, as the configured backends match it (backends.ts), for the lockout: an
 * attempt is counted under the login name of each account whose password it checks, so that every name of one
 * account (its username, its address in any capitalization or with the blanks the e-mail backend trims) shares one
 * count. Without it, the username and the address would each get LOCKOUT_LIMIT guesses at the same password.
 *
 * An account's login name is its username, or its address when the e-mail backend is the only one (its username
 * logs nobody in then). The username is the key a login by username always had, and the key a name that reaches no
 * account has too: so a server that does not know the user (or not yet) counts its username where the others do.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { selectAll } from '../db/sql.js';
import { EmailBackend, ExternalBackend, type AuthenticationBackend } from './backends.js';
import { normalizeUsername } from './users.js';

interface ReachedRow {
  username: string;
  email: string;
  /** The model backend finds it by this name (`username = ?`). */
  by_username: boolean;
  /** The e-mail backend finds it by this name (`upper(email) = upper(?)`), if it is the only account that does. */
  by_email: boolean;
}

export class LoginNames {
  /** A backend other than the e-mail one takes the name as a username (the model backend, and one of an app's own). */
  private readonly byUsername: boolean;
  private readonly byEmail: boolean;

  constructor(backends: readonly AuthenticationBackend[]) {
    // An identity provider's backend takes no login name at all.
    this.byUsername = backends.some(
      (backend) => !(backend instanceof EmailBackend || backend instanceof ExternalBackend),
    );
    this.byEmail = backends.some((backend) => backend instanceof EmailBackend);
  }

  /** The name the lockout counts this account's login attempts under (and its device cookies are bound to). */
  of(user: { readonly username: string; readonly email: string }): string {
    return this.byUsername ? user.username : user.email;
  }

  /**
   * The login names of the accounts `typed` reaches: empty when it reaches none (the lockout then counts `typed`
   * itself, so that an unknown name locks as a known one does). One statement, the same whether or not an account
   * answers, and none unless the name can be an address that the e-mail backend looks up: by username alone, the
   * name is the account's own key already.
   */
  async reachedBy(em: EntityManager, typed: string): Promise<string[]> {
    // As the e-mail backend reads `username`: an address has an @, and is trimmed.
    if (!this.byEmail || !typed.includes('@')) return [];
    const address = typed.trim();
    const username = normalizeUsername(typed);
    // The username's row first (it is unique), then enough others to tell one account with the address from several.
    const rows = this.byUsername
      ? await selectAll<ReachedRow>(
          em,
          `SELECT username, email, username = ? AS by_username, upper(email) = upper(?) AS by_email
             FROM auth_user WHERE username = ? OR upper(email) = upper(?) ORDER BY username = ? DESC LIMIT 3`,
          [username, address, username, address, username],
        )
      : await selectAll<ReachedRow>(
          em,
          'SELECT username, email, false AS by_username, true AS by_email FROM auth_user WHERE upper(email) = upper(?) LIMIT 2',
          [address],
        );
    const byEmail = rows.filter((row) => row.by_email);
    // An address two accounts share logs neither in (the e-mail backend refuses it, after a dummy hash): it checks
    // no password of theirs, so it is counted as a name of its own, and failures there lock neither account; nor do
    // either's failures by its username lock the other.
    const reached = [...rows.filter((row) => row.by_username), ...(byEmail.length === 1 ? byEmail : [])];
    // A name that is one account's username and another's address checks both passwords: it is counted on both.
    return [...new Set(reached.map((row) => this.of(row)))];
  }
}
