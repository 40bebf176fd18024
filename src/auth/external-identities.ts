/**
 * Accounts at identity providers linked to local users (`gqlauth_external_identity`), and which local user a
 * provider's login reaches (python-social-auth's pipeline, with its unsafe steps left out):
 *
 * 1. The provider's subject is linked: that user, if active.
 * 2. Otherwise, with OIDC_LINK_VERIFIED_EMAIL, an address the provider says it verified reaches the one active account
 *    that has it (compared in ASCII only; never a staff member's or a superuser's account), and is linked to it.
 * 3. Otherwise, when no account has the verified address, a new account, if registration is open.
 *
 * An address that is not verified counts for nothing, as if the provider had given none: anyone may type anyone's
 * address at some provider. It never reaches an account, nor is it given to a new one (a reset link would go to
 * whoever owns it), nor does the answer depend on whether an account has it (no way to learn who has an account).
 * A verified address an account has, that may not reach it (linking off, or several accounts share it), makes no
 * second account with it either (both would be unreachable by the e-mail login): the login is refused, and the owner
 * may log in and link the provider themself (`linkTo`).
 */
import { UniqueConstraintViolationException } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { run, selectAll, selectOne } from '../db/sql.js';
import { User } from '../entities/user.js';
import type { Clock } from './clock.js';
import { ValidationError } from './errors.js';
import { randomString, secureRandom, type RandomSource } from './random.js';
import { codePoints, firstCodePoints } from './text.js';
import { EMAIL_MAX_LENGTH, USERNAME_MAX_LENGTH, normalizeEmail, type UserManager } from './users.js';

/** What a provider asserted about the person who just logged in there (from its ID token, or its userinfo). */
export interface ExternalClaims {
  /** The provider's stable identifier of the account (`sub`). */
  readonly subject: string;
  readonly email?: string | undefined;
  /** Only `email_verified: true` counts: anything else (absent, "true", 1) is unverified. */
  readonly emailVerified: boolean;
  readonly preferredUsername?: string | undefined;
  readonly givenName?: string | undefined;
  readonly familyName?: string | undefined;
  /** RFC 8176 authentication methods the provider says it used (`amr`). */
  readonly amr: readonly string[];
}

/** Why a provider's login reaches nobody. */
export type ExternalLoginRefusal =
  /** The linked user is inactive. */
  | 'inactive'
  /** Not linked, and an account has the verified address, but may not be reached by it (not allowed, ambiguous). */
  | 'account_exists'
  /** Not linked, no account has the address, and registration is closed. */
  | 'registration_closed';

/** How the login reached its user. */
export type LinkedBy = 'subject' | 'email' | 'new_account';

export type ExternalLogin =
  | { readonly user: User; readonly linkedBy: LinkedBy }
  | { readonly refused: ExternalLoginRefusal; readonly userId?: number };

export interface LinkRules {
  /** OIDC_LINK_VERIFIED_EMAIL. */
  readonly linkVerifiedEmail: boolean;
  /** REGISTRATION_OPEN. */
  readonly registrationOpen: boolean;
}

/** One link, as its user sees it. */
export interface ExternalIdentity {
  readonly provider: string;
  readonly email: string;
  readonly createdAt: Date;
  readonly lastLoginAt: Date | null;
}

interface LinkRow {
  user_id: number;
  is_active: boolean;
}

/** An address of printable ASCII only: the only kind a provider's verified address is matched with. */
const PLAIN_ADDRESS = /^[\x21-\x7e]+$/;

/** Lower case of ASCII letters only (what `upper(... COLLATE "C")` compares). */
function asciiLower(text: string): string {
  return text.replace(/[A-Z]/g, (letter) => letter.toLowerCase());
}

/** Characters Django's username validator takes, less `@`: a derived name never looks like someone's address. */
const NOT_USERNAME = /[^\p{L}\p{N}_.+-]/gu;

export class ExternalIdentities {
  constructor(
    private readonly users: UserManager,
    private readonly clock: Clock,
    private readonly random: RandomSource = secureRandom,
  ) {}

