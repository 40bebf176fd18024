/**
 * The personal access token use-cases (schema/access-tokens.graphql): a logged-in user creates, lists and revokes
 * their own tokens; a staff member holding `gqlauth.add_accesstoken`, `gqlauth.view_accesstoken` or
 * `gqlauth.delete_accesstoken` does the same for another user (a service account). What no directive can express:
 *  - a token is created only by a logged-in session, never by a token (a scoped token must not mint a broader one),
 *    and never for another user without the permission (Better Auth's CVE-2025-61928: keys minted for anyone);
 *  - its scopes are permissions its owner holds now (on the model, or on some objects);
 *  - nobody mints a token for an account that holds more than they do (it would let them act as it): a superuser's
 *    only by a superuser, and any other's only within what the caller holds, as the admin API's escalation rules.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { isAuthenticated } from '../auth/anonymous.js';
import type { AccessTokenInfo, AccessTokens } from '../auth/access-tokens.js';
import type { Clock } from '../auth/clock.js';
import { heldBeyond } from '../auth/escalation.js';
import { ValidationError, type Auth, type PermissionChecker, type ValidationIssue } from '../auth/index.js';
import { storedHash } from '../auth/passwords.js';
import { codePoints } from '../auth/text.js';
import type { Config } from '../config/index.js';
import { selectAll, selectOne } from '../db/sql.js';
import { User } from '../entities/user.js';
import { NotFound, NotLoggedIn, NotPermitted, SessionRequired } from './errors.js';
import type { SessionFlow } from './session-flow.js';

/** The column's length. */
const NAME_MAX_LENGTH = 100;

/** The permissions a user holds on some objects (directly or through groups), as `app_label.codename`. */
const HELD_ON_OBJECTS = `
  SELECT DISTINCT ct.app_label || '.' || p.codename AS perm
    FROM (SELECT permission_id FROM guardian_userobjectpermission WHERE user_id = ?
          UNION SELECT o.permission_id FROM guardian_groupobjectpermission o
            JOIN auth_user_groups ug ON ug.group_id = o.group_id WHERE ug.user_id = ?) g
    JOIN auth_permission p ON p.id = g.permission_id JOIN django_content_type ct ON ct.id = p.content_type_id`;

export interface AccessTokenDeps {
  readonly em: EntityManager;
  readonly core: Pick<Auth, 'events'>;
  readonly tokens: AccessTokens;
  readonly clock: Clock;
  readonly config: Pick<Config, 'accessTokens'>;
  /** The request's checks: what the caller holds, and what a token's owner holds. */
  readonly permissions: PermissionChecker;
  /** Who calls, and whether with a session or a token. */
  readonly session: Pick<SessionFlow, 'user' | 'accessToken' | 'assertNotImpersonating'>;
}

export interface AccessTokenRequest {
  readonly name: string;
  /** Omitted: ACCESS_TOKEN_MAX_AGE from now. */
  readonly expiresAt?: Date | null | undefined;
  /** Omitted or null: all of its owner's permissions, whatever they become. */
  readonly scopes?: readonly string[] | null | undefined;
  /** Another user's (a service account); omitted: the caller's own. */
  readonly userId?: number | null | undefined;
}

type Owner = { id: number; isActive: boolean; isSuperuser: boolean };

export class AccessTokenService {
  constructor(private readonly deps: AccessTokenDeps) {}

  /** A new token; its secret is in the answer, once. */
  async create(request: AccessTokenRequest): Promise<{ token: string; accessToken: AccessTokenInfo }> {
    const { em, tokens, clock, config, permissions, core, session } = this.deps;
    // Before anything else: a token mints nothing, whoever's and however scoped.
    if (session.accessToken) throw new SessionRequired();
    // Whoever acts as a user for support must not leave with a key to the account (django-hijack's rule).
    await session.assertNotImpersonating();
    const caller = await this.caller();
    const owner = await this.ownerFor(caller, request.userId, 'gqlauth.add_accesstoken');
    const now = clock.now();
    const issues: ValidationIssue[] = [];
    const name = request.name.trim();
    if (name === '')
      issues.push({ code: 'name_required', message: 'A token needs a name (what it is for).', field: 'name' });
    else if (codePoints(name) > NAME_MAX_LENGTH)
      issues.push({
        code: 'name_too_long',
        message: `A token's name has at most ${NAME_MAX_LENGTH} characters.`,
        field: 'name',
      });
    const longest = now.getTime() + config.accessTokens.maxAgeSeconds * 1000;
    const expiresAt = request.expiresAt ?? new Date(longest);
    if (expiresAt.getTime() <= now.getTime())
      issues.push({ code: 'expiry_in_past', message: 'The expiry must be in the future.', field: 'expiresAt' });
    else if (expiresAt.getTime() > longest)
      issues.push({
        code: 'expiry_too_far',
        message: `A token lives at most ${config.accessTokens.maxAgeSeconds} seconds (ACCESS_TOKEN_MAX_AGE).`,
        field: 'expiresAt',
      });
    const scopes = request.scopes === null || request.scopes === undefined ? null : [...new Set(request.scopes)].sort();
    if (scopes) {
      // What the owner holds now (model level, directly or through groups, or every permission for a superuser).
      const held = await permissions.getAllPermissions(await this.userEntity(owner.id));
      let missing = scopes.filter((perm) => !held.has(perm));
      // A permission held on some objects only (guardian's grants) is held too: the token reaches those objects.
      if (missing.length > 0) {
        const onObjects = new Set(
          (await selectAll<{ perm: string }>(em, HELD_ON_OBJECTS, [owner.id, owner.id])).map((row) => row.perm),
        );
        missing = missing.filter((perm) => !onObjects.has(perm));
      }
      if (missing.length > 0)
        issues.push({
          code: 'scope_not_held',
          message: `A token's scopes are permissions its owner holds; not: ${missing.join(', ')}.`,
          field: 'scopes',
        });
    }
    if (issues.length > 0) throw new ValidationError(issues);
    if (owner.id !== caller.id) await this.withinCaller(caller, owner, scopes);
    const created = await tokens.create(em, now, {
      userId: owner.id,
      passwordHash: (await storedHash(em, owner.id)) ?? '',
      name,
      scopes,
      expiresAt,
      createdById: caller.id,
    });
    await core.events.emit('accessTokenCreated', {
      actorId: caller.id,
      userId: owner.id,
      tokenId: created.info.id,
      name,
      scopes,
      expiresAt,
    });
    return { token: created.token, accessToken: created.info };
  }

