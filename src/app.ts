/**
 * The Express application, in the order a request meets it:
 * proxy trust → request id and log → health probes → explorer files → CORS → explorer page → session → body parsing
 * (bounded) → /graphql; then /auth/oidc/ (the OpenID Connect login's redirect and callback, with the session) → JSON
 * errors.
 */
import cors from 'cors';
import express, { type Express, type Request, type RequestHandler } from 'express';
import type { ApolloServer } from '@apollo/server';
import type { Auth } from './auth/index.js';
import { ObjectPermissionChecker } from './auth/object-permissions.js';
import type { Clock } from './auth/clock.js';
import type { Config, CorsConfig } from './config/index.js';
import type { Database } from './db/database.js';
import { RequestAuthorization } from './graphql/authorization.js';
import type { GraphQLContext } from './graphql/context.js';
import { errorHandler } from './http/errors.js';
import { EXPLORER_ASSETS_PATH, explorerAssets, explorerPage } from './http/explorer.js';
import { healthRoutes, type Lifecycle } from './http/health.js';
import { clientIpOf, requestIdOf, requestLogging } from './http/request-log.js';
import { sessionMiddleware } from './http/session.js';
import { ExpressSessionStore } from './http/express-session-store.js';
import { apolloMiddleware } from './http/apollo-middleware.js';
import { jsonBody } from './http/json-body.js';
import { ExpressSessionHandle } from './http/session-handle.js';
import { RequestAuth } from './auth/request-auth.js';
import { RecoveryCodes } from './auth/recovery-codes.js';
import { SecretBox } from './auth/secret-box.js';
import { TotpDevices } from './auth/totp-devices.js';
import type { SecondFactorParts } from './graphql/context.js';
import type { SessionStore } from './stores/session-store.js';
import type { Logger } from './logger.js';
import type { Mailer } from './mail/index.js';
import type { Lockout } from './auth/lockout.js';
import { DeviceCookieJar } from './http/device-cookie.js';
import type { AccessTokens } from './auth/access-tokens.js';
import type { BearerGuard } from './auth/bearer-guard.js';
import { bearerAuthentication, unlessBearer } from './http/bearer.js';
import { OidcFlowCookieJar, oidcRoutes } from './http/oidc.js';
import { oidcClients } from './auth/oidc-client.js';
import { OidcFlows } from './auth/oidc-flow.js';
import { OIDC_CALLBACK_PREFIX } from './config/index.js';

export interface AppParts {
  config: Config;
  auth: Auth;
  clock: Clock;
  logger: Logger;
  database: Database;
  /** Where sessions are kept; startServer opens it before listening and closes it after draining. */
  sessionStore: SessionStore;
  apollo: ApolloServer<GraphQLContext>;
  lifecycle: Lifecycle;
  mailer: Mailer;
  lockout: Lockout;
  /** Personal access tokens, and the count of bad ones per address. */
  accessTokens: AccessTokens;
  bearerGuard: BearerGuard;
}

/** Cross-origin access to /graphql for the origins CORS_ORIGINS lists (Apollo's CSRF prevention stays on). */
function corsMiddleware({ origins, credentials }: CorsConfig): RequestHandler {
  // With credentials and '*', browsers refuse the answer: `check` reports it (security.E015). The
  // origin is never reflected instead: that would let every site act with the visitor's session.
  return cors({ origin: origins === '*' ? '*' : [...origins], credentials, maxAge: 600 });
}

/**
 * Answers are per user (a `me`, a permission denied): no browser or proxy cache may keep one. Apollo's cache-control
 * plugin sent the same header, after computing a cache hint for every field of every answer; it is disabled.
 */
const noStore: RequestHandler = (_req, res, next) => {
  res.setHeader('Cache-Control', 'no-store');
  next();
};

