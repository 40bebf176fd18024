/**
 * Personal access tokens (GitHub's fine-grained tokens, Better Auth's API keys): `gqa_<public id>_<secret>`, sent as
 * `Authorization: Bearer <token>` by scripts, apps and services that keep no cookie.
 *
 * - The fixed `gqa_` prefix makes a token recognisable: the logs mask anything of its shape (maskAccessTokens), and
 *   secret scanners can look for it in commits and pastes.
 * - The public id (12 characters, ~71 bits) finds the row and is shown in clear (`prefix`), so that a user can tell
 *   their tokens apart; the secret (32 characters, ~190 bits) is known only to the holder. The row keeps an HMAC of
 *   the whole token, keyed from SESSION_SECRET, compared in constant time: a copy of the table authenticates nobody,
 *   and without the secret setting it cannot even be checked offline.
 * - A token never grants more than its owner holds now: its owner's row is read with it at every use (inactive:
 *   refused; permissions: the owner's current ones, within its scopes), and, unless ACCESS_TOKEN_ENDS_WITH_PASSWORD
 *   is off, it carries an HMAC of the owner's password hash at creation, as a session does (Django's session auth
 *   hash): a password change ends it.
 */
import crypto from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { EntityManager } from '@mikro-orm/postgresql';
import { preparedOne, run, selectAll } from '../db/sql.js';
import { userRowSelect, type UserRow } from '../stores/user-row.js';
import { timingSafeEqualStrings } from './hashers/compare.js';
import { randomString, secureRandom, type RandomSource } from './random.js';
import { sessionAuthHash, sessionAuthHashMatches } from './session-hash.js';
import { ACCESS_TOKEN_PREFIX, PUBLIC_ID_LENGTH, publicIdOf, SECRET_LENGTH } from './access-token-format.js';

export { maskAccessTokens } from './access-token-format.js';

const KEY_SALT = 'graphql-auth-server.access-token';
const keys = new Map<string, crypto.KeyObject>();

/** The keyed hash of a whole token under one secret (HMAC-SHA256, its key derived from the secret and a salt). */
function tokenHash(token: string, secret: string): string {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.createSecretKey(crypto.hash('sha256', KEY_SALT + secret, 'buffer'));
    keys.set(secret, key);
  }
  return crypto.createHmac('sha256', key).update(token).digest('hex');
}

/**
 * The keyed hashes of recently presented tokens, by secret and a SHA-256 of the token (the token itself is kept
 * nowhere): a token is the same on each of its requests, and the HMAC costs several times the digest. Bounded.
 */
const recent = new LRUCache<string, string>({ max: 10_000 });

const secretIds = new Map<string, string>();

/** A short name of a secret for the cache's keys: ten thousand keys need not each hold the secret itself. */
function secretId(secret: string): string {
  let id = secretIds.get(secret);
  if (id === undefined) secretIds.set(secret, (id = crypto.hash('sha256', `${KEY_SALT}\n${secret}`).slice(0, 16)));
  return id;
}

/** True when `stored` is the hash of `token` under any of the secrets (rotation: old ones still verify). */
function tokenHashMatches(token: string, stored: string, secrets: readonly string[]): boolean {
  const digest = crypto.hash('sha256', token, 'base64');
  let matches = false;
  // Every secret is tried, so the time taken does not tell which one matched.
  for (const secret of secrets) {
    const key = `${secretId(secret)}\n${digest}`;
    let expected = recent.get(key);
    if (expected === undefined) recent.set(key, (expected = tokenHash(token, secret)));
    // Still compared in constant time: what is cached is what would be computed, the comparison is unchanged.
    matches = timingSafeEqualStrings(expected, stored) || matches;
  }
  return matches;
}

/** Deletes every token of a user (their account may be in other hands); how many there were. */
export function revokeAccessTokensOf(em: EntityManager, userId: number): Promise<number> {
  return run(em, 'DELETE FROM gqlauth_access_token WHERE user_id = ?', [userId]);
}

