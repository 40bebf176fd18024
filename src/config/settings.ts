/**
 * Every setting the server reads, declared once: its name, its parser, its default, its documentation and its group.
 *
 * `loadConfig` (config.ts) parses them; docs/configuration.md and .env.example are generated from them by
 * `npm run docs:settings` (documentation.ts), and test/docs.test.ts fails when those files are stale.
 *
 * A default is written as it would be in the environment and read by the setting's own parser, so the value and its
 * documentation cannot drift apart. A setting whose default is not one value (it depends on other settings or on the
 * machine, or is "unset") says so in `unset`, and config.ts computes it.
 */
import { z } from 'zod';
import {
  EXPLORERS,
  HASHER_ALGORITHMS,
  PASSWORD_VALIDATORS,
  authenticationBackends,
  eventListeners,
  installedApps,
  booleanFlag,
  cookieName,
  corsOrigins,
  httpUrl,
  nonEmptyText,
  oidcProviders,
  passwordHashers,
  passwordValidators,
  postgresUrl,
  resetUrlTemplate,
  secretList,
  trustProxy,
  urlWithScheme,
  wholeNumber,
} from './parsers.js';

/** The sections of docs/configuration.md and .env.example, in order, each with what its settings have in common. */
export const SETTING_GROUPS = {
  server: {
    title: 'Server',
    doc:
      'Where the server listens and how it sees its clients. `.env` is read at start by the server, the manage ' +
      'and migrate commands and the MikroORM CLI; variables set in the environment win over it.',
  },
  logging: { title: 'Logging', doc: 'One line per event: readable on a terminal, JSON otherwise.' },
  database: {
    title: 'Database',
    doc:
      'A PostgreSQL server named by `DATABASE_URL`, or, when it is unset, the embedded PostgreSQL (PGlite) keeping its ' +
      'data in `DATA_DIR`. Start-up never creates the database: `npm run manage -- createdb` does.',
  },
  sessions: {
    title: 'Sessions',
    doc:
      'The session cookie, how long a session lives, and where sessions are kept. Behind a TLS-terminating proxy, set ' +
      '`TRUST_PROXY` too, or Secure cookies are never sent.',
  },
  accounts: { title: 'Accounts', doc: 'Who may log in, and how, and who may create an account.' },
  oidc: {
    title: 'OpenID Connect login',
    doc:
      'Logging in with accounts at identity providers (the authorization code flow with PKCE, state and nonce; ' +
      'discovery and signing keys through `openid-client`). Register `$OIDC_REDIRECT_BASE/auth/oidc/<name>/callback` ' +
      'as the redirect URI at each provider; docs/oidc.md.',
  },
  passwords: {
    title: 'Passwords',
    doc:
      "Hashers and validators, as Django's `PASSWORD_HASHERS` and `AUTH_PASSWORD_VALIDATORS`. A password stored with " +
      'another hasher, or other parameters, is rehashed with the first at the next login.',
  },
  mail: {
    title: 'Password reset and e-mail',
    doc:
      'The reset link is a page of your front-end that calls `resetPassword(uid, token, newPassword)`. E-mail goes ' +
      'to the log (console) or through an SMTP server.',
  },
  graphql: {
    title: 'GraphQL',
    doc:
      'Introspection and the explorer (on outside production, off in it), cross-origin access, and limits on one ' +
      'operation, refused before it runs with a generic "Query validation error." (graphql-armor).',
  },
  lockout: {
    title: 'Lockout and rate limits',
    doc:
      'Brute-force lockout (django-axes) and limits per account and per client address, all checked before any ' +
      'password is hashed. Counters live with the sessions (PostgreSQL or Redis).',
  },
  audit: {
    title: 'Audit log',
    doc:
      'Security events (logins, failures, lockouts, password changes, grants, tokens, impersonation) kept in ' +
      '`gqlauth_audit_event`, written in the background, read by staff with `auditEvents`, pruned by ' +
      '`npm run manage -- pruneaudit`.',
  },
} as const;

