/**
 * What the audit log keeps of each auth event: a row of gqlauth_audit_event. Every event of the bus has its mapping
 * (the type below fails to compile while one is missing), so that an event added to events.ts is not silently left
 * out of the log.
 *
 * Never a secret: a row holds ids, names, an address, a request id and the fields listed here, never a credential
 * object, a password, a token or its hash. A failed login keeps the username tried, nothing else of what was sent.
 */
import { ACCESS_TOKEN_PREFIX, PUBLIC_ID_LENGTH } from '../auth/access-token-format.js';
import type { AuthEvents } from '../auth/events.js';
import type { RequestScope } from '../logger.js';

/** The kinds of event the log holds, as stored (the GraphQL enum is their upper case). */
export const AUDIT_KINDS = [
  'login',
  'login_failed',
  'lockout',
  'logout',
  'password_changed',
  'password_reset',
  'password_set',
  'access_token_created',
  'access_token_revoked',
  'session_ended',
  'user_permissions_changed',
  'group_permissions_changed',
  'user_groups_changed',
  'user_status_changed',
  'user_created',
  'user_deleted',
  'user_identity_changed',
  'impersonation_started',
  'impersonation_ended',
  'provider_linked',
  'provider_unlinked',
  'totp_enabled',
  'totp_disabled',
  'recovery_codes_regenerated',
  'recovery_code_used',
  'second_factor_failed',
  'second_factor_reset',
] as const;

export type AuditKind = (typeof AUDIT_KINDS)[number];

/** One row, as the recorder writes it. */
export interface AuditRow {
  readonly at: Date;
  readonly kind: AuditKind;
  /** Who did it: the event's own actor, else the request's user; null for anonymous requests and commands. */
  readonly actorId: number | null;
  /** Under impersonation, the real user acting as `actorId`. */
  readonly impersonatorId: number | null;
  readonly targetUserId: number | null;
  readonly targetGroupId: number | null;
  /** The username of the time (the target's, filled in by the writer when not given), or the one tried. */
  readonly username: string | null;
  readonly address: string | null;
  readonly requestId: string | null;
  /** Non-secret particulars of the event (which backend, which permissions, which token id). */
  readonly details: Record<string, unknown>;
}

/** What a mapping says of its event; the rest of the row comes from the request and the clock. */
type Mapped = Pick<AuditRow, 'kind'> & Partial<Omit<AuditRow, 'kind' | 'at' | 'requestId' | 'impersonatorId'>>;

type Mappings = { readonly [K in keyof AuthEvents]: (event: AuthEvents[K]) => Mapped | null };

/** The name a failed login tried: its `username` (or `email`) field, if text; nothing else of the credentials. */
function usernameTried(credentials: Record<string, unknown>): string | null {
  for (const field of ['username', 'email']) {
    const value = credentials[field];
    if (typeof value === 'string') return value;
  }
  return null;
}