/** What the list shows of a token: its prefix and public id, enough to recognise it, nothing to use it. */
export function displayPrefix(publicId: string): string {
  return `${ACCESS_TOKEN_PREFIX}${publicId}`;
}

/** A token as listed: never its secret nor its hash. */
export interface AccessTokenInfo {
  readonly id: number;
  readonly userId: number;
  readonly name: string;
  readonly prefix: string;
  /** The permissions it is limited to (`app_label.codename`); null for all of its owner's. */
  readonly scopes: readonly string[] | null;
  readonly createdAt: Date;
  readonly expiresAt: Date;
  readonly lastUsedAt: Date | null;
}

/** A token just created: the secret, once, and what the list shows of it. */
export interface CreatedAccessTokenInfo {
  readonly token: string;
  readonly accessToken: AccessTokenInfo;
}

/** A token presented with a request, verified: whose it is (their row, read with it) and what it is limited to. */
export interface VerifiedAccessToken {
  readonly id: number;
  readonly user: UserRow;
  readonly scopes: readonly string[] | null;
}

/** Why a presented token authenticates nobody. Only `unknown` (malformed, no such token, wrong secret) is a guess. */
export type RefusedAccessToken = 'unknown' | 'expired' | 'inactive' | 'password_changed';

export interface AccessTokenRules {
  /** SESSION_SECRET: the first makes hashes, all verify them. */
  readonly secrets: readonly string[];
  /** ACCESS_TOKEN_ENDS_WITH_PASSWORD. */
  readonly endWithPassword: boolean;
  /** `last_used_at` is written at most this often (SESSION_TOUCH_INTERVAL, as a session's activity). */
  readonly touchIntervalSeconds: number;
}

type TokenRow = UserRow & {
  gqlauth_token_id: number;
  gqlauth_token_secret_hash: string;
  gqlauth_token_auth_hash: string;
  gqlauth_token_scopes: string[] | null;
  gqlauth_token_expires_at: Date;
  gqlauth_token_last_used_at: Date | null;
};

type ListedRow = {
  id: number;
  user_id: number;
  name: string;
  public_id: string;
  scopes: string[] | null;
  created_at: Date;
  expires_at: Date;
  last_used_at: Date | null;
};

const LISTED = 'id, user_id, name, public_id, scopes, created_at, expires_at, last_used_at';

function info(row: ListedRow): AccessTokenInfo {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    prefix: displayPrefix(row.public_id),
    scopes: row.scopes,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    lastUsedAt: row.last_used_at === null ? null : new Date(row.last_used_at),
  };
}

export interface NewAccessToken {
  readonly userId: number;
  /** The owner's stored password hash now: the token ends when it changes (if the rules say so). */
  readonly passwordHash: string;
  readonly name: string;
  readonly scopes: readonly string[] | null;
  readonly expiresAt: Date;
  /** Who creates it: the owner, or an administrator for a service account. */
  readonly createdById: number;
}

/** The tokens' table, and the check of a presented token. */
export class AccessTokens {
  constructor(
    private readonly rules: AccessTokenRules,
    private readonly random: RandomSource = secureRandom,
  ) {}

  /** Stores a new token; answers its secret (shown once, never stored) and what the list will show of it. */
  async create(
    em: EntityManager,
    now: Date,
    request: NewAccessToken,
  ): Promise<{ token: string; info: AccessTokenInfo }> {
    const publicId = randomString(PUBLIC_ID_LENGTH, this.random);
    const token = `${ACCESS_TOKEN_PREFIX}${publicId}_${randomString(SECRET_LENGTH, this.random)}`;
    const secret = this.rules.secrets[0] ?? '';
    const [row] = await selectAll<ListedRow>(
      em,
      `INSERT INTO gqlauth_access_token
         (user_id, name, public_id, secret_hash, auth_hash, scopes, created_at, expires_at, created_by_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING ${LISTED}`,
      [
        request.userId,
        request.name,
        publicId,
        tokenHash(token, secret),
        sessionAuthHash(request.passwordHash, secret),
        request.scopes === null ? null : JSON.stringify(request.scopes),
        now,
        request.expiresAt,
        request.createdById,
      ],
    );
    if (!row) throw new Error('the access token was not stored');
    return { token, info: info(row) };
  }

