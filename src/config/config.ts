/**
 * The one reader of the environment.
 *
 * Every setting is declared once in settings.ts (its parser, default, example and documentation). `loadConfig()`
 * reads them all at start-up, validates them and the rules between them, and returns one frozen, typed object.
 * Nothing else in the project reads `process.env`.
 *
 * A bad value throws a `ConfigError` whose message has one line per bad variable, naming it, saying what is
 * wrong with the value and showing a good one. `main.ts` prints those lines and exits 1.
 */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import {
  trustsEveryHop,
  type ModuleEntry,
  type Pluggable,
  type AUTHENTICATION_BACKENDS,
  type EXPLORERS,
  type HASHER_ALGORITHMS,
  type OidcProviderSetting,
  type PASSWORD_VALIDATORS,
  type TrustProxy,
} from './parsers.js';
import { settings, type SettingName, type SettingValues } from './settings.js';

export type NodeEnv = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** `auto`: readable lines in development when stdout is a terminal, JSON otherwise (decided where the log is opened). */
export type LogFormat = 'auto' | 'json' | 'pretty';
export type Explorer = (typeof EXPLORERS)[number];

export interface Config {
  readonly nodeEnv: NodeEnv;
  readonly isProduction: boolean;
  readonly host: string;
  readonly port: number;
  /** Where clients reach the server, as they see it (scheme, host, port): used by later checks and e-mails. */
  readonly publicUrl: string;
  readonly trustProxy: TrustProxy;
  /** TRUST_PROXY=true is meant: every hop in front of the server is a proxy of the operator's. */
  readonly trustProxyAcknowledged: boolean;
  readonly logLevel: LogLevel;
  readonly logFormat: LogFormat;
  readonly database: DatabaseConfig;
  readonly session: SessionConfig;
  /** How long in-flight requests may run after SIGTERM/SIGINT before their connections are cut. */
  readonly shutdownTimeoutMs: number;
  /** Server processes on this machine (node:cluster): 1 runs the server in this process. */
  readonly webConcurrency: number;
  readonly passwords: PasswordConfig;
  /** Authentication backends, tried in this order. */
  readonly authenticationBackends: readonly Pluggable<AuthenticationBackendName>[];
  /** Modules whose default export subscribes to the auth events (EVENT_LISTENERS), in this order. */
  readonly eventListeners: readonly ModuleEntry[];
  /** Apps whose models, migrations and schema join the server's (INSTALLED_APPS), in this order. */
  readonly installedApps: readonly ModuleEntry[];
  /** Whether anyone may create an account with the `register` mutation. */
  readonly registrationOpen: boolean;
  /** Logging in with OpenID Connect providers (OIDC_*). */
  readonly oidc: OidcConfig;
  readonly accessTokens: AccessTokenConfig;
  readonly secondFactor: SecondFactorConfig;
  readonly passwordReset: PasswordResetConfig;
  readonly mail: MailConfig;
  readonly graphql: GraphQLConfig;
  readonly lockout: LockoutConfig;
  readonly audit: AuditConfig;
  /** Cross-origin access to /graphql; undefined: none (browsers allow only the server's own origin). */
  readonly cors: CorsConfig | undefined;
}

export interface GraphQLConfig {
  /**
   * Whether `__schema` queries are answered (they tell an attacker every operation); when off, validation errors
   * make no "Did you mean ...?" suggestions either (they tell the same, one field at a time).
   */
  readonly introspection: boolean;
  /**
   * What GET /graphql shows a browser: GraphiQL served by this server (no other host is asked for anything), Apollo
   * Sandbox (loaded from Apollo's CDN, so only online), or nothing.
   */
  readonly explorer: Explorer;
  /** Refused before execution when exceeded (graphql-armor). */
  readonly limits: {
    readonly depth: number;
    readonly aliases: number;
    readonly tokens: number;
    readonly cost: number;
    readonly directives: number;
  };
  /** Largest request body, in bytes: a bigger one gets 413 before it is values. */
  readonly maxBodyBytes: number;
}