const MAPPINGS: Mappings = {
  userLoggedIn: ({ user, backend, secondFactor }) => ({
    kind: 'login',
    actorId: user.id,
    targetUserId: user.id,
    username: user.username,
    details: { backend, ...(secondFactor ? { secondFactor } : {}) },
  }),
  userLoginFailed: ({ credentials, reasons }) => ({
    kind: 'login_failed',
    // Only the name: even scrubbed, the credential object is whatever a client sent (a password in a field whose
    // name does not look secret, say).
    username: usernameTried(credentials),
    details: { reasons: reasons.map(({ backend, reason }) => ({ backend, reason })) },
  }),
  userLockedOut: ({ username, ip, action, retryAfterSeconds }) => ({
    kind: 'lockout',
    username,
    // The address the lockout counted, when the request's is not known (an attempt made outside a request).
    address: ip || null,
    details: { action, retryAfterSeconds },
  }),
  // An anonymous logout ends nobody's session: nothing to record.
  userLoggedOut: ({ user }) =>
    user ? { kind: 'logout', actorId: user.id, targetUserId: user.id, username: user.username } : null,
  userPasswordChanged: ({ userId, via }) => ({
    kind:
      via === 'reset' ? 'password_reset' : via === 'admin' || via === 'command' ? 'password_set' : 'password_changed',
    targetUserId: userId,
    // A command is run by an operator, not by a user of the request (there is none).
    ...(via === 'command' ? { actorId: null } : {}),
    details: via === undefined ? {} : { via },
  }),
  accessTokenCreated: ({ actorId, userId, tokenId, name, scopes, expiresAt }) => ({
    kind: 'access_token_created',
    actorId,
    targetUserId: userId,
    // The token's id and label, never the token (nor its hash, nor its prefix).
    details: { tokenId, name, scopes, expiresAt: expiresAt?.toISOString() ?? null },
  }),
  accessTokenRevoked: ({ actorId, userId, tokenId }) => ({
    kind: 'access_token_revoked',
    actorId,
    targetUserId: userId,
    details: { tokenId },
  }),
  sessionEnded: ({ actorId, userId }) => ({ kind: 'session_ended', actorId, targetUserId: userId }),
  userPermissionsChanged: ({ actorId, userId, added, removed, objectId }) => ({
    kind: 'user_permissions_changed',
    actorId,
    targetUserId: userId,
    details: { added: [...added], removed: [...removed], ...(objectId === undefined ? {} : { objectId }) },
  }),
  groupPermissionsChanged: ({ actorId, groupId, groupName, added, removed, objectId }) => ({
    kind: 'group_permissions_changed',
    actorId,
    targetGroupId: groupId,
    details: {
      group: groupName,
      added: [...added],
      removed: [...removed],
      ...(objectId === undefined ? {} : { objectId }),
    },
  }),
  userGroupsChanged: ({ actorId, userId, added, removed }) => ({
    kind: 'user_groups_changed',
    actorId,
    targetUserId: userId,
    details: { added: [...added], removed: [...removed] },
  }),
  userStatusChanged: ({ actorId, userId, changed }) => ({
    kind: 'user_status_changed',
    actorId,
    targetUserId: userId,
    details: { ...changed },
  }),
  userCreated: ({ userId, username, isStaff, isSuperuser }) => ({
    kind: 'user_created',
    targetUserId: userId,
    username,
    details: { isStaff, isSuperuser },
  }),
  // Named here: by the time the row is written, the user's row is gone.
  userDeleted: ({ actorId, userId, username }) => ({ kind: 'user_deleted', actorId, targetUserId: userId, username }),
  // The username of the change, not of the write: renamed again meanwhile, each row keeps its own.
  userIdentityChanged: ({ actorId, userId, username, changed, previousUsername }) => ({
    kind: 'user_identity_changed',
    actorId,
    targetUserId: userId,
    username,
    details: { changed: [...changed], ...(previousUsername === undefined ? {} : { previousUsername }) },
  }),
  impersonationStarted: ({ actorId, userId }) => ({ kind: 'impersonation_started', actorId, targetUserId: userId }),
  impersonationEnded: ({ actorId, userId }) => ({ kind: 'impersonation_ended', actorId, targetUserId: userId }),
  // Done by the login itself: the request has nobody logged in yet, so the user is its own actor.
  externalIdentityLinked: ({ userId, provider, via }) => ({
    kind: 'provider_linked',
    actorId: userId,
    targetUserId: userId,
    details: { provider, via },
  }),
  externalIdentityUnlinked: ({ actorId, userId, provider }) => ({
    kind: 'provider_unlinked',
    actorId,
    targetUserId: userId,
    details: { provider },
  }),
  // A failed login as the password logins' are, with the provider's backend and the refusal's code.
  externalLoginFailed: ({ backend, reason, userId }) => ({
    kind: 'login_failed',
    targetUserId: userId ?? null,
    details: { reasons: [{ backend, reason }] },
  }),
  totpEnabled: ({ userId }) => ({ kind: 'totp_enabled', actorId: userId, targetUserId: userId }),
  totpDisabled: ({ userId }) => ({ kind: 'totp_disabled', actorId: userId, targetUserId: userId }),
  recoveryCodesRegenerated: ({ userId }) => ({
    kind: 'recovery_codes_regenerated',
    actorId: userId,
    targetUserId: userId,
  }),
  recoveryCodeUsed: ({ userId, remaining }) => ({
    kind: 'recovery_code_used',
    targetUserId: userId,
    details: { remaining },
  }),
  // Before the login completes, the request is anonymous: the row names the account, not an actor.
  secondFactorFailed: ({ userId, method, purpose }) => ({
    kind: 'second_factor_failed',
    targetUserId: userId,
    details: { method, purpose },
  }),
  secondFactorReset: ({ actorId, userId }) => ({ kind: 'second_factor_reset', actorId, targetUserId: userId }),
};

