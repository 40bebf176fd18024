/**
 * A real OpenID Connect provider (npm `oidc-provider`, panva's certified implementation) on a loopback port, for the
 * OIDC login tests. One confidential client is registered for the app's callback; its accounts are the test's
 * (`accounts`), and its login page is replaced by an interaction that logs in whoever the test chose (`nextLogin`),
 * with the authentication methods (`amr`) the test says: the browser still goes through the provider's real
 * authorization, interaction and token endpoints, with its cookies.
 *
 *   const provider = await startOidcProvider({ redirectUris: ['http://127.0.0.1:4000/auth/oidc/test/callback'] });
 *   provider.accounts.set('alice-sub', { email: 'alice@example.com', email_verified: true });
 *   provider.nextLogin = { accountId: 'alice-sub' };
 */
import crypto from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider, { type Adapter, type AdapterPayload, type KoaContextWithOIDC } from 'oidc-provider';

export interface TestAccountClaims {
  email?: string;
  email_verified?: boolean;
  preferred_username?: string;
  given_name?: string;
  family_name?: string;
}

export interface TestOidcProvider {
  /** The issuer identifier (http://127.0.0.1:<port>). */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Accounts by subject: what the provider asserts about each. */
  readonly accounts: Map<string, TestAccountClaims>;
  /**
   * Who logs in at the next interaction, and how (RFC 8176 `amr` values, e.g. ['pwd', 'otp']); 'cancel': the person
   * cancels (the provider answers access_denied).
   */
  nextLogin: { accountId: string; amr?: string[] } | 'cancel';
  /** Seconds the ID tokens it issues from now on are valid (the provider's default: one hour). */
  idTokenTtl: number;
  stop(): Promise<void>;
}

export interface TestOidcProviderOptions {
  readonly redirectUris: readonly string[];
  /** The loopback port to listen on (any free one by default). */
  readonly port?: number;
}

/**
 * The provider's state (sessions, interactions, codes, grants) in a Map of this provider's own: as its built-in
 * development adapter keeps it, without that adapter's warning, nor its store shared by every provider of the process.
 * A consumed code is marked so: the provider refuses it a second time.
 */
function mapAdapter(): (name: string) => Adapter {
  const rows = new Map<string, AdapterPayload>();
  const byGrant = new Map<string, Set<string>>();
  return (name) => {
    const key = (id: string) => `${name}:${id}`;
    const findBy = (field: 'uid' | 'userCode', value: string) =>
      [...rows.entries()].find(([at, payload]) => at.startsWith(`${name}:`) && payload[field] === value)?.[1];
    return {
      upsert(id, payload) {
        rows.set(key(id), payload);
        if (payload.grantId) byGrant.set(payload.grantId, (byGrant.get(payload.grantId) ?? new Set()).add(key(id)));
        return Promise.resolve();
      },
      find: (id) => Promise.resolve(rows.get(key(id))),
      findByUid: (uid) => Promise.resolve(findBy('uid', uid)),
      findByUserCode: (userCode) => Promise.resolve(findBy('userCode', userCode)),
      consume(id) {
        const payload = rows.get(key(id));
        if (payload) payload.consumed = Math.floor(Date.now() / 1000);
        return Promise.resolve();
      },
      destroy(id) {
        rows.delete(key(id));
        return Promise.resolve();
      },
      revokeByGrantId(grantId) {
        for (const at of byGrant.get(grantId) ?? []) rows.delete(at);
        byGrant.delete(grantId);
        return Promise.resolve();
      },
    };
  };
}

function signingKey(): Record<string, unknown> {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), alg: 'ES256', use: 'sig' };
}

export async function startOidcProvider(options: TestOidcProviderOptions): Promise<TestOidcProvider> {
  const accounts = new Map<string, TestAccountClaims>();
  const clientId = 'graphql-auth-server';
  const clientSecret = crypto.randomBytes(24).toString('base64url');
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const state: TestOidcProvider = {
    issuer,
    clientId,
    clientSecret,
    accounts,
    nextLogin: { accountId: '' },
    idTokenTtl: 3600,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => {
          if (error) reject(error);
          else resolve();
        });
      }),
  };
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [...options.redirectUris],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        id_token_signed_response_alg: 'ES256',
      },
    ],
    adapter: mapAdapter(),
    jwks: { keys: [signingKey()] },
    cookies: { keys: [crypto.randomBytes(16).toString('hex')] },
    claims: {
      // With `sub`, the authentication methods the login used (RFC 8176): in every ID token.
      openid: ['sub', 'amr'],
      email: ['email', 'email_verified'],
      profile: ['preferred_username', 'given_name', 'family_name'],
    },
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    ttl: {
      IdToken: () => state.idTokenTtl,
      AccessToken: 600,
      AuthorizationCode: 60,
      Interaction: 600,
      Session: 3600,
      Grant: 3600,
    },
    findAccount: (_ctx: KoaContextWithOIDC, sub: string) => {
      const claims = accounts.get(sub);
      if (!claims) return undefined;
      return { accountId: sub, claims: () => ({ sub, ...claims }) };
    },
    // A first-party client: every scope asked for is granted, without a consent page.
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const { oidc } = ctx;
      if (!oidc.session?.accountId || !oidc.client) return undefined;
      const grant = new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId: oidc.session.accountId });
      const scope = oidc.params?.scope;
      grant.addOIDCScope(typeof scope === 'string' ? scope : 'openid');
      grant.addOIDCClaims(['email', 'email_verified', 'preferred_username']);
      await grant.save();
      return grant;
    },
  });

  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.url?.startsWith('/interaction/')) {
      // The provider's login page, answered at once: the account the test chose logs in, or the person cancels.
      const next = state.nextLogin;
      const result =
        next === 'cancel'
          ? { error: 'access_denied', error_description: 'the person cancelled' }
          : { login: { accountId: next.accountId, ...(next.amr ? { amr: next.amr } : {}) } };
      provider.interactionFinished(req, res, result, { mergeWithLastSubmission: false }).catch((error: unknown) => {
        res.writeHead(500).end(String(error));
      });
      return;
    }
    void provider.callback()(req, res);
  });
  return state;
}