/** OpenID Connect login: see docs/oidc.md. */
export interface OidcConfig {
  /** The providers, each also an authentication backend named `oidc:<name>`. */
  readonly providers: readonly OidcProviderSetting[];
  /** A verified e-mail address may reach the one active account that has it. */
  readonly linkVerifiedEmail: boolean;
  /** The callbacks are `<redirectBase>/auth/oidc/<name>/callback`. */
  readonly redirectBase: string;
  /** Their path as the browser sees it (OIDC_REDIRECT_BASE's path, then /auth/oidc/): the flow cookie's path. */
  readonly callbackPath: string;
  /** The front-end page the browser lands on after a callback. */
  readonly landingUrl: string;
}

/** The path of every provider's callback, under OIDC_REDIRECT_BASE. */
export const OIDC_CALLBACK_PREFIX = '/auth/oidc/';

/** The callbacks' path as browsers see it: under the path of `base` (a proxy may serve the API under /api, say). */
function oidcCallbackPath(base: string | undefined): string {
  const path = base === undefined ? '' : new URL(base).pathname.replace(/\/$/, '');
  return `${path}${OIDC_CALLBACK_PREFIX}`;
}

/** The audit log: see src/audit/. */
export interface AuditConfig {
  /** Days an event is kept (the pruneaudit command deletes older ones); 0: forever. */
  readonly retentionDays: number;
  /** Events waiting to be written, at most; past it new ones are dropped and counted. */
  readonly queueLimit: number;
}

/** The TOTP second factor and step-up: see src/auth/totp-devices.ts and docs/second-factor.md. */
export interface SecondFactorConfig {
  /** SECRET_ENCRYPTION_KEYS, or the session secrets: the first encrypts, all decrypt. */
  readonly encryptionKeys: readonly string[];
  /** How long a password login waits for its second factor. */
  readonly pendingTimeoutSeconds: number;
  /** How recent an authentication `@auth(stepUp: true)` asks for. */
  readonly stepUpMaxAgeSeconds: number;
  readonly issuer: string;
}

/** Personal access tokens: see src/auth/access-tokens.ts. */
export interface AccessTokenConfig {
  /** The longest a token may live, in seconds (also how long one created without an expiry lives). */
  readonly maxAgeSeconds: number;
  /** Whether a password change ends the owner's tokens (at their next use). */
  readonly endWithPassword: boolean;
}

/** Brute-force lockout (django-axes): see src/auth/lockout.ts. */
export interface LockoutConfig {
  /** Failed attempts allowed within the cool-off; the next is refused. 0: no lockout. */
  readonly limit: number;
  /** How long a lockout lasts, and how long a failure is remembered, in seconds. */
  readonly cooloffSeconds: number;
  /** What failures are counted by. */
  readonly by: 'username_ip' | 'username' | 'ip';
  /** Failed logins one account takes from browsers it does not know, whatever their addresses. 0: no such limit. */
  readonly accountLimit: number;
  /** The account limit's window, in seconds: it starts with the first failure, and reaching the limit starts another. */
  readonly accountWindowSeconds: number;
  /**
   * Wrong second-factor codes one account takes in a row from browsers it does not know, whatever their addresses,
   * before such checks are refused for a window. 0: no such limit.
   */
  readonly secondFactorLimit: number;
  /** That window, in seconds. */
  readonly secondFactorWindowSeconds: number;
  /** The cookie that marks a browser where the account logged in before (OWASP's device cookie). */
  readonly deviceCookieName: string;
  /** How long a device cookie is kept and honoured, in seconds. */
  readonly deviceCookieAgeSeconds: number;
  /** Credential checks (login, register, password change, reset) one client address may ask for per window. 0: any. */
  readonly addressLimit: number;
  /** The address limit's window, in seconds. */
  readonly addressWindowSeconds: number;
  /** Credential checks one client address may have running at once; the next waits for one to end. 0: any. */
  readonly addressConcurrency: number;
  /** Password reset e-mails one account gets per reset window, whoever asks. 0: any. */
  readonly resetEmailLimit: number;
  /** Password reset requests one client address may make per reset window. 0: any. */
  readonly resetAddressLimit: number;
  /** The reset limits' window, in seconds. */
  readonly resetWindowSeconds: number;
}