/** The events the log records: every one of the bus. */
export const AUDITED_EVENTS = Object.keys(MAPPINGS) as (keyof AuthEvents)[];

/** Longest text kept of each column (its width); details' strings are cut at DETAIL_TEXT. */
const WIDTH = { username: 150, address: 64, requestId: 128 } as const;
const DETAIL_TEXT = 300;

/**
 * A public id followed by (some of) a secret: a token, or most of one. Stricter than the logs' mask, which masks any
 * `gqa_` word: a username such as `gqa_admin` is a name, and the log keeps names as they were.
 */
const TOKEN_IN_TEXT = new RegExp(`(${ACCESS_TOKEN_PREFIX}[A-Za-z0-9]{${PUBLIC_ID_LENGTH}})_[A-Za-z0-9]{8,}`, 'g');

/**
 * Text as PostgreSQL can store it, at most `max` characters: no NUL (no text or jsonb value takes one) and no unpaired
 * surrogate. A name tried at login is the client's choice: one such character must not lose the whole batch.
 * A token pasted where a name goes (the username field, a token's name) is masked past its public id, as in the
 * logs: the audit log never holds a token.
 */
function storable(text: string, max: number): string {
  return text
    .toWellFormed()
    .replaceAll('\u0000', '')
    .replace(TOKEN_IN_TEXT, '$1…[masked]')
    .slice(0, max)
    .toWellFormed();
}

function storableDetails(value: unknown): unknown {
  if (typeof value === 'string') return storable(value, DETAIL_TEXT);
  if (Array.isArray(value)) return value.slice(0, 100).map(storableDetails);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [storable(key, DETAIL_TEXT), storableDetails(item)]),
    );
  return value;
}

/**
 * The row for `event`, or null when it records nothing. The request being served (`scope`, read while the event is
 * emitted) gives the request id and the address, the actor when the event names none, and the impersonator.
 */
export function auditRowOf<K extends keyof AuthEvents>(
  name: K,
  event: AuthEvents[K],
  scope: RequestScope | undefined,
  at: Date,
): AuditRow | null {
  const mapped = (MAPPINGS[name] as (event: AuthEvents[K]) => Mapped | null)(event);
  if (!mapped) return null;
  const actorId = mapped.actorId !== undefined ? mapped.actorId : (scope?.userId ?? null);
  // Under impersonation the row names both: who the request acts as, and who really acts. Not the actor twice (an
  // impersonator ending the impersonation is the event's own actor).
  const impersonatorId =
    scope?.impersonatorId !== undefined && scope.impersonatorId !== actorId ? scope.impersonatorId : null;
  const address = scope?.ip || mapped.address || null;
  return {
    at,
    kind: mapped.kind,
    actorId,
    impersonatorId,
    targetUserId: mapped.targetUserId ?? null,
    targetGroupId: mapped.targetGroupId ?? null,
    username:
      mapped.username === null || mapped.username === undefined ? null : storable(mapped.username, WIDTH.username),
    address: address === null ? null : storable(address, WIDTH.address),
    requestId: scope?.id ? storable(scope.id, WIDTH.requestId) : null,
    details: storableDetails({
      ...mapped.details,
      // Done with an access token: which one (its id, as myAccessTokens lists it), so that after a leak the log says
      // what that key did.
      ...(scope?.accessTokenId === undefined ? {} : { accessTokenId: scope.accessTokenId }),
    }) as Record<string, unknown>,
  };
}
