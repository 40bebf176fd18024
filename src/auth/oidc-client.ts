/**
 * The relying party of the OpenID Connect authorization code flow, on `openid-client` (panva's certified
 * implementation): discovery, the authorization URL with PKCE (S256), state and nonce, and the callback's checks (the
 * issuer in the response, RFC 9207; state; the code exchanged with the verifier; the ID token's signature through the
 * provider's JWKS, refetched when it rotates its keys; its issuer, audience, expiry and nonce). None of it is written
 * here: this module only chooses, and names what failed.
 *
 * Time is the core's clock (tests move it): the ID token's expiry is judged by it, through openid-client's clock skew.
 */
import * as client from 'openid-client';
import type { OidcProviderSetting } from '../config/index.js';
import { isLoopbackUrl } from '../config/index.js';
import { isStorableText } from '../db/sql.js';
import type { Clock } from './clock.js';
import { NamedError } from './errors.js';
import type { ExternalClaims } from './external-identities.js';

/** What went wrong with a provider, as the client is told it (a stable code each). */
export type OidcFailure =
  /** Discovery or the token endpoint could not be reached, or answered with no usable metadata. */
  | 'provider_unavailable'
  /** The provider sent the browser back with an error (the user cancelled, say). */
  | 'provider_refused'
  /** The code was refused at the token endpoint: used already, expired, or not issued for this client. */
  | 'code_rejected'
  /** The ID token's nonce is not this browser's login's. */
  | 'nonce_mismatch'
  /** The ID token expired (by this server's clock). */
  | 'id_token_expired'
  /** The ID token's signature, issuer, audience or other claims do not check out. */
  | 'id_token_invalid'
  /** Anything else the library refused in the provider's answers. */
  | 'response_invalid';

export class OidcFailed extends NamedError {
  constructor(
    readonly failure: OidcFailure,
    cause?: unknown,
  ) {
    super('OidcFailed', `OpenID Connect login failed: ${failure}`);
    this.cause = cause;
  }
}

/** What the callback must find again: kept by the browser (signed: src/auth/oidc-flow.ts), one login each. */
export interface AuthorizationChecks {
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

/** Seconds a request to a provider may take. */
const TIMEOUT_SECONDS = 10;

/** One provider's relying party. Discovery is done once, when first needed (a failure is tried again next time). */
export class OidcClient {
  private discovered: Promise<client.Configuration> | undefined;
  private jwks: client.ExportedJWKSCache | undefined;

  constructor(
    readonly provider: OidcProviderSetting,
    /** The callback URL registered at the provider. */
    readonly redirectUri: string,
    private readonly clock: Clock,
  ) {}

  /**
   * The provider's authorization URL for a new login, and what its callback will be checked against. `prompt`:
   * `login` makes the provider ask for the credentials again (whoever is logged in there).
   */
  async start(prompt?: 'login') {
    const configuration = await this.configuration();
    const checks: AuthorizationChecks = {
      state: client.randomState(),
      nonce: client.randomNonce(),
      codeVerifier: client.randomPKCECodeVerifier(),
    };
    const url = client.buildAuthorizationUrl(configuration, {
      redirect_uri: this.redirectUri,
      scope: this.provider.scopes.join(' '),
      state: checks.state,
      nonce: checks.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(checks.codeVerifier),
      code_challenge_method: 'S256',
      ...(prompt ? { prompt } : {}),
    });
    return { url: url.toString(), checks };
  }

  /**
   * The callback (`callbackUrl`: the registered redirect URI with the query the provider sent): every check, the
   * code exchanged, the claims of the person who logged in (the userinfo endpoint asked for the address when the
   * ID token carries none).
   */
  async finish(callbackUrl: URL, checks: AuthorizationChecks): Promise<ExternalClaims> {
    const configuration = this.atClock(await this.configuration());
    let tokens;
    try {
      tokens = await client.authorizationCodeGrant(configuration, callbackUrl, {
        expectedState: checks.state,
        expectedNonce: checks.nonce,
        pkceCodeVerifier: checks.codeVerifier,
        idTokenExpected: true,
      });
    } catch (error) {
      throw new OidcFailed(failureOf(error), error);
    } finally {
      this.jwks = client.getJwksCache(configuration) ?? this.jwks;
    }
    const idToken = tokens.claims();
    // OpenID Connect Core 2: `sub` is at most 255 ASCII characters (the link's column holds that much).
    if (!idToken || !/^[\x20-\x7E]{1,255}$/.test(idToken.sub)) throw new OidcFailed('id_token_invalid');
    let claims: Record<string, unknown> = idToken;
    const { userinfo_endpoint: userinfo } = configuration.serverMetadata();
    if (idToken.email === undefined && userinfo) {
      try {
        // The subject must be the ID token's (openid-client checks): another person's address would link them.
        claims = { ...(await client.fetchUserInfo(configuration, tokens.access_token, idToken.sub)), ...idToken };
      } catch (error) {
        throw new OidcFailed(failureOf(error), error);
      }
    }
    // The authentication methods from the ID token alone: it is what the provider signed for this login (userinfo
    // describes the account, and a value there must not count as a second factor checked).
    return { ...claimsOf(idToken.sub, claims), amr: methodsOf(idToken.amr) };
  }

