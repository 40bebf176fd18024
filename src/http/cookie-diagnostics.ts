/**
 * Why the browser will not keep the session cookie a login just set: said in the log at that login, naming what
 * to change. The login itself answers success either way, and the next request is anonymous: "the login works,
 * then I am logged out". Each case is one a real deployment ran into (issue 19's founding incident).
 */
import type { Request } from 'express';
import { domainMatches } from '../checks/config.js';
import type { SessionConfig, TrustProxy } from '../config/index.js';
import type { Logger } from '../logger.js';

/** The nginx line every TLS-terminating nginx needs in front of this server. */
export const NGINX_FORWARDED_PROTO = 'proxy_set_header X-Forwarded-Proto $scheme;';

/** Logs a warning if the browser will not keep (or was not sent) the session cookie of this login. */
export function warnIfSessionCookieLost(req: Request, config: SessionConfig, logger: Logger): void {
  if (config.cookieSecure && !req.secure) {
    warnSecureCookieNotSent(req, logger);
    return;
  }
  const browserHost = hostTheBrowserUsed(req);
  if (config.cookieDomain !== undefined && browserHost && !domainMatches(browserHost.name, config.cookieDomain)) {
    const { cookieDomain } = config;
    logger.warn(
      { cookieDomain, host: browserHost.name },
      `login succeeded but the browser will drop the session cookie: SESSION_COOKIE_DOMAIN=${cookieDomain} does ` +
        `not match ${browserHost.name}, the host this login was sent to (production's settings on another ` +
        `server?). Unset SESSION_COOKIE_DOMAIN, or set it to ${browserHost.name} or a parent domain of it` +
        (browserHost.fromOrigin
          ? ''
          : `; if the browser used another name, make the proxy pass it on (nginx: proxy_set_header Host $host;)`),
    );
    return;
  }
  if (config.sameSite !== 'none') warnIfCrossSite(req, config, logger);
}

/**
 * express-session sends no Secure cookie on a request it believes is plain HTTP. This server speaks plain HTTP, so
 * a request is https only when a proxy that TRUST_PROXY trusts says `X-Forwarded-Proto: https`: say which link of
 * that chain is missing.
 */
function warnSecureCookieNotSent(req: Request, logger: Logger): void {
  const forwardedProto = req.get('x-forwarded-proto');
  // The value app.ts gave Express: TRUST_PROXY as configured.
  const trustProxy = req.app.get('trust proxy') as TrustProxy;
  const trustConfigured = trustProxy !== false && trustProxy !== 0;
  const peer = req.socket.remoteAddress ?? '';
  let advice: string;
  if (peerTrusted(req, peer)) {
    advice =
      forwardedProto === undefined
        ? `TRUST_PROXY is set, but the proxy sent no X-Forwarded-Proto, so the request counts as plain HTTP: the ` +
          `proxy must send it (nginx: ${NGINX_FORWARDED_PROTO})`
        : `the proxy says the browser used plain HTTP (X-Forwarded-Proto: ${forwardedProto}): serve the site over ` +
          'https only, redirecting http; if TLS ends at a proxy before this one, pass its X-Forwarded-Proto on';
  } else if (trustConfigured) {
    advice =
      `the request came from ${peer}, which TRUST_PROXY=${Array.isArray(trustProxy) ? trustProxy.join(',') : String(trustProxy)} does not trust, so its ` +
      'X-Forwarded-Proto was ignored: add the proxy’s address to TRUST_PROXY';
  } else {
    advice =
      'Behind a TLS-terminating proxy, set TRUST_PROXY (e.g. TRUST_PROXY=1) so that X-Forwarded-Proto: https counts' +
      (forwardedProto === undefined ? `, and make the proxy send it (nginx: ${NGINX_FORWARDED_PROTO})` : '');
  }
  logger.warn(
    { xForwardedProto: forwardedProto ?? null, protocol: req.protocol, ip: req.ip, trustProxy },
    'login succeeded but no session cookie was sent: SESSION_COOKIE_SECURE is on and this request looked like ' +
      `plain HTTP. ${advice}`,
  );
}

/** Whether TRUST_PROXY believes the X-Forwarded-* headers of the hop this request came from. */
function peerTrusted(req: Request, peer: string): boolean {
  const trust: unknown = req.app.get('trust proxy fn');
  try {
    return typeof trust === 'function' && (trust as (address: string, hop: number) => boolean)(peer, 0);
  } catch {
    return false;
  }
}

/**
 * The host name in the URL the browser sent this login to. On a same-origin request the browser's own Origin names
 * it, whatever the proxy did to Host; otherwise Host (or X-Forwarded-Host from a trusted proxy).
 */
function hostTheBrowserUsed(req: Request): { name: string; fromOrigin: boolean } | undefined {
  if (req.get('sec-fetch-site') === 'same-origin') {
    const origin = originOf(req.get('origin'));
    if (origin) return { name: origin.hostname.replace(/^\[|\]$/g, ''), fromOrigin: true };
  }
  return req.hostname ? { name: req.hostname.replace(/^\[|\]$/g, ''), fromOrigin: false } : undefined;
}

/**
 * A page on another site called the API: browsers neither keep nor send a SameSite=Lax or Strict cookie on such a
 * request. The browser's own verdict (Sec-Fetch-Site: cross-site) decides, not a guess from host names, so a proxy
 * rewriting Host (a development server's proxy) raises no false alarm. A top-level navigation keeps Lax cookies.
 */
function warnIfCrossSite(req: Request, config: SessionConfig, logger: Logger): void {
  if (req.get('sec-fetch-site') !== 'cross-site' || req.get('sec-fetch-mode') === 'navigate') return;
  // The page's address: Origin on every cross-site fetch; Referer where a browser sent no Origin.
  const page = originOf(req.get('origin')) ?? originOf(req.get('referer'));
  if (!page) return;
  const host = req.hostname.replace(/^\[|\]$/g, '');
  const pageHost = page.hostname.replace(/^\[|\]$/g, '');
  const fix =
    isLoopback(host) && isLoopback(pageHost)
      ? `Use one host name for both: open the page at ${page.protocol}//${req.hostname}${page.port ? `:${page.port}` : ''}, ` +
        `or have it call the API at ${pageHost}`
      : 'Serve the page and the API on one site (e.g. app.example.com and api.example.com), or set ' +
        'SESSION_COOKIE_SAMESITE=none (it needs Secure cookies, over https)';
  logger.warn(
    { pageOrigin: page.origin, host },
    `login succeeded but the browser will not keep the session cookie: the page at ${page.origin} calls the server ` +
      `at ${host}, another site to the browser, and a SESSION_COOKIE_SAMESITE=${config.sameSite} cookie is neither ` +
      `kept nor sent across sites. ${fix}`,
  );
}

function originOf(value: string | undefined): URL | undefined {
  if (!value || value === 'null') return undefined;
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host.endsWith('.localhost') || /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1';
}