  /** A user's tokens, newest first (expired ones too, until revoked: the list says when each expired). */
  async list(em: EntityManager, userId: number): Promise<AccessTokenInfo[]> {
    const rows = await selectAll<ListedRow>(
      em,
      `SELECT ${LISTED} FROM gqlauth_access_token WHERE user_id = ? ORDER BY created_at DESC, id DESC`,
      [userId],
    );
    return rows.map(info);
  }

  /** One token by id, whoever's; undefined when there is none. */
  async find(em: EntityManager, id: number): Promise<AccessTokenInfo | undefined> {
    const [row] = await selectAll<ListedRow>(em, `SELECT ${LISTED} FROM gqlauth_access_token WHERE id = ?`, [id]);
    return row && info(row);
  }

  /** Deletes a token; true when it existed. */
  async revoke(em: EntityManager, id: number): Promise<boolean> {
    return (await run(em, 'DELETE FROM gqlauth_access_token WHERE id = ?', [id])) > 0;
  }

  /**
   * The token presented with a request, checked: its owner's row, or why it authenticates nobody. A malformed token
   * costs no statement; any other one statement (the token and its owner, with the authorization version, as the
   * session read), and no write but `last_used_at`, for a good token, at most once per touch interval.
   */
  async verify(
    em: EntityManager,
    token: string,
    now: Date,
    named: boolean,
  ): Promise<VerifiedAccessToken | RefusedAccessToken> {
    const publicId = publicIdOf(token);
    if (publicId === undefined) return 'unknown';
    const row = await preparedOne<TokenRow>(
      em,
      // Prepared once per connection, as the session read is (not on the embedded database: see that read).
      named ? 'gqlauth_access_token_and_user' : undefined,
      `SELECT t.id AS gqlauth_token_id, t.secret_hash AS gqlauth_token_secret_hash,
              t.auth_hash AS gqlauth_token_auth_hash, t.scopes AS gqlauth_token_scopes,
              t.expires_at AS gqlauth_token_expires_at, t.last_used_at AS gqlauth_token_last_used_at,
              ${userRowSelect(em, 'u')}
         FROM gqlauth_access_token t JOIN auth_user u ON u.id = t.user_id WHERE t.public_id = $1`,
      [publicId],
    );
    // The whole token is compared, in constant time, against its keyed hash: the public id alone finds, never admits.
    if (!row || !tokenHashMatches(token, row.gqlauth_token_secret_hash, this.rules.secrets)) return 'unknown';
    const {
      gqlauth_token_id: id,
      gqlauth_token_auth_hash: authHash,
      gqlauth_token_scopes: scopes,
      gqlauth_token_expires_at: expiresAt,
      gqlauth_token_last_used_at: lastUsedAt,
      ...rest
    } = row;
    // The hash stays here: what goes on with the request is the owner's row, as a session's store reads it.
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- taken out so that it is not passed on
    const { gqlauth_token_secret_hash: _hash, ...user } = rest;
    if (new Date(expiresAt).getTime() <= now.getTime()) return 'expired';
    if (user.isActive !== true) return 'inactive';
    if (this.rules.endWithPassword && !sessionAuthHashMatches(user.password, authHash, this.rules.secrets))
      return 'password_changed';
    // Use is recorded at most once per interval, as a session's activity: one write, not one per request.
    const last = lastUsedAt === null ? 0 : new Date(lastUsedAt).getTime();
    if (now.getTime() - last >= this.rules.touchIntervalSeconds * 1000)
      await run(em, 'UPDATE gqlauth_access_token SET last_used_at = ? WHERE id = ?', [now, id]);
    return { id, user, scopes };
  }
}
