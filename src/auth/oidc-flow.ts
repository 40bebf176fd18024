/**
 * A login in progress at a provider, kept by the browser that started it until the provider sends it back: the
 * provider's name, the state, the nonce and the PKCE verifier, with when it started, signed (HMAC-SHA256 under a key
 * derived from SESSION_SECRET: any of its secrets verifies, the first signs). Nothing is stored on the server for an
 * anonymous visitor: the value lives in an HttpOnly cookie (src/http/oidc.ts) for OIDC_FLOW_MAX_AGE seconds
 * and is cleared at the callback, which checks it whatever happens. A code is good for one exchange at the provider,
 * so a callback replayed with the cookie is refused there.
 *
 *   v1.<payload, base64url JSON>.<mac>
 */
import crypto from 'node:crypto';
import type { Clock } from './clock.js';
import { timingSafeEqualStrings } from './hashers/compare.js';
import type { AuthorizationChecks } from './oidc-client.js';

/** Seconds a login may take at the provider. */
export const OIDC_FLOW_MAX_AGE = 600;

/** Separates this key from every other use of SESSION_SECRET. */
const PURPOSE = 'gqlauth.oidc.flow';
const SHAPE = /^v1\.([A-Za-z0-9_-]{1,2000})\.([A-Za-z0-9_-]{43})$/;

export interface OidcFlow extends AuthorizationChecks {
  readonly provider: string;
  /** A link, not a login: the id of the logged-in user who asked for it. */
  readonly link?: number | undefined;
}

export class OidcFlows {
  private readonly keys: readonly Buffer[];

  constructor(
    secrets: readonly string[],
    private readonly clock: Clock,
  ) {
    this.keys = secrets.map((secret) => crypto.createHmac('sha256', secret).update(PURPOSE).digest());
  }

  /** The cookie value of a login starting now. */
  issue(flow: OidcFlow): string {
    const key = this.keys[0];
    if (!key) throw new Error('no secret to sign OpenID Connect logins with');
    const payload = Buffer.from(
      JSON.stringify({
        p: flow.provider,
        s: flow.state,
        n: flow.nonce,
        v: flow.codeVerifier,
        ...(flow.link === undefined ? {} : { l: flow.link }),
        t: Math.floor(this.clock.now().getTime() / 1000),
      }),
    ).toString('base64url');
    return `v1.${payload}.${mac(key, payload)}`;
  }

  /** The login a cookie value holds, if this server signed it and it is not older than OIDC_FLOW_MAX_AGE. */
  read(value: string | undefined): OidcFlow | undefined {
    const match = value === undefined ? null : SHAPE.exec(value);
    if (!match) return undefined;
    const [, payload = '', signature = ''] = match;
    // Compared in constant time: the MAC must not be guessable byte by byte from answer times.
    if (!this.keys.some((key) => timingSafeEqualStrings(mac(key, payload), signature))) return undefined;
    let parsed: { p?: unknown; s?: unknown; n?: unknown; v?: unknown; l?: unknown; t?: unknown };
    try {
      parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as typeof parsed;
    } catch {
      return undefined;
    }
    const { p, s, n, v, l, t } = parsed;
    if (typeof p !== 'string' || typeof s !== 'string' || typeof n !== 'string' || typeof v !== 'string')
      return undefined;
    const age = this.clock.now().getTime() / 1000 - Number(t);
    if (!(age >= 0 && age <= OIDC_FLOW_MAX_AGE)) return undefined;
    if (l !== undefined && !Number.isSafeInteger(l)) return undefined;
    return { provider: p, state: s, nonce: n, codeVerifier: v, ...(typeof l === 'number' ? { link: l } : {}) };
  }
}

function mac(key: Buffer, body: string): string {
  return crypto.createHmac('sha256', key).update(body).digest('base64url');
}