  /** The caller's own tokens, or another user's with `gqlauth.view_accesstoken`. */
  async list(userId?: number | null): Promise<AccessTokenInfo[]> {
    const caller = await this.caller();
    const owner = await this.ownerFor(caller, userId, 'gqlauth.view_accesstoken');
    return this.deps.tokens.list(this.deps.em, owner.id);
  }

  /**
   * Revokes one of the caller's tokens, or another user's with `gqlauth.delete_accesstoken`; NotFound for a token
   * the caller may not see (whether it exists is not said). A token may revoke itself, and no other (SessionRequired).
   */
  async revoke(id: number): Promise<true> {
    const { em, tokens, core, session } = this.deps;
    // A token revokes itself (a script that finds its key leaked), never its owner's other keys: a narrow one must
    // not be able to cut the owner off from the rest.
    if (session.accessToken && session.accessToken.id !== id) throw new SessionRequired();
    const caller = await this.caller();
    const found = await tokens.find(em, id);
    const mayRevoke =
      found !== undefined &&
      (found.userId === caller.id ||
        ((caller.isStaff || caller.isSuperuser) &&
          (await this.deps.permissions.hasPerm(caller, 'gqlauth.delete_accesstoken')) &&
          // A superuser's tokens are a superuser's business only, as their sessions are (services/sessions.ts).
          (caller.isSuperuser || !(await this.isSuperuser(found.userId)))));
    if (!found || !mayRevoke || !(await tokens.revoke(em, id))) throw new NotFound('access token');
    await core.events.emit('accessTokenRevoked', { actorId: caller.id, userId: found.userId, tokenId: id });
    return true;
  }

  private async caller(): Promise<User> {
    const user = await this.deps.session.user();
    if (!isAuthenticated(user) || !user.isActive) throw new NotLoggedIn();
    return user;
  }

  /**
   * Whose tokens: the caller's own, or, with `perm` and staff (Django admin's rule), another user's. Refused the
   * same way whether or not that user exists, to a caller without the right.
   */
  private async ownerFor(caller: User, userId: number | null | undefined, perm: string): Promise<Owner> {
    if (userId === null || userId === undefined || userId === caller.id) return caller;
    if (!(caller.isStaff || caller.isSuperuser) || !(await this.deps.permissions.hasPerm(caller, perm)))
      throw new NotPermitted();
    const owner = await selectOne<Owner>(
      this.deps.em,
      'SELECT id, is_active AS "isActive", is_superuser AS "isSuperuser" FROM auth_user WHERE id = ?',
      [userId],
    );
    if (!owner) throw new NotFound('user');
    // A superuser's tokens (listing them, or one that acts as them) are a superuser's business only.
    if (owner.isSuperuser && !caller.isSuperuser) throw new NotPermitted();
    return owner;
  }

  /** Whether the user of `userId` is a superuser (false for none). */
  private async isSuperuser(userId: number): Promise<boolean> {
    const row = await selectOne<{ isSuperuser: boolean }>(
      this.deps.em,
      'SELECT is_superuser AS "isSuperuser" FROM auth_user WHERE id = ?',
      [userId],
    );
    return row?.isSuperuser === true;
  }

  /**
   * Another user's token acts as them: only a superuser makes one for a superuser (ownerFor), and nobody makes one
   * reaching anything (within its scopes) that they do not hold themselves, model or object level. An inactive
   * account's token would authenticate nobody: refused rather than made useless.
   */
  private async withinCaller(caller: User, owner: Owner, scopes: readonly string[] | null): Promise<void> {
    if (!owner.isActive)
      throw new ValidationError([
        { code: 'inactive_user', message: 'The user is inactive: a token would authenticate nobody.', field: 'userId' },
      ]);
    const beyond = (await heldBeyond(this.deps.em, caller, { userId: owner.id })).filter(
      ({ perm }) => scopes === null || scopes.includes(perm),
    );
    if (beyond.length > 0) throw new NotPermitted();
  }

  /** The user of `id` as the permission checker asks about them (the caller's own entity when it is theirs). */
  private async userEntity(id: number): Promise<User> {
    const caller = await this.deps.session.user();
    if (caller?.id === id) return caller;
    return this.deps.em.findOneOrFail(User, { id });
  }
}
