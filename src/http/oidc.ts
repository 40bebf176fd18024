/**
 * OpenID Connect on the wire: the cookie that keeps a login in progress (src/auth/oidc-flow.ts) and the browser's
 * two stops at this server.
 *
 *   GET /auth/oidc/<provider>/login     sets the cookie, 303 to the provider (a link or a button's navigation)
 *   GET /auth/oidc/<provider>/callback  where the provider sends the browser back: logs in (or links), clears the
 *                                       cookie, and 303 to OIDC_LANDING_URL with ?oidc=logged_in,
 *                                       ?oidc=second_factor_required, ?oidc=linked or ?error=<CODE>
 *
 * (`oidcLoginUrl(provider:)`, the GraphQL mutation, is the login route's other form: it sets the same cookie and
 * answers the URL; `oidcLinkUrl(provider:)` starts a link for the logged-in user, by GraphQL only, so that no other
 * site can start one in the user's browser.) The landing page is the setting's, never a URL from the request: no open redirect.
 */
import express, { type Request, type RequestHandler, type Response, type Router } from 'express';
import type { EntityManager } from '@mikro-orm/postgresql';
import { OIDC_FLOW_MAX_AGE } from '../auth/oidc-flow.js';
import type { SessionFlow } from '../services/session-flow.js';
import { OidcLoginRefused } from '../services/errors.js';
import { OidcLogins, type OidcLoginDeps } from '../services/oidc-logins.js';
import type { Config } from '../config/index.js';
import type { Logger } from '../logger.js';
import type { OidcFlowCookie } from '../graphql/context.js';
import { graphQLErrorOf } from '../graphql/errors.js';

/** The cookie's name: apart from the session cookie, which a login replaces. */
export const OIDC_FLOW_COOKIE = 'gqlauth_oidc';

/** The flow cookie of one request: read from its Cookie header, set and cleared on its answer. */
export class OidcFlowCookieJar implements OidcFlowCookie {
  constructor(
    private readonly req: Request,
    private readonly config: Config,
  ) {}

  read(): string | undefined {
    for (const pair of (this.req.get('cookie') ?? '').split(';')) {
      const separator = pair.indexOf('=');
      if (separator > 0 && pair.slice(0, separator).trim() === OIDC_FLOW_COOKIE)
        return pair.slice(separator + 1).trim();
    }
    return undefined;
  }

  write(value: string): void {
    this.req.res?.cookie(OIDC_FLOW_COOKIE, value, { ...this.options(), maxAge: OIDC_FLOW_MAX_AGE * 1000 });
  }

  clear(): void {
    this.req.res?.clearCookie(OIDC_FLOW_COOKIE, this.options());
  }

  private options() {
    const { cookieSecure } = this.config.session;
    return {
      // Script never needs it: what it holds (the PKCE verifier) must not leave the browser.
      httpOnly: true,
      secure: cookieSecure,
      // Lax, whatever SESSION_COOKIE_SAMESITE says: the provider sends the browser back by a cross-site top-level
      // GET, on which Strict would not send it (and the login would fail as missing).
      sameSite: 'lax' as const,
      // Sent to the callbacks only, of this host only: never SESSION_COOKIE_DOMAIN, under which a sibling host could
      // read the flow or toss its own in (its state and code in a victim's browser: a login CSRF).
      path: this.config.oidc.callbackPath,
    };
  }
}

export interface OidcRouteDeps extends Omit<OidcLoginDeps, 'em' | 'session' | 'config'> {
  readonly config: Config;
  readonly logger: Logger;
  /** Loads the session the request's cookie names (express-session, as /graphql has it). */
  readonly session: RequestHandler;
  /** A fresh EntityManager and the request's session flow. */
  forRequest(req: Request): { em: EntityManager; session: SessionFlow };
}

export function oidcRoutes(deps: OidcRouteDeps): Router {
  const router = express.Router();
  const { config, logger } = deps;
  const logins = (req: Request) => new OidcLogins({ ...deps, ...deps.forRequest(req) });

  // The URL of the callback (code, state) must not reach the landing page, nor any other, as a Referer.
  const noReferrer: RequestHandler = (_req, res, next) => {
    res.setHeader('Referrer-Policy', 'no-referrer');
    next();
  };

  router.get('/:provider/login', noReferrer, (req, res) => {
    const provider = providerOf(req);
    logins(req)
      .start(provider)
      .then(
        ({ url, flow }) => {
          new OidcFlowCookieJar(req, config).write(flow);
          res.redirect(303, url);
        },
        (error: unknown) => {
          land(res, config, { error: codeOf(error, logger) });
        },
      );
  });

  router.get('/:provider/callback', noReferrer, deps.session, (req, res) => {
    const provider = providerOf(req);
    const cookie = new OidcFlowCookieJar(req, config);
    const flow = cookie.read();
    // One use, whatever the outcome: a login in progress is never finished twice.
    cookie.clear();
    const query = new URLSearchParams(req.originalUrl.split('?')[1] ?? '');
    logins(req)
      .finish(provider, query, flow)
      .then(
        (outcome) => {
          const landing = { complete: 'logged_in', second_factor_required: 'second_factor_required', linked: 'linked' };
          land(res, config, { oidc: landing[outcome] });
        },
        (error: unknown) => {
          land(res, config, { error: codeOf(error, logger) });
        },
      );
  });
  return router;
}

function providerOf(req: Request): string {
  const { provider } = req.params;
  return typeof provider === 'string' ? provider : '';
}

/** 303 to the landing page, with the outcome in its query. */
function land(res: Response, config: Config, outcome: Record<string, string>): void {
  const url = new URL(config.oidc.landingUrl);
  for (const [key, value] of Object.entries(outcome)) url.searchParams.set(key, value);
  res.redirect(303, url.toString());
}

/** The code the browser lands with: a refusal's own, or what the GraphQL layer would answer. Never a stack. */
function codeOf(error: unknown, logger: Logger): string {
  if (error instanceof OidcLoginRefused) return error.code;
  // One code for each fact: the catalogue's, as the GraphQL answers give it.
  const known = graphQLErrorOf(error)?.extensions.code;
  if (typeof known === 'string') return known;
  logger.error({ err: error }, 'OpenID Connect login failed');
  return 'INTERNAL_SERVER_ERROR';
}
