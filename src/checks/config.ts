/**
 * Checks of the settings alone, each drawn from a way logins fail in real deployments ("login succeeds, then I am
 * logged out", "works locally, not behind the load balancer") or from a way they become unsafe.
 *
 * Those tagged `deploy` judge the settings as production settings: `check --deploy` runs them whatever NODE_ENV
 * says (security.W001 says when it is not production), and the server logs them at start-up in production. The
 * others break logins in any environment and always run.
 */
import { isIP } from 'node:net';
import {
  DEVELOPMENT_SESSION_SECRET,
  MIN_SECRET_LENGTH,
  isWeakSecret,
  trustsEveryHop,
  type Config,
  type HasherAlgorithm,
} from '../config/index.js';
import { error, warning, type CheckResult } from './index.js';

interface ConfigCheck {
  /**
   * Run only for `check --deploy` (and logged at start-up in production). 'production': also whenever NODE_ENV is
   * production, for what the server itself refuses there (so that plain `check` does not pass what `start` fails).
   */
  readonly deploy: boolean | 'production';
  run(config: Config, env: NodeJS.ProcessEnv): CheckResult | CheckResult[] | undefined;
}

/**
 * OWASP's argon2id minimums (Password Storage Cheat Sheet): any one of these memory (KiB) and pass pairs, with
 * one lane. More memory with fewer passes, or the reverse, resists GPU cracking about equally.
 */
export const OWASP_ARGON2_MINIMUMS: readonly { memoryKiB: number; timeCost: number }[] = [
  { memoryKiB: 47_104, timeCost: 1 },
  { memoryKiB: 19_456, timeCost: 2 },
  { memoryKiB: 12_288, timeCost: 3 },
  { memoryKiB: 9_216, timeCost: 4 },
  { memoryKiB: 7_168, timeCost: 5 },
];

/** OWASP's minimums for the other hashers new passwords may be hashed with. */
const OWASP_OTHER_MINIMUMS: Partial<Record<HasherAlgorithm, (config: Config) => string | undefined>> = {
  pbkdf2_sha256: ({ passwords }) =>
    passwords.pbkdf2Iterations < 600_000
      ? `PBKDF2_ITERATIONS=${passwords.pbkdf2Iterations} (at least 600000)`
      : undefined,
  pbkdf2_sha1: ({ passwords }) =>
    passwords.pbkdf2Iterations < 1_300_000
      ? `PBKDF2_ITERATIONS=${passwords.pbkdf2Iterations} (at least 1300000 with SHA-1)`
      : undefined,
  bcrypt: ({ passwords }) =>
    passwords.bcryptRounds < 10 ? `BCRYPT_ROUNDS=${passwords.bcryptRounds} (at least 10)` : undefined,
  bcrypt_sha256: ({ passwords }) =>
    passwords.bcryptRounds < 10 ? `BCRYPT_ROUNDS=${passwords.bcryptRounds} (at least 10)` : undefined,
};

function publicUrlOf(config: Config): URL {
  return new URL(config.publicUrl);
}

/** RFC 6265's domain-match: the host is the domain, or ends with "." and the domain; never for an IP address. */
export function domainMatches(host: string, cookieDomain: string): boolean {
  const domain = cookieDomain.replace(/^\./, '').toLowerCase();
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (name === domain) return true;
  return isIP(name) === 0 && name.endsWith(`.${domain}`);
}

