/**
 * Logging in with an OpenID Connect provider (the authorization code flow): `start` answers the provider's URL and
 * the value the browser keeps meanwhile (src/auth/oidc-flow.ts); `finish`, at the callback, checks everything
 * (openid-client: src/auth/oidc-client.ts), finds or links or creates the user (src/auth/external-identities.ts) and
 * logs them in through `loginAs`, where the second factor is decided for every login path. The provider checked the
 * credentials, so nothing here is counted by the lockout: there is no password to guess at this server.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Auth } from '../auth/index.js';
import { oidcBackendName } from '../auth/backends.js';
import type { ExternalLoginRefusal, LinkedBy } from '../auth/external-identities.js';
import { timingSafeEqualStrings } from '../auth/hashers/compare.js';
import { OidcFailed, type OidcClient, type OidcFailure } from '../auth/oidc-client.js';
import type { OidcFlows } from '../auth/oidc-flow.js';
import type { LoginOutcome } from '../auth/session-auth.js';
import type { Config, OidcProviderSetting } from '../config/index.js';
import type { Logger } from '../logger.js';
import {
  NotLoggedIn,
  OidcLoginRefused,
  OidcProviderUnavailable,
  SessionRequired,
  UnknownOidcProvider,
  type OidcRefusal,
} from './errors.js';
import type { SessionFlow } from './session-flow.js';

/**
 * RFC 8176 `amr` values that say the provider checked a second factor: `mfa` (several factors) and `otp` (a one-time
 * code, on top of the first). A provider that does not assert one of them leaves the second factor to this server.
 */
export const SECOND_FACTOR_AMR: readonly string[] = ['mfa', 'otp'];

/** Whether a provider's `amr` says it checked a second factor (SECOND_FACTOR_AMR). */
export function assertsSecondFactor(amr: readonly string[]): boolean {
  return amr.some((method) => SECOND_FACTOR_AMR.includes(method));
}

/**
 * Whether a provider's login stands for the account's own second factor too: only when the operator trusts the
 * provider's word (`trustAmr`), it says it checked one, and the account was already linked to it. A link made by this
 * very login (by an address) must not let the provider's second factor, its holder's own, stand in for the account's.
 */
export function secondFactorVerifiedBy(
  provider: Pick<OidcProviderSetting, 'trustAmr'>,
  linkedBy: LinkedBy,
  amr: readonly string[],
): boolean {
  return provider.trustAmr && linkedBy === 'subject' && assertsSecondFactor(amr);
}

export interface OidcLoginDeps {
  readonly em: EntityManager;
  readonly core: Pick<Auth, 'externalIdentities' | 'events'>;
  readonly config: Pick<Config, 'oidc' | 'registrationOpen'>;
  readonly session: SessionFlow;
  /** Each provider's relying party, by name (made once per process). */
  readonly clients: ReadonlyMap<string, OidcClient>;
  readonly flows: OidcFlows;
  readonly logger: Pick<Logger, 'info' | 'warn'>;
}

/** A provider, as a login button shows it. */
export interface OidcProviderView {
  readonly name: string;
  readonly label: string;
}

const FAILURES: Record<OidcFailure, OidcRefusal> = {
  provider_unavailable: 'OIDC_PROVIDER_UNAVAILABLE',
  provider_refused: 'OIDC_PROVIDER_REFUSED',
  code_rejected: 'OIDC_CODE_REJECTED',
  nonce_mismatch: 'OIDC_NONCE_MISMATCH',
  id_token_expired: 'OIDC_ID_TOKEN_EXPIRED',
  id_token_invalid: 'OIDC_ID_TOKEN_INVALID',
  response_invalid: 'OIDC_RESPONSE_INVALID',
};

const LINK_REFUSALS: Record<ExternalLoginRefusal, OidcRefusal> = {
  inactive: 'OIDC_ACCOUNT_INACTIVE',
  account_exists: 'OIDC_ACCOUNT_EXISTS',
  registration_closed: 'REGISTRATION_CLOSED',
};

export class OidcLogins {
  constructor(private readonly deps: OidcLoginDeps) {}

  /** The configured providers, in the settings' order. */
  providers(): OidcProviderView[] {
    return this.deps.config.oidc.providers.map(({ name, label }) => ({ name, label }));
  }

  /** A new login at `provider`: its authorization URL, and the value the browser must keep until the callback. */
  start(provider: string): Promise<{ url: string; flow: string }> {
    return this.begin(provider);
  }

  /**
   * A link of the logged-in user's account to their account at `provider` (then that account's logins are theirs):
   * the provider asks for its credentials again (`prompt=login`), whoever is logged in there.
   */
  async startLink(provider: string): Promise<{ url: string; flow: string }> {
    const user = await this.deps.session.user();
    if (!user) throw new NotLoggedIn();
    // Whoever impersonates acts for support: adding a way into the account is its owner's to do.
    await this.deps.session.assertNotImpersonating();
    return this.begin(provider, user.id);
  }