  private configuration(): Promise<client.Configuration> {
    this.discovered ??= client
      .discovery(new URL(this.provider.issuer), this.provider.clientId, undefined, undefined, {
        // Plain http only to a provider on this machine (the settings refuse any other http issuer).
        // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated to stand out: loopback only
        ...(isLoopbackUrl(this.provider.issuer) ? { execute: [client.allowInsecureRequests] } : {}),
        timeout: TIMEOUT_SECONDS,
      })
      .catch((error: unknown) => {
        this.discovered = undefined;
        throw new OidcFailed('provider_unavailable', error);
      });
    return this.discovered;
  }

  /** The discovered configuration, judging time by the core's clock, with the keys fetched so far. */
  private atClock(discovered: client.Configuration): client.Configuration {
    const server = discovered.serverMetadata();
    const methods = server.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    const secret = this.provider.clientSecret;
    const configuration = new client.Configuration(
      server,
      this.provider.clientId,
      { [client.clockSkew]: Math.round((this.clock.now().getTime() - Date.now()) / 1000) },
      methods.includes('client_secret_basic') ? client.ClientSecretBasic(secret) : client.ClientSecretPost(secret),
    );
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- deprecated to stand out: loopback only, as above
    if (isLoopbackUrl(this.provider.issuer)) client.allowInsecureRequests(configuration);
    configuration.timeout = TIMEOUT_SECONDS;
    if (this.jwks) client.setJwksCache(configuration, this.jwks);
    return configuration;
  }
}

/** The name of what openid-client refused. */
function failureOf(error: unknown): OidcFailure {
  if (error instanceof client.AuthorizationResponseError) return 'provider_refused';
  if (error instanceof client.ResponseBodyError)
    return error.error === 'invalid_grant' ? 'code_rejected' : 'response_invalid';
  // fetch's own failure (refused connection, DNS) or the timeout's abort.
  if (error instanceof TypeError || (error instanceof Error && error.name === 'TimeoutError'))
    return 'provider_unavailable';
  // openid-client's ClientError wraps oauth4webapi's, whose own cause names the claim that failed.
  const { code, cause } = error as { code?: unknown; cause?: { cause?: { claim?: unknown } } };
  const claim = cause?.cause?.claim;
  if (code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED') return claim === 'exp' ? 'id_token_expired' : 'id_token_invalid';
  if (code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED') return claim === 'nonce' ? 'nonce_mismatch' : 'id_token_invalid';
  if (code === 'OAUTH_KEY_SELECTION_FAILED' || code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED')
    return 'id_token_invalid';
  if (code === 'OAUTH_RESPONSE_IS_NOT_JSON' || code === 'OAUTH_RESPONSE_IS_NOT_CONFORM') return 'provider_unavailable';
  return 'response_invalid';
}

/** A claim's text, if it is text PostgreSQL can store (no NUL, no lone surrogate); else as if absent. */
function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() && isStorableText(value) ? value.trim() : undefined;
}

function claimsOf(subject: string, claims: Record<string, unknown>): ExternalClaims {
  return {
    subject,
    email: text(claims.email),
    // Strictly true: a provider that says "true" as text, or nothing, has not said it verified the address.
    emailVerified: claims.email_verified === true,
    preferredUsername: text(claims.preferred_username),
    givenName: text(claims.given_name),
    familyName: text(claims.family_name),
    amr: methodsOf(claims.amr),
  };
}

/** RFC 8176 authentication methods, as strings; anything else is none. */
function methodsOf(amr: unknown): string[] {
  return Array.isArray(amr) ? amr.filter((value): value is string => typeof value === 'string') : [];
}

/** The relying party of each provider of OIDC_PROVIDERS, by name: made once per process (discovery is cached). */
export function oidcClients(
  config: { readonly providers: readonly OidcProviderSetting[]; readonly redirectBase: string },
  clock: Clock,
): ReadonlyMap<string, OidcClient> {
  return new Map(
    config.providers.map((provider) => [
      provider.name,
      new OidcClient(provider, `${config.redirectBase}/auth/oidc/${provider.name}/callback`, clock),
    ]),
  );
}