export interface CorsConfig {
  /** The origins allowed to call /graphql from a browser, or '*' for any. */
  readonly origins: '*' | readonly string[];
  /** Whether those origins may send the session cookie (Access-Control-Allow-Credentials). */
  readonly credentials: boolean;
}

export interface PasswordResetConfig {
  /** Seconds a reset token stays valid (Django's PASSWORD_RESET_TIMEOUT). */
  readonly timeoutSeconds: number;
  /** The link sent by e-mail, with `{uid}` and `{token}` in it. */
  readonly urlTemplate: string;
}

export type MailConfig =
  | { readonly backend: 'console'; readonly from: string }
  | { readonly backend: 'smtp'; readonly from: string; readonly smtpUrl: string };

/** Where sessions are kept. */
export type SessionStoreConfig =
  | { readonly kind: 'postgres' }
  | {
      readonly kind: 'redis';
      readonly url: string;
      /** Prepended to every key, so that several apps (or test runs) can share one Redis. */
      readonly keyPrefix: string;
    };

export type HasherAlgorithm = (typeof HASHER_ALGORITHMS)[number];
export type PasswordValidatorName = (typeof PASSWORD_VALIDATORS)[number];
export type AuthenticationBackendName = (typeof AUTHENTICATION_BACKENDS)[number];

export type SameSite = 'lax' | 'strict' | 'none';

export interface SessionConfig {
  /** First signs session cookies; all verify (rotation). */
  readonly secrets: readonly string[];
  readonly cookieName: string;
  /** Unset: the cookie belongs to the exact host that set it. */
  readonly cookieDomain: string | undefined;
  readonly cookiePath: string;
  /** Sent only over HTTPS. Defaults to on in production. */
  readonly cookieSecure: boolean;
  readonly sameSite: SameSite;
  /** A session unused this long ends (Django's SESSION_COOKIE_AGE is the same idea). */
  readonly idleTimeoutSeconds: number;
  /** A session ends this long after its login, however active. */
  readonly absoluteTimeoutSeconds: number;
  /** Activity is recorded (one write) at most once per this many seconds. */
  readonly touchIntervalSeconds: number;
  readonly store: SessionStoreConfig;
}

export interface PasswordConfig {
  /** The first hashes new passwords; all verify (Django's PASSWORD_HASHERS). */
  readonly hashers: readonly Pluggable<HasherAlgorithm>[];
  readonly argon2: { readonly memoryCost: number; readonly timeCost: number; readonly parallelism: number };
  readonly pbkdf2Iterations: number;
  readonly bcryptRounds: number;
  /**
   * How many password hashes may run at once. Each takes a core for tens of milliseconds; with one per core, a burst
   * of logins would leave none for the event loop and every other request would wait.
   */
  readonly hashingConcurrency: number;
  /** The nice value of libuv's pool threads, where hashes run (0: left alone). Linux only. */
  readonly hashingNice: number;
  /** Django's AUTH_PASSWORD_VALIDATORS, in order; a maximum length is always checked first. */
  readonly validators: readonly Pluggable<PasswordValidatorName>[];
  readonly minLength: number;
}

/**
 * The settings the identity core (src/auth) takes: it is handed these, never the whole configuration, so that it can
 * be used (and tested) without a server around it.
 */
export type PasswordSettings = PasswordConfig;
export type LockoutSettings = LockoutConfig;
export type AuthSettings = Pick<Config, 'passwords' | 'authenticationBackends' | 'passwordReset'> & {
  readonly eventListeners?: Config['eventListeners'];
  /** Each provider is a backend of its own (`oidc:<name>`), after AUTHENTICATION_BACKENDS'. */
  readonly oidc?: Pick<OidcConfig, 'providers'>;
  readonly session: Pick<SessionConfig, 'secrets'>;
};

export type DatabaseConfig =
  | {
      readonly kind: 'server';
      readonly url: string;
      readonly poolSize: number;
      readonly connectTimeoutMs: number;
      readonly migrateOnStart: boolean;
    }
  | {
      readonly kind: 'embedded';
      /** Absolute path of the folder holding the embedded PostgreSQL's files. */
      readonly dataDir: string;
      readonly migrateOnStart: boolean;
    };