  private async begin(provider: string, link?: number): Promise<{ url: string; flow: string }> {
    // A browser login: a request with an access token has no browser to send there.
    if (this.deps.session.accessToken) throw new SessionRequired();
    const client = this.deps.clients.get(provider);
    if (!client) throw new UnknownOidcProvider();
    let started;
    try {
      started = await client.start(link === undefined ? undefined : 'login');
    } catch (error) {
      if (!(error instanceof OidcFailed)) throw error;
      this.deps.logger.warn({ provider, why: messageOf(error.cause) }, 'OpenID Connect discovery failed');
      throw new OidcProviderUnavailable();
    }
    return { url: started.url, flow: this.deps.flows.issue({ provider, ...started.checks, link }) };
  }

  /**
   * The provider's callback: `query` as the provider sent it, `flow` the value the browser kept. Logs in ('complete',
   * or 'second_factor_required' when the account's second factor must still be checked), or links the provider's
   * account to the logged-in user who asked ('linked'), or throws OidcLoginRefused with nobody logged in and nothing
   * written.
   */
  async finish(provider: string, query: URLSearchParams, flow: string | undefined): Promise<LoginOutcome | 'linked'> {
    const { em, core, config, session, clients, flows, logger } = this.deps;
    const backend = oidcBackendName(provider);
    const refuse = async (code: OidcRefusal, cause?: unknown, userId?: number): Promise<never> => {
      // The library's message only: its errors carry the provider's answers (an ID token's claims, say) as causes.
      logger.info({ provider, code, why: messageOf(cause) }, 'OpenID Connect login refused');
      await core.events.emit('externalLoginFailed', { backend, reason: code, ...(userId ? { userId } : {}) });
      throw new OidcLoginRefused(code, cause);
    };
    // Refused before anything is asked of a provider: logged, never an audit row. Anyone may send these requests,
    // and each row stays (the table is append-only): a flood of them would be a flood of rows, named as the sender
    // pleases.
    const refuseUnheard = (code: OidcRefusal): never => {
      logger.info({ code }, 'OpenID Connect callback refused before any exchange');
      throw new OidcLoginRefused(code);
    };
    const client = clients.get(provider);
    if (!client) return refuseUnheard('OIDC_UNKNOWN_PROVIDER');
    const started = flows.read(flow);
    // Only the browser that started this login holds it (login CSRF: an attacker's code in a victim's browser).
    if (!started || started.provider !== provider) return refuseUnheard('OIDC_FLOW_MISSING');
    if (!timingSafeEqualStrings(query.get('state') ?? '', started.state)) return refuseUnheard('OIDC_STATE_MISMATCH');
    // The registered redirect URI with the provider's answer: never a URL made from the request's Host header.
    const callbackUrl = new URL(client.redirectUri);
    callbackUrl.search = query.toString();
    let claims;
    try {
      claims = await client.finish(callbackUrl, started);
    } catch (error) {
      if (!(error instanceof OidcFailed)) throw error;
      return refuse(FAILURES[error.failure], error.cause);
    }
    if (started.link !== undefined) {
      // Only in the session of the user who asked: not another user's logged in since in this browser.
      const user = await session.user();
      if (user?.id !== started.link) return refuse('OIDC_LINK_USER_CHANGED');
      const linked = await core.externalIdentities.linkTo(em, provider, claims, user.id);
      // Another user's provider account stays theirs: moving it would hand over their logins.
      if (linked === 'taken') return refuse('OIDC_ALREADY_LINKED', undefined, user.id);
      if (linked === 'linked')
        await core.events.emit('externalIdentityLinked', { userId: user.id, provider, via: 'user' });
      return 'linked';
    }
    const rules = { linkVerifiedEmail: config.oidc.linkVerifiedEmail, registrationOpen: config.registrationOpen };
    const found = await core.externalIdentities.userFor(em, provider, claims, rules);
    if ('refused' in found) return refuse(LINK_REFUSALS[found.refused], undefined, found.userId);
    if (found.linkedBy !== 'subject')
      await core.events.emit('externalIdentityLinked', { userId: found.user.id, provider, via: found.linkedBy });
    // The account's own second factor (if any) is still to be checked, unless this login stands for it.
    const secondFactorVerified = secondFactorVerifiedBy(client.provider, found.linkedBy, claims.amr);
    return session.loginAs(found.user, backend, { secondFactorVerified });
  }
}

/** What an error says, without what it carries. */
function messageOf(error: unknown): string | undefined {
  return error instanceof Error ? error.message : undefined;
}