  /**
   * The user a provider's login reaches (linked, or created, in one transaction: never a user without its link), or
   * why none.
   */
  async userFor(em: EntityManager, provider: string, claims: ExternalClaims, rules: LinkRules): Promise<ExternalLogin> {
    let found: ExternalLogin;
    try {
      found = await em.transactional((tx) => this.resolve(tx, provider, claims, rules));
    } catch (error) {
      // Another callback of the same subject linked it first: its link is the one.
      if (!(error instanceof UniqueConstraintViolationException)) throw error;
      found = await em.transactional((tx) => this.resolve(tx, provider, claims, rules));
    }
    // Said once committed: a transaction rolled back (a race lost) leaves no created user in the audit log.
    if ('user' in found && found.linkedBy === 'new_account') await this.users.announceCreated(found.user);
    return found;
  }

  private async resolve(
    em: EntityManager,
    provider: string,
    claims: ExternalClaims,
    rules: LinkRules,
  ): Promise<ExternalLogin> {
    // One at a time per provider account: two callbacks of the same new person (a double click, two tabs) would
    // otherwise each make an account, and one of them fail on the link. The second waits, then finds the link.
    await selectOne(em, 'SELECT pg_advisory_xact_lock(hashtext(?)) IS NULL AS locked', [
      `${provider}\n${claims.subject}`,
    ]);
    const linked = await selectOne<LinkRow>(
      em,
      `SELECT e.user_id, u.is_active FROM gqlauth_external_identity e JOIN auth_user u ON u.id = e.user_id
        WHERE e.provider = ? AND e.subject = ?`,
      [provider, claims.subject],
    );
    if (linked) {
      if (!linked.is_active) return { refused: 'inactive', userId: linked.user_id };
      await run(em, 'UPDATE gqlauth_external_identity SET last_login_at = ? WHERE provider = ? AND subject = ?', [
        this.clock.now(),
        provider,
        claims.subject,
      ]);
      return { user: await em.findOneOrFail(User, { id: linked.user_id }), linkedBy: 'subject' };
    }
    // Only an address the provider verified is looked at (see above).
    const email = claims.email && claims.emailVerified ? normalizeEmail(claims.email) : '';
    // Only an address in ASCII is compared, and with ASCII case folding only: under PostgreSQL's collations upper()
    // folds look-alikes together (dotless ı to I, long ſ to S), and a provider rightly verifies an address its owner
    // holds, so a verified bob@maıl.test would otherwise reach bob@mail.test's account.
    const holders =
      email && PLAIN_ADDRESS.test(email)
        ? (
            await selectAll<{
              id: number;
              is_active: boolean;
              is_staff: boolean;
              is_superuser: boolean;
              email: string;
            }>(
              em,
              `SELECT id, is_active, is_staff, is_superuser, email FROM auth_user
                WHERE upper(email COLLATE "C") = upper(? COLLATE "C") LIMIT 2`,
              [email],
            )
          ).filter((row) => asciiLower(row.email) === asciiLower(email))
        : [];
    const [holder] = holders;
    if (holder) {
      // Only when the operator allows it, only the one active account, and never an administrator's: whoever holds
      // an address at some provider must not come to hold staff rights by it (an administrator links a provider
      // themself, logged in).
      const privileged = holder.is_staff || holder.is_superuser;
      if (rules.linkVerifiedEmail && holders.length === 1 && holder.is_active && !privileged) {
        await this.insertLink(em, provider, claims, holder.id, email);
        return { user: await em.findOneOrFail(User, { id: holder.id }), linkedBy: 'email' };
      }
      return { refused: 'account_exists' };
    }
    if (!rules.registrationOpen) return { refused: 'registration_closed' };
    const kept = codePoints(email) <= EMAIL_MAX_LENGTH ? email : '';
    const user = await this.createUser(em, provider, claims, kept);
    await this.insertLink(em, provider, claims, user.id, kept);
    return { user, linkedBy: 'new_account' };
  }