/**
 * Used when SESSION_SECRET is unset outside production, so that `npm start` works with no set-up.
 * Production refuses it.
 */
export const DEVELOPMENT_SESSION_SECRET = 'insecure-development-secret-do-not-use-in-production';

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

/** Minimum length of a production session secret: 32 bytes. */
export const MIN_SECRET_LENGTH = 32;

/** Too short to resist guessing, or published (the development default). */
export function isWeakSecret(secret: string): boolean {
  return Buffer.byteLength(secret, 'utf8') < MIN_SECRET_LENGTH || secret === DEVELOPMENT_SESSION_SECRET;
}

/**
 * Adds the variables of a `.env` file, if there is one, to the environment. Variables already set in the
 * environment win over the file. ENV_FILE names another file; ENV_FILE=none reads none. Call before `loadConfig`.
 */
export function loadEnvFile(env: NodeJS.ProcessEnv = process.env): void {
  const file = env.ENV_FILE ?? '.env';
  if (file === 'none') return;
  const resolved = path.resolve(file);
  if (fs.existsSync(resolved)) process.loadEnvFile(resolved);
  else if (env.ENV_FILE !== undefined)
    throw new ConfigError([`ENV_FILE="${file}" does not exist (example: ENV_FILE=.env)`]);
}

export interface LoadConfigOptions {
  /**
   * Accept a missing or weak SESSION_SECRET in production (the development default stands in for a missing one).
   * Only for `check --deploy`, which reports it with the other deployment problems; the server refuses it.
   */
  forChecks?: boolean;
}