const checks: readonly ConfigCheck[] = [
  {
    deploy: true,
    run: (config) =>
      config.isProduction
        ? undefined
        : warning(
            'security.W001',
            `NODE_ENV is ${config.nodeEnv}: the checks below judge these settings as if it were production.`,
            'Set NODE_ENV=production where the server is deployed (it turns Secure cookies on and the explorer off).',
          ),
  },
  {
    deploy: 'production',
    run: (config, env) => {
      if (!env.SESSION_SECRET?.trim())
        return error(
          'security.E002',
          'SESSION_SECRET is not set: production refuses to start without it.',
          'Set SESSION_SECRET to a random value of 32 bytes or more, e.g. $(openssl rand -base64 48).',
        );
      const results: CheckResult[] = [];
      // Published in this project's source: anyone could sign a session cookie for any user.
      if (config.session.secrets.includes(DEVELOPMENT_SESSION_SECRET))
        results.push(
          error(
            'security.E003',
            'SESSION_SECRET is the development default, which is published: anyone can forge session cookies.',
            'Set SESSION_SECRET to a random value of 32 bytes or more, e.g. $(openssl rand -base64 48).',
          ),
        );
      const short = config.session.secrets.filter(
        (secret) => secret !== DEVELOPMENT_SESSION_SECRET && isWeakSecret(secret),
      );
      if (short.length > 0)
        results.push(
          error(
            'security.E004',
            `SESSION_SECRET has ${short.length} secret(s) shorter than ${MIN_SECRET_LENGTH} bytes: short secrets can be guessed offline from one cookie.`,
            'Use random secrets of 32 bytes or more, e.g. $(openssl rand -base64 48); keep the old one after it, comma-separated, while rotating.',
          ),
        );
      return results;
    },
  },
  {
    deploy: true,
    run: (config) =>
      config.session.cookieSecure
        ? undefined
        : error(
            'security.E005',
            'SESSION_COOKIE_SECURE is off: the session cookie also travels over plain HTTP, where anyone on the path can read it.',
            'Remove SESSION_COOKIE_SECURE=false (production defaults to true); behind a TLS-terminating proxy set TRUST_PROXY as well.',
          ),
  },
  {
    deploy: false,
    run: (config) =>
      config.session.sameSite === 'none' && !config.session.cookieSecure
        ? error(
            'security.E006',
            'SESSION_COOKIE_SAMESITE=none without Secure: browsers reject the cookie, so every login is forgotten at once.',
            'Set SESSION_COOKIE_SECURE=true (and serve over HTTPS), or use SESSION_COOKIE_SAMESITE=lax.',
          )
        : undefined,
  },
  {
    deploy: false,
    run: (config) => {
      const domain = config.session.cookieDomain;
      const host = publicUrlOf(config).hostname;
      if (domain === undefined || domainMatches(host, domain)) return undefined;
      return error(
        'security.E007',
        `SESSION_COOKIE_DOMAIN=${domain} does not match ${host}, the host of PUBLIC_URL: browsers reject the cookie, so every login is forgotten at once.`,
        `Unset SESSION_COOKIE_DOMAIN (the cookie then belongs to ${host}), or set it to ${host} or a parent domain of it; check PUBLIC_URL too.`,
      );
    },
  },
  {
    deploy: false,
    run: (config) => {
      const url = publicUrlOf(config);
      if (url.protocol !== 'https:' || (config.trustProxy !== false && config.trustProxy !== 0)) return undefined;
      // This server speaks plain HTTP only: an https PUBLIC_URL means a proxy terminates TLS in front of it.
      if (!config.session.cookieSecure)
        return warning(
          'security.W016',
          `PUBLIC_URL is https (${url.origin}) but TRUST_PROXY is unset: every client has the proxy's address, and no request counts as https.`,
          'Set TRUST_PROXY to the number of proxies in front of the server (TRUST_PROXY=1 for one load balancer), or to their addresses.',
        );
      return error(
        'security.E008',
        `PUBLIC_URL is https (${url.origin}) but TRUST_PROXY is unset: the server believes every request is plain HTTP, so it sends no Secure cookie and logins do not stick.`,
        'Set TRUST_PROXY to the number of proxies in front of the server (TRUST_PROXY=1 for one load balancer), or to their addresses.',
      );
    },
  },
  {
    deploy: false,
    run: (config, env) => {
      if (!config.session.cookieSecure) return undefined;
      // express-session sends a Secure cookie only on a request it sees as https: on plain HTTP, localhost
      // included, none is ever sent.
      if (env.PUBLIC_URL?.trim()) {
        const url = publicUrlOf(config);
        if (url.protocol !== 'http:') return undefined;
        return error(
          'security.E009',
          `Session cookies are Secure but PUBLIC_URL is plain HTTP (${url.origin}): no session cookie is ever sent, so logins do not stick.`,
          'Serve the API over HTTPS (behind a proxy: TRUST_PROXY) and set PUBLIC_URL=https://...; for a local test over HTTP, SESSION_COOKIE_SECURE=false.',
        );
      }
      // PUBLIC_URL unset says nothing of how browsers reach the server. This server speaks plain HTTP, so a request
      // counts as https only through a trusted proxy's X-Forwarded-Proto: with TRUST_PROXY, logins work.
      if (config.trustProxy !== false && config.trustProxy !== 0) return undefined;
      return error(
        'security.E009',
        'Session cookies are Secure but TRUST_PROXY is unset: this server speaks plain HTTP and believes no proxy, so no request counts as https, no session cookie is ever sent, and logins do not stick.',
        'Behind a TLS-terminating proxy, set TRUST_PROXY (TRUST_PROXY=1 for one proxy) and PUBLIC_URL=https://...; for a local test over HTTP, SESSION_COOKIE_SECURE=false.',
      );
    },
  },
  {
    deploy: false,
    run: (config) => {
      const { cookieName, cookieSecure, cookiePath, cookieDomain } = config.session;
      // Browsers drop a prefixed cookie that breaks its prefix's rules (RFC 6265bis, cookie prefixes).
      const hostPrefixBroken =
        cookieName.startsWith('__Host-') && (!cookieSecure || cookiePath !== '/' || cookieDomain !== undefined);
      const securePrefixBroken = cookieName.startsWith('__Secure-') && !cookieSecure;
      if (!hostPrefixBroken && !securePrefixBroken) return undefined;
      return error(
        'security.E010',
        `SESSION_COOKIE_NAME=${cookieName} has a prefix whose rules the cookie breaks: browsers reject it.`,
        cookieName.startsWith('__Host-')
          ? '__Host- cookies need SESSION_COOKIE_SECURE=true, SESSION_COOKIE_PATH=/ and no SESSION_COOKIE_DOMAIN.'
          : '__Secure- cookies need SESSION_COOKIE_SECURE=true.',
      );
    },
  },
  {
    deploy: true,
    run: ({ graphql }) => [
      ...(graphql.introspection
        ? [
            warning(
              'security.W011',
              'Introspection is on: anyone can list every operation and field of the API.',
              'Set GRAPHQL_INTROSPECTION=false (the default in production).',
            ),
          ]
        : []),
      ...(graphql.explorer !== 'off'
        ? [
            warning(
              'security.W012',
              `The explorer (GRAPHQL_EXPLORER=${graphql.explorer}) is on: /graphql serves it to anyone.`,
              'Set GRAPHQL_EXPLORER=off (the default in production).',
            ),
          ]
        : []),
    ],
  },
  {
    deploy: true,
    run: (config) => {
      const [preferred] = config.passwords.hashers;
      // A custom hasher's cost is its own to know: judged only by its author.
      if (typeof preferred !== 'string') return undefined;
      if (preferred !== 'argon2') {
        const weak = OWASP_OTHER_MINIMUMS[preferred]?.(config);
        return weak === undefined
          ? undefined
          : warning(
              'security.W014',
              `New passwords are hashed with ${preferred} at ${weak}, below OWASP's minimum.`,
              'Put argon2 first in PASSWORD_HASHERS, or raise the cost to at least the minimum.',
            );
      }
      const { memoryCost, timeCost } = config.passwords.argon2;
      const enough = OWASP_ARGON2_MINIMUMS.some((pair) => memoryCost >= pair.memoryKiB && timeCost >= pair.timeCost);
      if (enough) return undefined;
      return error(
        'security.E013',
        `argon2 runs with ARGON2_MEMORY_KIB=${memoryCost} and ARGON2_TIME_COST=${timeCost}, below OWASP's minimum: stolen hashes crack faster.`,
        "Use one of OWASP's pairs, e.g. the default ARGON2_MEMORY_KIB=19456 with ARGON2_TIME_COST=2, or 47104 with 1.",
      );
    },
  },
  {
    deploy: false,
    run: ({ cors }) =>
      cors?.origins === '*' && cors.credentials
        ? error(
            'security.E015',
            'CORS_ORIGINS=* with CORS_CREDENTIALS on: browsers refuse credentialed answers to any origin, so cross-origin logins fail; reflecting the origin instead would let every site act as the logged-in user.',
            'List the front-end origins in CORS_ORIGINS (https://app.example.com,...), or set CORS_CREDENTIALS=false.',
          )
        : undefined,
  },
  {
    deploy: 'production',
    run: ({ trustProxy, trustProxyAcknowledged }) => {
      if (!trustsEveryHop(trustProxy)) return undefined;
      const what =
        `TRUST_PROXY=${String(trustProxy)} trusts every hop: a client that reaches the server other than through your proxies writes ` +
        'any address into X-Forwarded-For, and the per-address lockout and credential limits count what it wrote.';
      const hint =
        'Set TRUST_PROXY to the number of proxies in front (TRUST_PROXY=1 for one load balancer) or to their ' +
        'addresses or subnets (TRUST_PROXY=10.0.0.0/8).';
      return trustProxyAcknowledged
        ? warning('security.W019', what, `${hint} TRUST_PROXY_ACKNOWLEDGED=true says the risk is known.`)
        : error(
            'security.E018',
            `${what} Production refuses it unless TRUST_PROXY_ACKNOWLEDGED=true.`,
            `${hint} If only your proxies can reach the server, set TRUST_PROXY_ACKNOWLEDGED=true.`,
          );
    },
  },
  {
    deploy: true,
    run: ({ lockout }) =>
      lockout.limit === 0
        ? warning(
            'security.W017',
            'LOCKOUT_LIMIT=0: the brute-force lockout is off, and passwords may be guessed as fast as the server hashes.',
            'Remove LOCKOUT_LIMIT (the default locks after 5 failures for LOCKOUT_COOLOFF=900 seconds).',
          )
        : undefined,
  },
  {
    deploy: true,
    run: ({ mail }) =>
      mail.backend === 'console'
        ? warning(
            'mail.W001',
            'MAIL_BACKEND is console: e-mails, password reset links included, go to the log and reach nobody.',
            'Set SMTP_URL to your mail relay.',
          )
        : undefined,
  },
  {
    deploy: true,
    run: ({ passwordReset, publicUrl }) =>
      passwordReset.urlTemplate.startsWith(`${publicUrl}/reset-password?`)
        ? warning(
            'mail.W002',
            'PASSWORD_RESET_URL is the default, a page this API server does not serve: reset links lead nowhere.',
            "Set PASSWORD_RESET_URL to your front-end's reset page, with {uid} and {token} in it.",
          )
        : undefined,
  },
  {
    deploy: true,
    run: ({ oidc }) => {
      // The code exchange and the provider's keys travel this way: only TLS keeps them from being read or changed.
      const plain = oidc.providers.filter((provider) => new URL(provider.issuer).protocol === 'http:');
      return plain.length === 0
        ? undefined
        : error(
            'oidc.E001',
            `OIDC_PROVIDERS names ${plain.map((provider) => provider.name).join(', ')} with a plain http issuer (on this machine): a production provider must be https.`,
            'Use the provider’s https issuer; plain http is for a provider started on a loopback address in tests.',
          );
    },
  },
  {
    deploy: true,
    run: ({ oidc, publicUrl }) =>
      oidc.providers.length > 0 && oidc.landingUrl === publicUrl
        ? warning(
            'oidc.W002',
            'OIDC_LANDING_URL is the default, PUBLIC_URL, where this API serves no page: after a provider’s login the browser lands nowhere.',
            'Set OIDC_LANDING_URL to the front-end page that reads ?oidc= and ?error= (docs/oidc.md).',
          )
        : undefined,
  },
  {
    deploy: false,
    run: ({ oidc, session }) =>
      // The provider sends the browser back by a cross-site GET, on which a Strict cookie is not sent: the callback
      // of a link (oidcLinkUrl) sees nobody logged in, and refuses every one.
      oidc.providers.length > 0 && session.sameSite === 'strict'
        ? warning(
            'oidc.W003',
            'SESSION_COOKIE_SAMESITE=strict with OIDC_PROVIDERS: the session cookie is not sent back from the provider, so linking a provider (oidcLinkUrl) always fails with OIDC_LINK_USER_CHANGED.',
            'Use SESSION_COOKIE_SAMESITE=lax (the default) where users link providers; logins through them work either way.',
          )
        : undefined,
  },
];

/** The settings' problems: the always-run checks, plus the production ones when `deploy`. */
export function configChecks(config: Config, env: NodeJS.ProcessEnv, { deploy }: { deploy: boolean }): CheckResult[] {
  return checks
    .filter((check) => deploy || !check.deploy || (check.deploy === 'production' && config.isProduction))
    .flatMap((check) => {
      const result = check.run(config, env);
      return result === undefined ? [] : Array.isArray(result) ? result : [result];
    });
}