  /**
   * Links a provider's account to `userId` (asked for by that user, logged in): 'linked'; 'already' when it is
   * theirs already; 'taken' when it is another user's (never moved: that would take their logins).
   */
  async linkTo(
    em: EntityManager,
    provider: string,
    claims: ExternalClaims,
    userId: number,
  ): Promise<'linked' | 'already' | 'taken'> {
    const linked = await selectOne<{ user_id: number }>(
      em,
      'SELECT user_id FROM gqlauth_external_identity WHERE provider = ? AND subject = ?',
      [provider, claims.subject],
    );
    if (linked) return linked.user_id === userId ? 'already' : 'taken';
    const email = claims.email && claims.emailVerified ? normalizeEmail(claims.email) : '';
    try {
      await this.insertLink(em, provider, claims, userId, codePoints(email) <= EMAIL_MAX_LENGTH ? email : '');
    } catch (error) {
      // Linked meanwhile, by another request.
      if (error instanceof UniqueConstraintViolationException) return this.linkTo(em, provider, claims, userId);
      throw error;
    }
    return 'linked';
  }

  /** The links of a user, by provider. */
  async listFor(em: EntityManager, userId: number): Promise<ExternalIdentity[]> {
    const rows = await selectAll<{ provider: string; email: string; created_at: Date; last_login_at: Date | null }>(
      em,
      `SELECT provider, email, created_at, last_login_at FROM gqlauth_external_identity WHERE user_id = ?
        ORDER BY provider, id`,
      [userId],
    );
    return rows.map((row) => ({
      provider: row.provider,
      email: row.email,
      createdAt: new Date(row.created_at),
      lastLoginAt: row.last_login_at === null ? null : new Date(row.last_login_at),
    }));
  }

  /** Removes a user's link to a provider; false when there was none. */
  async unlink(em: EntityManager, userId: number, provider: string): Promise<boolean> {
    const deleted = await selectAll<{ id: number }>(
      em,
      'DELETE FROM gqlauth_external_identity WHERE user_id = ? AND provider = ? RETURNING id',
      [userId, provider],
    );
    return deleted.length > 0;
  }

  private async insertLink(
    em: EntityManager,
    provider: string,
    claims: ExternalClaims,
    userId: number,
    email: string,
  ): Promise<void> {
    await run(
      em,
      `INSERT INTO gqlauth_external_identity (provider, subject, user_id, email, created_at, last_login_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
      [provider, claims.subject, userId, email, this.clock.now(), this.clock.now()],
    );
  }

  /**
   * A new account, with no usable password, named after what the provider calls the person (their preferred
   * username, or their address's local part), made safe for Django's username rules; a random suffix when taken.
   */
  private async createUser(em: EntityManager, provider: string, claims: ExternalClaims, email: string): Promise<User> {
    const wanted = claims.preferredUsername ?? (claims.email ? claims.email.split('@')[0] : undefined) ?? provider;
    const base = firstCodePoints(wanted.normalize('NFKC').replace(NOT_USERNAME, ''), USERNAME_MAX_LENGTH - 9);
    const name = (part: string) => firstCodePoints(part, 150);
    for (let attempt = 0; attempt < 5; attempt += 1) {
      const username =
        attempt === 0 && base ? base : `${base || provider}-${randomString(8, this.random).toLowerCase()}`;
      try {
        // In a savepoint of its own: a name taken meanwhile (a unique violation) rolls back this attempt only, not
        // the whole transaction, which PostgreSQL would otherwise refuse to go on with.
        return await em.transactional((attempted) =>
          this.users.insertUser(attempted, {
            username,
            email,
            password: null,
            firstName: name(claims.givenName ?? ''),
            lastName: name(claims.familyName ?? ''),
          }),
        );
      } catch (error) {
        // Taken (or, for the first, not a valid name): the next attempt adds a random suffix.
        if (!(error instanceof ValidationError)) throw error;
      }
    }
    throw new Error('no free username for a new account after 5 attempts');
  }
}