/**
 * Reads and validates the environment. Pure: pass an object to test it; defaults to `process.env`.
 * `cwd` resolves a relative DATA_DIR.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
  { forChecks = false }: LoadConfigOptions = {},
): Config {
  const problems: string[] = [];
  const values = {} as SettingValues;
  for (const name of Object.keys(settings) as SettingName[]) {
    const { parse, default: fallback, example } = settings[name];
    // The default first, so that the rules between settings below see one even when the variable's value is bad.
    if (fallback !== undefined) (values as Record<string, unknown>)[name] = parse.parse(fallback);
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const result = parse.safeParse(raw);
    if (result.success) (values as Record<string, unknown>)[name] = result.data;
    else problems.push(describe(name, raw, result.error.issues[0]?.message ?? 'is invalid', example));
  }

  const nodeEnv = values.NODE_ENV;
  const isProduction = nodeEnv === 'production';
  const port = values.PORT;

  let sessionSecrets = values.SESSION_SECRET;
  if (isProduction && !forChecks) {
    if (!sessionSecrets) {
      problems.push(
        `SESSION_SECRET is required when NODE_ENV=production (example: SESSION_SECRET=${settings.SESSION_SECRET.example})`,
      );
    } else {
      // A short or well-known secret lets anyone forge session cookies.
      const weak = sessionSecrets.filter(isWeakSecret);
      if (weak.length > 0) {
        problems.push(
          `SESSION_SECRET has ${weak.length} secret(s) shorter than ${MIN_SECRET_LENGTH} characters or equal to the development default (example: SESSION_SECRET=$(openssl rand -base64 48))`,
        );
      }
    }
  }
  sessionSecrets ??= [DEVELOPMENT_SESSION_SECRET];
  // A short key lets whoever copies the TOTP table guess it offline, and with it every user's second factor.
  const weakKeys = (values.SECRET_ENCRYPTION_KEYS ?? []).filter(isWeakSecret);
  if (isProduction && !forChecks && weakKeys.length > 0)
    problems.push(
      `SECRET_ENCRYPTION_KEYS has ${weakKeys.length} key(s) shorter than ${MIN_SECRET_LENGTH} characters or equal to the development default (example: SECRET_ENCRYPTION_KEYS=$(openssl rand -base64 48))`,
    );
  // Every hop trusted: any client writes the address it wants into X-Forwarded-For, and the per-address lockout and
  // credential limits count whatever it says (security.E018 explains; the operator may confirm it is meant).
  if (isProduction && !forChecks && trustsEveryHop(values.TRUST_PROXY) && !values.TRUST_PROXY_ACKNOWLEDGED)
    problems.push(
      `TRUST_PROXY=${String(values.TRUST_PROXY)} trusts every hop, so any client chooses its own address: set the number of proxies in front ` +
        '(example: TRUST_PROXY=1) or their addresses (example: TRUST_PROXY=10.0.0.0/8), or confirm with ' +
        'TRUST_PROXY_ACKNOWLEDGED=true that only your proxies can reach the server',
    );

  // One cookie would overwrite the other: a login would end its own session, or lose the browser's device cookie.
  if (values.LOCKOUT_DEVICE_COOKIE_NAME === values.SESSION_COOKIE_NAME)
    problems.push(
      `LOCKOUT_DEVICE_COOKIE_NAME is SESSION_COOKIE_NAME (${values.SESSION_COOKIE_NAME}): they must differ (example: LOCKOUT_DEVICE_COOKIE_NAME=${settings.LOCKOUT_DEVICE_COOKIE_NAME.example})`,
    );

  const migrateOnStart = values.MIGRATE_ON_START;
  const database: DatabaseConfig = values.DATABASE_URL
    ? {
        kind: 'server',
        url: values.DATABASE_URL,
        poolSize: values.DATABASE_POOL_SIZE,
        connectTimeoutMs: values.DATABASE_CONNECT_TIMEOUT_MS,
        migrateOnStart,
      }
    : { kind: 'embedded', dataDir: path.resolve(cwd, values.DATA_DIR), migrateOnStart };

  const idle = values.SESSION_IDLE_TIMEOUT;
  const touch = values.SESSION_TOUCH_INTERVAL;
  if (touch >= idle) {
    // Activity recorded less often than the idle timeout would let active sessions expire mid-use.
    problems.push(
      `SESSION_TOUCH_INTERVAL=${touch} is not shorter than SESSION_IDLE_TIMEOUT=${idle} (example: SESSION_TOUCH_INTERVAL=${settings.SESSION_TOUCH_INTERVAL.example})`,
    );
  }

  const sessionStoreKind = values.SESSION_STORE;
  if (sessionStoreKind === 'redis' && !values.REDIS_URL) {
    problems.push(`REDIS_URL is required when SESSION_STORE=redis (example: REDIS_URL=${settings.REDIS_URL.example})`);
  }
  const mailBackend = values.MAIL_BACKEND ?? (values.SMTP_URL ? 'smtp' : 'console');
  if (mailBackend === 'smtp' && !values.SMTP_URL) {
    problems.push(`SMTP_URL is required when MAIL_BACKEND=smtp (example: SMTP_URL=${settings.SMTP_URL.example})`);
  }

  // GRAPHQL_LANDING_PAGE, the older on/off switch, still works: on is the default explorer.
  const landingPage = values.GRAPHQL_LANDING_PAGE;
  const explorer: Explorer =
    values.GRAPHQL_EXPLORER ??
    (landingPage === undefined ? (isProduction ? 'off' : 'graphiql') : landingPage ? 'graphiql' : 'off');
  if (landingPage !== undefined && landingPage !== (explorer !== 'off')) {
    problems.push(
      `GRAPHQL_LANDING_PAGE=${String(landingPage)} contradicts GRAPHQL_EXPLORER=${explorer}: set GRAPHQL_EXPLORER alone (example: GRAPHQL_EXPLORER=${settings.GRAPHQL_EXPLORER.example})`,
    );
  }

  // The callback logs in: the browser must send the session cookie there, and the flow's cookie is sent there only.
  const callbackPath = oidcCallbackPath(values.OIDC_REDIRECT_BASE ?? values.PUBLIC_URL);
  if (values.OIDC_PROVIDERS?.length && !callbackPath.startsWith(values.SESSION_COOKIE_PATH))
    problems.push(
      `SESSION_COOKIE_PATH=${values.SESSION_COOKIE_PATH} does not cover the OpenID Connect callbacks (${callbackPath}...) that OIDC_PROVIDERS needs (example: SESSION_COOKIE_PATH=/)`,
    );

  if (problems.length > 0) throw new ConfigError(problems);

  const publicUrl = values.PUBLIC_URL ?? `http://localhost:${port}`;
  const store: SessionStoreConfig =
    sessionStoreKind === 'redis' && values.REDIS_URL
      ? { kind: 'redis', url: values.REDIS_URL, keyPrefix: values.REDIS_KEY_PREFIX }
      : { kind: 'postgres' };
  const from = values.MAIL_FROM;
  const mail: MailConfig =
    mailBackend === 'smtp' && values.SMTP_URL
      ? { backend: 'smtp', from, smtpUrl: values.SMTP_URL }
      : { backend: 'console', from };

  return Object.freeze({
    nodeEnv,
    isProduction,
    host: values.HOST,
    port,
    publicUrl,
    trustProxy: values.TRUST_PROXY,
    trustProxyAcknowledged: values.TRUST_PROXY_ACKNOWLEDGED,
    logLevel: values.LOG_LEVEL,
    logFormat: values.LOG_FORMAT ?? 'auto',
    database: Object.freeze(database),
    session: Object.freeze({
      secrets: Object.freeze([...sessionSecrets]),
      cookieName: values.SESSION_COOKIE_NAME,
      cookieDomain: values.SESSION_COOKIE_DOMAIN,
      cookiePath: values.SESSION_COOKIE_PATH,
      cookieSecure: values.SESSION_COOKIE_SECURE ?? isProduction,
      sameSite: values.SESSION_COOKIE_SAMESITE,
      idleTimeoutSeconds: values.SESSION_IDLE_TIMEOUT,
      absoluteTimeoutSeconds: values.SESSION_ABSOLUTE_TIMEOUT,
      touchIntervalSeconds: values.SESSION_TOUCH_INTERVAL,
      store: Object.freeze(store),
    }),
    shutdownTimeoutMs: values.SHUTDOWN_TIMEOUT_MS,
    webConcurrency: values.WEB_CONCURRENCY,
    passwords: Object.freeze({
      hashers: Object.freeze(values.PASSWORD_HASHERS),
      argon2: Object.freeze({
        memoryCost: values.ARGON2_MEMORY_KIB,
        timeCost: values.ARGON2_TIME_COST,
        parallelism: values.ARGON2_PARALLELISM,
      }),
      pbkdf2Iterations: values.PBKDF2_ITERATIONS,
      bcryptRounds: values.BCRYPT_ROUNDS,
      hashingConcurrency: values.PASSWORD_HASHING_CONCURRENCY ?? Math.max(1, os.availableParallelism() - 1),
      hashingNice: values.PASSWORD_HASHING_NICE,
      validators: Object.freeze(values.PASSWORD_VALIDATORS),
      minLength: values.PASSWORD_MIN_LENGTH,
    }),
    authenticationBackends: Object.freeze(values.AUTHENTICATION_BACKENDS),
    eventListeners: Object.freeze((values.EVENT_LISTENERS ?? []).filter((entry) => typeof entry !== 'string')),
    installedApps: Object.freeze((values.INSTALLED_APPS ?? []).filter((entry) => typeof entry !== 'string')),
    registrationOpen: values.REGISTRATION_OPEN,
    oidc: Object.freeze({
      providers: Object.freeze(values.OIDC_PROVIDERS ?? []),
      linkVerifiedEmail: values.OIDC_LINK_VERIFIED_EMAIL,
      redirectBase: values.OIDC_REDIRECT_BASE ?? publicUrl,
      callbackPath,
      landingUrl: values.OIDC_LANDING_URL ?? publicUrl,
    }),
    accessTokens: Object.freeze({
      maxAgeSeconds: values.ACCESS_TOKEN_MAX_AGE,
      endWithPassword: values.ACCESS_TOKEN_ENDS_WITH_PASSWORD,
    }),
    secondFactor: Object.freeze({
      encryptionKeys: Object.freeze([...(values.SECRET_ENCRYPTION_KEYS ?? sessionSecrets)]),
      pendingTimeoutSeconds: values.SECOND_FACTOR_TIMEOUT,
      stepUpMaxAgeSeconds: values.STEP_UP_MAX_AGE,
      issuer: values.TOTP_ISSUER,
    }),
    passwordReset: Object.freeze({
      timeoutSeconds: values.PASSWORD_RESET_TIMEOUT,
      urlTemplate: values.PASSWORD_RESET_URL ?? `${publicUrl}/reset-password?uid={uid}&token={token}`,
    }),
    mail: Object.freeze(mail),
    graphql: Object.freeze({
      introspection: values.GRAPHQL_INTROSPECTION ?? !isProduction,
      explorer,
      limits: Object.freeze({
        depth: values.GRAPHQL_MAX_DEPTH,
        aliases: values.GRAPHQL_MAX_ALIASES,
        tokens: values.GRAPHQL_MAX_TOKENS,
        cost: values.GRAPHQL_MAX_COST,
        directives: values.GRAPHQL_MAX_DIRECTIVES,
      }),
      maxBodyBytes: values.MAX_BODY_BYTES,
    }),
    lockout: Object.freeze({
      limit: values.LOCKOUT_LIMIT,
      cooloffSeconds: values.LOCKOUT_COOLOFF,
      by: values.LOCKOUT_BY,
      accountLimit: values.LOCKOUT_ACCOUNT_LIMIT,
      accountWindowSeconds: values.LOCKOUT_ACCOUNT_WINDOW,
      secondFactorLimit: values.LOCKOUT_SECOND_FACTOR_LIMIT,
      secondFactorWindowSeconds: values.LOCKOUT_SECOND_FACTOR_WINDOW,
      deviceCookieName: values.LOCKOUT_DEVICE_COOKIE_NAME,
      deviceCookieAgeSeconds: values.LOCKOUT_DEVICE_COOKIE_AGE,
      addressLimit: values.CREDENTIAL_RATE_LIMIT,
      addressWindowSeconds: values.CREDENTIAL_RATE_WINDOW,
      addressConcurrency: values.CREDENTIAL_CONCURRENCY,
      resetEmailLimit: values.PASSWORD_RESET_EMAIL_LIMIT,
      resetAddressLimit: values.PASSWORD_RESET_ADDRESS_LIMIT,
      resetWindowSeconds: values.PASSWORD_RESET_WINDOW,
    }),
    audit: Object.freeze({ retentionDays: values.AUDIT_RETENTION_DAYS, queueLimit: values.AUDIT_QUEUE_LIMIT }),
    cors: values.CORS_ORIGINS
      ? Object.freeze({
          origins: values.CORS_ORIGINS === '*' ? '*' : Object.freeze([...values.CORS_ORIGINS]),
          credentials: values.CORS_CREDENTIALS,
        })
      : undefined,
  });
}

function describe(name: string, raw: string, problem: string, example: string): string {
  // Secrets are never echoed back, not even in an error.
  const shown = SECRET_BEARING.has(name) ? redact(name, raw) : JSON.stringify(raw);
  return `${name}=${shown} ${problem} (example: ${name}=${example})`;
}

/** Variables whose values may hold a password: never shown whole. */
const SECRET_BEARING = new Set([
  'SESSION_SECRET',
  'SECRET_ENCRYPTION_KEYS',
  'DATABASE_URL',
  'REDIS_URL',
  'SMTP_URL',
  'OIDC_PROVIDERS',
]);

function redact(name: string, raw: string): string {
  // A list of providers holds their client secrets.
  if (name === 'OIDC_PROVIDERS') return '(hidden: it holds client secrets)';
  if (name !== 'SESSION_SECRET' && name !== 'SECRET_ENCRYPTION_KEYS') {
    try {
      const url = new URL(raw);
      if (url.password) url.password = '***';
      // libpq and pg also take passwords as query parameters.
      for (const key of ['password', 'sslpassword']) if (url.searchParams.has(key)) url.searchParams.set(key, '***');
      return JSON.stringify(url.toString());
    } catch {
      return '(unparseable)';
    }
  }
  return '(hidden)';
}