export function createApp({
  config,
  auth,
  clock,
  logger,
  database,
  sessionStore: store,
  apollo,
  lifecycle,
  mailer,
  lockout,
  accessTokens,
  bearerGuard,
}: AppParts): Express {
  const app = express();
  // TOTP secrets and recovery codes, under SECRET_ENCRYPTION_KEYS (or the session secrets).
  const box = new SecretBox(config.secondFactor.encryptionKeys);
  const secondFactor: SecondFactorParts = {
    totp: new TotpDevices(box, { issuer: config.secondFactor.issuer }, clock),
    recoveryCodes: new RecoveryCodes(box, clock),
  };
  // express-session is the cookie layer; the sessions themselves are in `store`, read with their user.
  const expressStore = new ExpressSessionStore(store, config.session, clock, config.secondFactor.pendingTimeoutSeconds);
  app.disable('x-powered-by');
  // An answer depends on the session and is sent once: an ETag (a hash of every body) would never save a byte.
  app.set('etag', false);
  // Which hops may set X-Forwarded-*: decides req.ip, req.protocol and so whether a request counts as https.
  app.set('trust proxy', config.trustProxy);

  // First: every later line of the request's log, and every error it answers, carries its id.
  app.use(requestLogging(logger));
  app.use(healthRoutes(database, store, lifecycle));
  // During the drain, a request that still arrives (on a connection that was busy when shutdown began: idle ones are
  // closed at once) is refused with 503 and `Connection: close`, so that its client (a load balancer) sends it again
  // elsewhere rather than to a process that is going away. The probes above keep answering (readiness says 503).
  app.use((req, res, next) => {
    if (!lifecycle.shuttingDown) {
      next();
      return;
    }
    res.set('Connection', 'close');
    res.status(503).json({
      errors: [
        {
          message: 'The server is shutting down; try again.',
          extensions: { code: 'SERVICE_UNAVAILABLE', requestId: requestIdOf(req) },
        },
      ],
    });
  });

  // One relying party per provider for the process (discovery and the providers' keys are cached in it).
  const oidc = { clients: oidcClients(config.oidc, clock), flows: new OidcFlows(config.session.secrets, clock) };
  const session = sessionMiddleware(config.session, expressStore, logger);
  const requestAuthOf = (req: Request) => {
    const em = database.orm.em.fork();
    const handle = new ExpressSessionHandle(req, expressStore, config.session, logger);
    return {
      em,
      auth: new RequestAuth(
        handle,
        em,
        {
          auth,
          clock,
          rules: config.session,
          store,
          logger,
          secondFactor: {
            isEnabled: (manager, userId) => secondFactor.totp.isEnabled(manager, userId),
            pendingTimeoutSeconds: config.secondFactor.pendingTimeoutSeconds,
          },
        },
        req.accessToken,
      ),
    };
  };

  const graphiql = config.graphql.explorer === 'graphiql';
  if (graphiql) app.use(EXPLORER_ASSETS_PATH, explorerAssets());
  app.use(
    '/graphql',
    // Before the session: a preflight is answered here and never touches the store.
    ...(config.cors ? [corsMiddleware(config.cors)] : []),
    noStore,
    // A browser's GET gets the explorer's page; it needs no session.
    ...(graphiql ? [explorerPage()] : []),
    // `Authorization: Bearer <token>`: verified (or refused, 401) before the session, which such a request skips.
    bearerAuthentication({ tokens: accessTokens, guard: bearerGuard, database, clock, logger }),
    unlessBearer(session),
    // A GraphQL operation is text, and a big one is an attack, not a query: refused (413) by its Content-Length
    // before a byte is parsed, or as soon as a chunked body passes the limit.
    jsonBody(config.graphql.maxBodyBytes),
    apolloMiddleware(apollo, {
      context: ({ req }) => {
        const { em, auth: requestAuth } = requestAuthOf(req);
        const permissions = auth.permissions(em);
        const { accessToken } = req;
        // A token limited to some permissions: its owner holds, for this request, what they hold within them.
        if (accessToken?.scopes) permissions.limitTo(accessToken.user.id, accessToken.scopes);
        const objectPermissions = new ObjectPermissionChecker(em, permissions);
        return Promise.resolve({
          em,
          logger,
          authCore: auth,
          auth: requestAuth,
          permissions,
          objectPermissions,
          authorization: new RequestAuthorization(
            requestAuth,
            permissions,
            objectPermissions,
            logger,
            clock,
            config.secondFactor.stepUpMaxAgeSeconds,
          ),
          config,
          mailer,
          lockout,
          clientIp: clientIpOf(req),
          deviceCookie: new DeviceCookieJar(req, config),
          accessTokens,
          secondFactor,
          clock,
          oidc: { ...oidc, cookie: new OidcFlowCookieJar(req, config) },
        });
      },
    }),
  );
  // The browser's stops in an OpenID Connect login: the redirect to a provider, and the provider's callback.
  app.use(
    OIDC_CALLBACK_PREFIX.replace(/\/$/, ''),
    noStore,
    oidcRoutes({
      ...oidc,
      config,
      logger,
      session,
      core: auth,
      forRequest: (req) => {
        const { em, auth: requestAuth } = requestAuthOf(req);
        return { em, session: requestAuth };
      },
    }),
  );

  app.use((req, res) => {
    res
      .status(404)
      .json({ errors: [{ message: 'Not found', extensions: { code: 'NOT_FOUND', requestId: requestIdOf(req) } }] });
  });
  app.use(errorHandler(logger));
  return app;
}