export type SettingGroup = keyof typeof SETTING_GROUPS;

/** One setting. `D` is the type of its default: a string when it has one value, undefined when it does not. */
export interface Setting<T = unknown, D extends string | undefined = string | undefined> {
  readonly group: SettingGroup;
  /** Reads the environment's text into the value; its messages name what is wrong with the value. */
  readonly parse: z.ZodType<T>;
  /** The default, written as in the environment and read by `parse`. */
  readonly default: D;
  /** What happens when unset, in words between parentheses, for a setting whose default is not one value. */
  readonly unset: string | undefined;
  /** A good value, shown when the variable is wrong. */
  readonly example: string;
  /** What the setting does, in a sentence or two (Markdown). */
  readonly doc: string;
}

interface Declaration<T, D extends string | undefined> {
  readonly group: SettingGroup;
  readonly parse: z.ZodType<T>;
  readonly default?: D;
  readonly unset?: string;
  readonly example: string;
  readonly doc: string;
}

function setting<T, const D extends string | undefined = undefined>(declaration: Declaration<T, D>): Setting<T, D> {
  return {
    group: declaration.group,
    parse: declaration.parse,
    default: declaration.default as D,
    unset: declaration.unset,
    example: declaration.example,
    doc: declaration.doc,
  };
}

/** Every environment variable the server reads, in the order of the documentation. */
export const settings = {
  NODE_ENV: setting({
    group: 'server',
    parse: z.enum(['development', 'production', 'test']),
    default: 'development',
    example: 'production',
    doc: '`development`, `production` or `test`. Production: no explorer, no introspection, `SESSION_SECRET` required.',
  }),
  HOST: setting({
    group: 'server',
    parse: nonEmptyText,
    default: '127.0.0.1',
    example: '0.0.0.0',
    doc: 'Interface to listen on. `0.0.0.0` in a container.',
  }),
  PORT: setting({
    group: 'server',
    parse: wholeNumber(0, 65535),
    default: '4000',
    example: '4000',
    doc: 'Port to listen on (`0`: any free port).',
  }),
  PUBLIC_URL: setting({
    group: 'server',
    parse: httpUrl,
    unset: '(http://localhost:$PORT)',
    example: 'https://api.example.com',
    doc: 'Where clients reach the server, as they see it (scheme, host, port): used by checks and e-mails.',
  }),
  TRUST_PROXY: setting({
    group: 'server',
    parse: trustProxy,
    default: 'false',
    example: '1',
    doc:
      'Which proxies may set `X-Forwarded-*`: `true`, `false`, a hop count (`1` behind one load balancer), or ' +
      "addresses/subnets (`loopback`, `10.0.0.0/8`, ...), as Express's `trust proxy`.",
  }),
  TRUST_PROXY_ACKNOWLEDGED: setting({
    group: 'server',
    parse: booleanFlag,
    default: 'false',
    example: 'true',
    doc:
      "With `TRUST_PROXY=true`: every hop in front is yours. Without it any client chooses its own address for the lockout's " +
      'counts, so production refuses `true` without it (`security.E018`).',
  }),
  SHUTDOWN_TIMEOUT_MS: setting({
    group: 'server',
    parse: wholeNumber(0, 600_000),
    default: '10000',
    example: '10000',
    doc: 'How long in-flight requests may run after SIGTERM/SIGINT before their connections are cut.',
  }),
  WEB_CONCURRENCY: setting({
    group: 'server',
    parse: wholeNumber(1, 1024),
    default: '1',
    example: '4',
    doc:
      'Server processes on this machine (node:cluster, one port; a worker that dies is replaced): e.g. the number of ' +
      'cores. More than 1 needs `DATABASE_URL`.',
  }),
  LOG_LEVEL: setting({
    group: 'logging',
    parse: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    default: 'info',
    example: 'info',
    doc: '`fatal`, `error`, `warn`, `info`, `debug`, `trace`, `silent`.',
  }),
  LOG_FORMAT: setting({
    group: 'logging',
    parse: z.enum(['json', 'pretty']),
    unset: '(pretty in development on a terminal, else json)',
    example: 'json',
    doc: '`json` (one JSON object a line) or `pretty` (a readable line each). Piped or in production: JSON.',
  }),
  DATABASE_URL: setting({
    group: 'database',
    parse: postgresUrl,
    unset: '(unset: embedded)',
    example: 'postgres://app:secret@127.0.0.1:5432/app',
    doc: 'A PostgreSQL server, `postgres://user:password@host:5432/database`. Unset: the embedded database in `DATA_DIR`.',
  }),
  DATABASE_POOL_SIZE: setting({
    group: 'database',
    parse: wholeNumber(1, 1000),
    default: '10',
    example: '10',
    doc: 'Connections to the server, plus one for the statements every request runs. (The embedded database takes 8.)',
  }),
  DATABASE_CONNECT_TIMEOUT_MS: setting({
    group: 'database',
    parse: wholeNumber(100, 600_000),
    default: '5000',
    example: '5000',
    doc: 'How long to wait for the server to answer a new connection.',
  }),
  DATA_DIR: setting({
    group: 'database',
    parse: nonEmptyText,
    default: '.data',
    example: '.data',
    doc: 'Folder of the embedded database, relative to the working directory. One server process at a time may use it.',
  }),
  MIGRATE_ON_START: setting({
    group: 'database',
    parse: booleanFlag,
    default: 'true',
    example: 'true',
    doc: 'Apply pending migrations at start-up. `false` to run `npm run migrate` as a deployment step instead.',
  }),
  SESSION_SECRET: setting({
    group: 'sessions',
    parse: secretList,
    unset: '(development only: a fixed insecure value)',
    example: 'a-random-string-of-32-or-more-characters',
    doc:
      'Signs session cookies. A comma-separated list rotates them: the first signs, all verify. Production requires ' +
      'it, each secret 32+ characters (e.g. from `openssl rand -base64 48`).',
  }),
  SESSION_COOKIE_NAME: setting({
    group: 'sessions',
    parse: cookieName,
    default: 'sessionid',
    example: 'sessionid',
    doc: "The session cookie's name.",
  }),
  SESSION_COOKIE_DOMAIN: setting({
    group: 'sessions',
    parse: z.string().regex(/^\.?[A-Za-z0-9.-]+$/, 'is not a domain name'),
    unset: '(unset: the exact host)',
    example: 'example.com',
    doc: 'Set to share the cookie with subdomains (`.example.com`).',
  }),
  SESSION_COOKIE_PATH: setting({
    group: 'sessions',
    parse: z.string().regex(/^\/[^;\s]*$/, 'is not a path starting with /'),
    default: '/',
    example: '/',
    doc: "The cookie's path.",
  }),
  SESSION_COOKIE_SECURE: setting({
    group: 'sessions',
    parse: booleanFlag,
    unset: '(true in production)',
    example: 'true',
    doc: 'Send the cookie over HTTPS only. Behind a TLS-terminating proxy, set `TRUST_PROXY` too.',
  }),
  SESSION_COOKIE_SAMESITE: setting({
    group: 'sessions',
    parse: z.enum(['lax', 'strict', 'none']),
    default: 'lax',
    example: 'lax',
    doc: '`lax`, `strict` or `none` (`none` needs Secure).',
  }),
  SESSION_IDLE_TIMEOUT: setting({
    group: 'sessions',
    parse: wholeNumber(60, 31_536_000),
    default: '1209600',
    example: '1209600',
    doc: 'Seconds without activity after which a session ends (2 weeks).',
  }),
  SESSION_ABSOLUTE_TIMEOUT: setting({
    group: 'sessions',
    parse: wholeNumber(60, 31_536_000),
    default: '2592000',
    example: '2592000',
    doc: 'Seconds after login after which a session ends however active (30 days).',
  }),
  SESSION_TOUCH_INTERVAL: setting({
    group: 'sessions',
    parse: wholeNumber(0, 86_400),
    default: '60',
    example: '60',
    doc: 'Activity is recorded (one write) at most once per this many seconds. Shorter than `SESSION_IDLE_TIMEOUT`.',
  }),
  SESSION_STORE: setting({
    group: 'sessions',
    parse: z.enum(['postgres', 'redis']),
    default: 'postgres',
    example: 'redis',
    doc: "Where sessions are kept: `postgres` (the app's database, table `gqlauth_session`) or `redis` (`REDIS_URL`).",
  }),
  REDIS_URL: setting({
    group: 'sessions',
    parse: urlWithScheme(['redis:', 'rediss:']),
    unset: '(required with SESSION_STORE=redis)',
    example: 'redis://127.0.0.1:6379/0',
    doc: 'The Redis server, `redis://[:password@]host:6379/0` (`rediss://` for TLS).',
  }),
  REDIS_KEY_PREFIX: setting({
    group: 'sessions',
    parse: z.string().regex(/^[A-Za-z0-9_.:-]{0,64}$/, 'is not up to 64 letters, digits and ._:-'),
    default: 'gqlauth:',
    example: 'myapp:',
    doc: 'Prepended to every Redis key, so that several apps can share one Redis.',
  }),
  AUTHENTICATION_BACKENDS: setting({
    group: 'accounts',
    parse: authenticationBackends,
    default: 'model',
    example: 'model,./backends/ldap.js',
    doc:
      'Backends tried in order: `model` (username and password), `email` (e-mail and password), or a module path or ' +
      'package name whose default export is a backend (docs/extending.md).',
  }),
  INSTALLED_APPS: setting({
    group: 'accounts',
    parse: installedApps,
    unset: '(none)',
    example: './examples/polls/index.ts',
    doc:
      'Apps (paths or package names) whose default export is `defineApp({...})`: their models, permissions, ' +
      'migrations, SDL, resolvers and policies join the server, in this order (docs/apps.md).',
  }),
  EVENT_LISTENERS: setting({
    group: 'accounts',
    parse: eventListeners,
    unset: '(none)',
    example: './listeners/audit.js',
    doc:
      'Modules (paths or package names) whose default export subscribes to the auth events: logged in, login ' +
      'failed, logged out, password changed, locked out (docs/extending.md).',
  }),
  REGISTRATION_OPEN: setting({
    group: 'accounts',
    parse: booleanFlag,
    default: 'false',
    example: 'true',
    doc: 'Whether anyone may create an account with `register` (`REGISTRATION_CLOSED` otherwise).',
  }),
  ACCESS_TOKEN_MAX_AGE: setting({
    group: 'accounts',
    parse: wholeNumber(60, 315_360_000),
    default: '31536000',
    example: '7776000',
    doc:
      'Seconds a personal access token may live at most (1 year): `createAccessToken` refuses a later `expiresAt`, ' +
      'and a token created without one expires after this long.',
  }),
  ACCESS_TOKEN_ENDS_WITH_PASSWORD: setting({
    group: 'accounts',
    parse: booleanFlag,
    default: 'true',
    example: 'false',
    doc:
      "Whether a change of the owner's password ends their access tokens at their next use, as it ends their " +
      'sessions (Django).',
  }),
  SECRET_ENCRYPTION_KEYS: setting({
    group: 'accounts',
    parse: secretList,
    unset: '(derived from SESSION_SECRET)',
    example: 'a-random-string-of-32-or-more-characters',
    doc:
      "Encrypt TOTP secrets at rest (AES-256-GCM) and key the recovery codes' hashes. A comma-separated list " +
      'rotates them: the first encrypts, all decrypt. Unset, the session secrets are used: then dropping an old ' +
      "SESSION_SECRET makes the TOTP devices it encrypted unreadable (their users need an administrator's reset).",
  }),
  SECOND_FACTOR_TIMEOUT: setting({
    group: 'accounts',
    parse: wholeNumber(30, 3600),
    default: '300',
    example: '300',
    doc: 'Seconds a password login of an account with TOTP waits for its code (`verifyTotp`) before it must start over.',
  }),
  STEP_UP_MAX_AGE: setting({
    group: 'accounts',
    parse: wholeNumber(30, 31_536_000),
    default: '900',
    example: '600',
    doc:
      'Seconds an authentication counts as recent for the fields marked `@auth(stepUp: true)` (creating a token, ' +
      'granting power, recovery codes): older, they answer `REAUTHENTICATION_REQUIRED` until `reauthenticate`.',
  }),
  TOTP_ISSUER: setting({
    group: 'accounts',
    parse: nonEmptyText,
    default: 'graphql-auth-server',
    example: 'Example Inc.',
    doc: 'The issuer an authenticator app shows next to the username (in the `otpauth://` URI).',
  }),
  OIDC_PROVIDERS: setting({
    group: 'oidc',
    parse: oidcProviders,
    unset: '(none)',
    example:
      '[{"name":"google","issuer":"https://accounts.google.com","clientId":"...","clientSecret":"...","label":"Google"}]',
    doc:
      'A JSON list of providers: `name` (in URLs and sessions), `issuer` (https), `clientId`, `clientSecret`, and ' +
      'optionally `scopes` (default `["email","profile"]`, `openid` always), `label`, and `trustAmr` (default false: ' +
      "true lets its ID token's `amr` saying mfa or otp stand for the account's own second factor). A provider " +
      'removed from the list ends the sessions it started.',
  }),
  OIDC_LINK_VERIFIED_EMAIL: setting({
    group: 'oidc',
    parse: booleanFlag,
    default: 'false',
    example: 'true',
    doc:
      "Whether a provider's login reaches an existing account with the same e-mail address, when the provider says " +
      'it verified the address (`email_verified`) and exactly one active account has it. Never for an unverified one.',
  }),
  OIDC_REDIRECT_BASE: setting({
    group: 'oidc',
    parse: httpUrl,
    unset: '($PUBLIC_URL)',
    example: 'https://api.example.com',
    doc: 'Where the provider sends the browser back: the callback is `<this>/auth/oidc/<name>/callback`.',
  }),
  OIDC_LANDING_URL: setting({
    group: 'oidc',
    parse: httpUrl,
    unset: '($PUBLIC_URL)',
    example: 'https://app.example.com/login/done',
    doc:
      'The front-end page the browser lands on after the callback, with `?oidc=logged_in`, ' +
      '`?oidc=second_factor_required` or `?error=<CODE>`. Fixed here, never taken from a request (no open redirect).',
  }),
  PASSWORD_HASHERS: setting({
    group: 'passwords',
    parse: passwordHashers,
    default: HASHER_ALGORITHMS.join(','),
    example: 'argon2,pbkdf2_sha256',
    doc: 'Hashers in order: the first hashes new passwords, all verify. A module path or package name adds your own.',
  }),
  ARGON2_MEMORY_KIB: setting({
    group: 'passwords',
    parse: wholeNumber(8, 4_194_304),
    default: '19456',
    example: '19456',
    doc: "argon2id memory in KiB. The defaults are OWASP's minimum (19 MiB, 2 passes, 1 lane), about 30-40 ms a hash.",
  }),
  ARGON2_TIME_COST: setting({
    group: 'passwords',
    parse: wholeNumber(1, 100),
    default: '2',
    example: '2',
    doc: 'argon2id passes.',
  }),
  ARGON2_PARALLELISM: setting({
    group: 'passwords',
    parse: wholeNumber(1, 64),
    default: '1',
    example: '1',
    doc: 'argon2id lanes.',
  }),
  PBKDF2_ITERATIONS: setting({
    group: 'passwords',
    parse: wholeNumber(1, 100_000_000),
    default: '1000000',
    example: '1000000',
    doc: "pbkdf2 iterations, when a pbkdf2 hasher is first (Django 5.2's default).",
  }),
  BCRYPT_ROUNDS: setting({
    group: 'passwords',
    parse: wholeNumber(4, 31),
    default: '12',
    example: '12',
    doc: "bcrypt's log2 cost, when a bcrypt hasher is first.",
  }),
  PASSWORD_HASHING_CONCURRENCY: setting({
    group: 'passwords',
    parse: wholeNumber(1, 1024),
    unset: '(CPU cores - 1, at least 1)',
    example: '1',
    doc:
      'How many password hashes run at once. One core is left to the event loop, so a burst of logins does not stall ' +
      'other requests; logins beyond it wait their turn.',
  }),
  PASSWORD_HASHING_NICE: setting({
    group: 'passwords',
    parse: wholeNumber(0, 19),
    default: '10',
    example: '10',
    doc:
      'Nice value (0 to 19) of the hashing threads (Linux): when they and the event loop want one core, at 10 the ' +
      'loop gets 10× their share, so under load logins slow down rather than every other request. `0`: unchanged.',
  }),
  PASSWORD_VALIDATORS: setting({
    group: 'passwords',
    parse: passwordValidators,
    default: PASSWORD_VALIDATORS.join(','),
    example: 'min_length,common',
    doc:
      "Password rules, in order (Django's four): `similarity` (to the username, names and e-mail), `min_length`, " +
      "`common` (Django's list and zxcvbn's), `numeric` (entirely digits), or a module path or package name of your " +
      'own (docs/extending.md). A maximum length of 4096 always applies.',
  }),
  PASSWORD_MIN_LENGTH: setting({
    group: 'passwords',
    parse: wholeNumber(1, 4096),
    default: '8',
    example: '12',
    doc: 'For `min_length`.',
  }),
  PASSWORD_RESET_TIMEOUT: setting({
    group: 'mail',
    parse: wholeNumber(60, 31_536_000),
    default: '259200',
    example: '3600',
    doc: "Seconds a password reset link stays valid (3 days, Django's default).",
  }),
  PASSWORD_RESET_URL: setting({
    group: 'mail',
    parse: resetUrlTemplate,
    unset: '($PUBLIC_URL/reset-password?uid={uid}&token={token})',
    example: 'https://app.example.com/reset/{uid}/{token}',
    doc: "The link sent by `requestPasswordReset`, your front-end's page; `{uid}` and `{token}` are replaced.",
  }),
  MAIL_BACKEND: setting({
    group: 'mail',
    parse: z.enum(['console', 'smtp']),
    unset: '(smtp when SMTP_URL is set, else console)',
    example: 'smtp',
    doc: '`console` writes e-mails to the log (development); `smtp` sends them through `SMTP_URL`.',
  }),
  SMTP_URL: setting({
    group: 'mail',
    parse: urlWithScheme(['smtp:', 'smtps:']),
    unset: '(unset)',
    example: 'smtps://user:password@smtp.example.com:465',
    doc: 'The mail server, `smtp://user:password@host:587` (STARTTLS when offered) or `smtps://...:465` (TLS).',
  }),
  MAIL_FROM: setting({
    group: 'mail',
    parse: z.string().trim().min(3, 'is too short'),
    default: 'webmaster@localhost',
    example: 'Example <no-reply@example.com>',
    doc: "The sender of e-mails (Django's `DEFAULT_FROM_EMAIL`), `Name <address>` or an address.",
  }),
  GRAPHQL_INTROSPECTION: setting({
    group: 'graphql',
    parse: booleanFlag,
    unset: '(true outside production)',
    example: 'false',
    doc: 'Whether `__schema` queries are answered.',
  }),
  GRAPHQL_EXPLORER: setting({
    group: 'graphql',
    parse: z.enum(EXPLORERS),
    unset: '(graphiql outside production, else off)',
    example: 'graphiql',
    doc: "What a browser opening `/graphql` gets: `graphiql` (served here, works offline), `sandbox` (Apollo Sandbox, from Apollo's CDN) or `off`.",
  }),
  GRAPHQL_LANDING_PAGE: setting({
    group: 'graphql',
    parse: booleanFlag,
    unset: '(true outside production)',
    example: 'false',
    doc: 'The older switch: `false` is `GRAPHQL_EXPLORER=off`, `true` the default explorer.',
  }),
  CORS_ORIGINS: setting({
    group: 'graphql',
    parse: corsOrigins,
    unset: '(unset: no cross-origin access)',
    example: 'https://app.example.com',
    doc: 'Origins allowed to call `/graphql` from a browser, comma-separated (`https://app.example.com`), or `*`.',
  }),
  CORS_CREDENTIALS: setting({
    group: 'graphql',
    parse: booleanFlag,
    default: 'true',
    example: 'true',
    doc: 'Whether those origins may send the session cookie. Never with `*` (browsers refuse it; `check --deploy` says so).',
  }),
  GRAPHQL_MAX_DEPTH: setting({
    group: 'graphql',
    parse: wholeNumber(1, 1000),
    default: '8',
    example: '8',
    doc: 'Deepest selection nesting an operation may have.',
  }),
  GRAPHQL_MAX_ALIASES: setting({
    group: 'graphql',
    parse: wholeNumber(0, 100_000),
    default: '15',
    example: '15',
    doc: 'Most aliases in an operation.',
  }),
  GRAPHQL_MAX_TOKENS: setting({
    group: 'graphql',
    parse: wholeNumber(10, 10_000_000),
    default: '1000',
    example: '1000',
    doc: 'Most tokens in a document (checked while parsing).',
  }),
  GRAPHQL_MAX_COST: setting({
    group: 'graphql',
    parse: wholeNumber(1, 1_000_000_000),
    default: '5000',
    example: '5000',
    doc: "Highest estimated cost (graphql-armor's: 2 per object, 1 per scalar, times 1.5 per level).",
  }),
  GRAPHQL_MAX_DIRECTIVES: setting({
    group: 'graphql',
    parse: wholeNumber(0, 100_000),
    default: '50',
    example: '50',
    doc: 'Most directives in an operation.',
  }),
  MAX_BODY_BYTES: setting({
    group: 'graphql',
    parse: wholeNumber(1024, 104_857_600),
    default: '102400',
    example: '102400',
    doc: 'Largest request body; a bigger one gets 413 before it is parsed.',
  }),
  LOCKOUT_LIMIT: setting({
    group: 'lockout',
    parse: wholeNumber(0, 1000),
    default: '5',
    example: '5',
    doc:
      'Failed logins (or password changes, or reset links) allowed within the cool-off; the next is refused with ' +
      '`TOO_MANY_ATTEMPTS`. `0`: no lockout.',
  }),
  LOCKOUT_COOLOFF: setting({
    group: 'lockout',
    parse: wholeNumber(1, 31_536_000),
    default: '900',
    example: '900',
    doc: 'Seconds a lockout lasts, from the failure that reached the limit; failures older than this are forgotten.',
  }),
  LOCKOUT_BY: setting({
    group: 'lockout',
    parse: z.enum(['username_ip', 'username', 'ip']),
    default: 'username_ip',
    example: 'username_ip',
    doc: "What failures are counted by: `username_ip` (django-axes' default), `username`, or `ip`.",
  }),
  LOCKOUT_ACCOUNT_LIMIT: setting({
    group: 'lockout',
    parse: wholeNumber(0, 1_000_000),
    default: '100',
    example: '100',
    doc:
      'Failed logins one account takes per window from browsers without its device cookie, whatever their ' +
      'addresses; browsers with it are counted apart, so the owner is not locked out. `0`: no such limit.',
  }),
  LOCKOUT_ACCOUNT_WINDOW: setting({
    group: 'lockout',
    parse: wholeNumber(60, 31_536_000),
    default: '3600',
    example: '3600',
    doc: 'Seconds of that window: it starts with the first failure; reaching the limit refuses such attempts for a whole window.',
  }),
  LOCKOUT_SECOND_FACTOR_LIMIT: setting({
    group: 'lockout',
    parse: wholeNumber(0, 1_000_000),
    default: '10',
    example: '10',
    doc:
      'Wrong TOTP or recovery codes one account takes in a row from browsers without its device cookie, whatever ' +
      'their addresses, before such checks are refused for `LOCKOUT_SECOND_FACTOR_WINDOW`; a completed login starts ' +
      'the count again. Apart from passwords: whoever knows the password gets no more guesses at six digits. `0`: no ' +
      'such limit.',
  }),
  LOCKOUT_SECOND_FACTOR_WINDOW: setting({
    group: 'lockout',
    parse: wholeNumber(60, 31_536_000),
    default: '86400',
    example: '86400',
    doc: 'Seconds a failure counts toward `LOCKOUT_SECOND_FACTOR_LIMIT`, and that reaching it refuses such checks.',
  }),
  LOCKOUT_DEVICE_COOKIE_NAME: setting({
    group: 'lockout',
    parse: cookieName,
    default: 'gqlauth_device',
    example: 'gqlauth_device',
    doc: "The cookie a successful login leaves in the browser (OWASP's device cookie), so that its owner is counted apart.",
  }),
  LOCKOUT_DEVICE_COOKIE_AGE: setting({
    group: 'lockout',
    parse: wholeNumber(60, 315_360_000),
    default: '31536000',
    example: '31536000',
    doc: 'Seconds a device cookie is kept and honoured.',
  }),
  CREDENTIAL_RATE_LIMIT: setting({
    group: 'lockout',
    parse: wholeNumber(0, 1_000_000),
    default: '60',
    example: '60',
    doc:
      'Credential checks (logins, registrations, password changes, reset links) one client address may ask for per ' +
      'window. Raise it behind a shared NAT. `0`: any.',
  }),
  CREDENTIAL_RATE_WINDOW: setting({
    group: 'lockout',
    parse: wholeNumber(1, 86_400),
    default: '60',
    example: '60',
    doc: 'Seconds of that window.',
  }),
  CREDENTIAL_CONCURRENCY: setting({
    group: 'lockout',
    parse: wholeNumber(0, 10_000),
    default: '1',
    example: '1',
    doc: 'Credential checks one client address may have running at once; the next waits (up to 3 s) for one to end. `0`: any.',
  }),
  PASSWORD_RESET_EMAIL_LIMIT: setting({
    group: 'lockout',
    parse: wholeNumber(0, 1_000_000),
    default: '3',
    example: '3',
    doc: 'Reset e-mails one account gets per reset window, whoever asks; the answer stays `true`. `0`: any.',
  }),
  PASSWORD_RESET_ADDRESS_LIMIT: setting({
    group: 'lockout',
    parse: wholeNumber(0, 1_000_000),
    default: '10',
    example: '10',
    doc: 'Reset requests one client address may make per reset window; the answer stays `true`. `0`: any.',
  }),
  PASSWORD_RESET_WINDOW: setting({
    group: 'lockout',
    parse: wholeNumber(60, 31_536_000),
    default: '3600',
    example: '3600',
    doc: "Seconds of the reset limits' window.",
  }),
  AUDIT_RETENTION_DAYS: setting({
    group: 'audit',
    parse: wholeNumber(0, 36_500),
    default: '365',
    example: '365',
    doc: 'Days an audit event is kept: `pruneaudit` deletes older ones (schedule it daily). `0`: kept forever.',
  }),
  AUDIT_QUEUE_LIMIT: setting({
    group: 'audit',
    parse: wholeNumber(1, 1_000_000),
    default: '10000',
    example: '10000',
    doc:
      'Events waiting to be written, at most, while the database is slow or down; past it new events are dropped ' +
      '(and their number logged as an error) rather than held in memory or making requests wait.',
  }),
} as const;

export type SettingName = keyof typeof settings;

/** A setting's value once read: never undefined when the setting has a default. */
export type SettingValue<S extends Setting> = S['default'] extends string
  ? z.output<S['parse']>
  : z.output<S['parse']> | undefined;

/** The value of every setting, read from the environment or its default. */
export type SettingValues = { -readonly [K in SettingName]: SettingValue<(typeof settings)[K]> };
