/**
 * The one reader of the environment.
 *
 * Every setting the server understands is declared once in `variables` below: its parser, its default and an
 * example of a good value. `loadConfig()` reads them all at start-up, validates them, and returns one frozen,
 * typed object. Nothing else in the project reads `process.env`.
 *
 * A bad value throws a `ConfigError` whose message has one line per bad variable, naming it, saying what is
 * wrong with the value and showing a good one. `main.ts` prints those lines and exits 1.
 */
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { z } from 'zod';

export type NodeEnv = 'development' | 'production' | 'test';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
/** `auto`: readable lines in development when stdout is a terminal, JSON otherwise (decided where the log is opened). */
export type LogFormat = 'auto' | 'json' | 'pretty';
export const EXPLORERS = ['graphiql', 'sandbox', 'off'] as const;
export type Explorer = (typeof EXPLORERS)[number];
/** Express's `trust proxy` setting: off, on, a hop count, or a list of addresses and subnets. */
export type TrustProxy = boolean | number | string[];

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
  /** Authentication backends, tried in this order: built-in names, or modules (`./backends/ldap.js`). */
  readonly authenticationBackends: readonly Pluggable<AuthenticationBackendName>[];
  /** Modules whose default export subscribes to the auth events (EVENT_LISTENERS), in this order. */
  readonly eventListeners: readonly ModuleEntry[];
  /** Whether anyone may create an account with the `register` mutation. */
  readonly registrationOpen: boolean;
  readonly passwordReset: PasswordResetConfig;
  readonly mail: MailConfig;
  readonly graphql: GraphQLConfig;
  readonly lockout: LockoutConfig;
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
  /** Largest request body, in bytes: a bigger one gets 413 before it is parsed. */
  readonly maxBodyBytes: number;
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

export const HASHER_ALGORITHMS = [
  'argon2',
  'pbkdf2_sha256',
  'pbkdf2_sha1',
  'bcrypt_sha256',
  'bcrypt',
  'scrypt',
] as const;
export type HasherAlgorithm = (typeof HASHER_ALGORITHMS)[number];
export const AUTHENTICATION_BACKENDS = ['model', 'email'] as const;
export const PASSWORD_VALIDATORS = ['similarity', 'min_length', 'common', 'numeric'] as const;
export type PasswordValidatorName = (typeof PASSWORD_VALIDATORS)[number];
export type AuthenticationBackendName = (typeof AUTHENTICATION_BACKENDS)[number];

/**
 * A module a setting names instead of a built-in: a path (`./backends/ldap.js`, resolved against the process's
 * working directory) or a package name. `loaded` is its default export, filled in once at start-up by
 * `loadExtensions` (src/auth/extensions.ts), which checks that it is what the setting needs.
 */
export interface ModuleEntry {
  readonly module: string;
  readonly loaded?: unknown;
}
/** A built-in's name, or a module. */
export type Pluggable<Name extends string> = Name | ModuleEntry;

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

const booleanWords: Readonly<Record<string, boolean>> = {
  true: true,
  false: false,
  '1': true,
  '0': false,
  yes: true,
  no: false,
  on: true,
  off: false,
};

const booleanFlag = z.string().transform((value, ctx) => {
  const word = value.trim().toLowerCase();
  // Own keys only: "constructor" or "__proto__" are not booleans.
  const parsed = Object.hasOwn(booleanWords, word) ? booleanWords[word] : undefined;
  if (parsed === undefined) {
    ctx.addIssue({ code: 'custom', message: 'is not a boolean (use true or false)' });
    return z.NEVER;
  }
  return parsed;
});

function wholeNumber(min: number, max: number) {
  return z.string().transform((value, ctx) => {
    const trimmed = value.trim();
    const parsed = Number(trimmed);
    if (!/^\d+$/.test(trimmed) || parsed < min || parsed > max) {
      ctx.addIssue({ code: 'custom', message: `is not a whole number between ${min} and ${max}` });
      return z.NEVER;
    }
    return parsed;
  });
}

const postgresUrl = z.string().transform((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not a URL' });
    return z.NEVER;
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') {
    ctx.addIssue({ code: 'custom', message: `has scheme "${url.protocol}", expected postgres:` });
    return z.NEVER;
  }
  // A host, or libpq's Unix socket folder (`postgres:///db?host=/folder`, the form the embedded database logs).
  const host = url.hostname || url.searchParams.get('host');
  if (!host || url.pathname.length <= 1) {
    ctx.addIssue({ code: 'custom', message: 'must name a host and a database' });
    return z.NEVER;
  }
  return value;
});

const httpUrl = z.string().transform((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not a URL' });
    return z.NEVER;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `has scheme "${url.protocol}", expected http: or https:` });
    return z.NEVER;
  }
  // Stored without a trailing slash so that later code can append paths.
  return url.toString().replace(/\/$/, '');
});

/** A URL with one of `schemes` (each with its colon), kept as written. */
function urlWithScheme(schemes: readonly string[]) {
  return z.string().transform((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'is not a URL' });
      return z.NEVER;
    }
    if (!schemes.includes(url.protocol)) {
      ctx.addIssue({ code: 'custom', message: `has scheme "${url.protocol}", expected ${schemes.join(' or ')}` });
      return z.NEVER;
    }
    if (!url.hostname) {
      ctx.addIssue({ code: 'custom', message: 'must name a host' });
      return z.NEVER;
    }
    return value;
  });
}

const resetUrlTemplate = z.string().transform((value, ctx) => {
  if (!value.includes('{uid}') || !value.includes('{token}')) {
    ctx.addIssue({ code: 'custom', message: 'must contain {uid} and {token}' });
    return z.NEVER;
  }
  const probe = value.replaceAll('{uid}', 'MQ').replaceAll('{token}', 'token');
  if (!URL.canParse(probe) || !/^https?:$/.test(new URL(probe).protocol)) {
    ctx.addIssue({ code: 'custom', message: 'is not an http: or https: URL' });
    return z.NEVER;
  }
  return value;
});

const trustProxy = z.string().transform((value, ctx): TrustProxy => {
  const trimmed = value.trim();
  const lowered = trimmed.toLowerCase();
  if (Object.hasOwn(booleanWords, lowered) && !/^\d+$/.test(lowered)) return booleanWords[lowered] === true;
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const entries = trimmed.split(',').map((entry) => entry.trim());
  // The same names and forms that Express's `trust proxy` (proxy-addr) accepts.
  const named = new Set(['loopback', 'linklocal', 'uniquelocal']);
  const address = /^[0-9a-fA-F:.]+(\/\d{1,3})?$/;
  const bad = entries.filter((entry) => !named.has(entry) && !address.test(entry));
  if (entries.length === 0 || bad.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `is not true, false, a hop count, or a list of addresses/subnets (bad: ${bad.join(', ') || 'empty'})`,
    });
    return z.NEVER;
  }
  return entries;
});

/** Whether TRUST_PROXY believes X-Forwarded-For from anyone: `true`, or a subnet that holds every address. */
export function trustsEveryHop(trust: TrustProxy): boolean {
  return trust === true || (Array.isArray(trust) && trust.some((entry) => /^(0\.0\.0\.0|::)\/0$/.test(entry)));
}

/** A path (`./x.js`, `../x.js`, `/srv/x.js`) or an npm package name (`ldap-backend`, `@acme/auth/backend.js`). */
const MODULE_SPECIFIER = /^(\.{0,2}\/[^,\s]+|(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(\/[\w./-]+)?)$/i;

/**
 * A comma-separated list, without repeats, of names from `builtins` and of modules (paths or package names): Django's
 * AUTHENTICATION_BACKENDS and PASSWORD_HASHERS, which take a built-in or a dotted path to the user's own.
 */
function pluggableList<const T extends string>(builtins: readonly T[], { allowEmpty = false } = {}) {
  return z.string().transform((value, ctx) => {
    const names = value
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean);
    const bad = names.filter((name) => !(builtins as readonly string[]).includes(name) && !MODULE_SPECIFIER.test(name));
    const choices = builtins.length > 0 ? `choose from ${builtins.join(', ')}, or name a module` : 'name modules';
    if ((names.length === 0 && !allowEmpty) || bad.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `${names.length === 0 ? 'is empty' : `names ${bad.join(', ')}, which is no name or module path`}; ${choices} (./backends/ldap.js)`,
      });
      return z.NEVER;
    }
    if (new Set(names).size !== names.length) {
      ctx.addIssue({ code: 'custom', message: 'names one twice' });
      return z.NEVER;
    }
    return names.map((name): Pluggable<T> =>
      (builtins as readonly string[]).includes(name) ? (name as T) : Object.freeze({ module: name }),
    );
  });
}

/** `*`, or a comma-separated list of origins (`scheme://host[:port]`, nothing after), kept as browsers send them. */
const corsOrigins = z.string().transform((value, ctx): '*' | string[] => {
  if (value.trim() === '*') return '*';
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter(Boolean);
  const bad = entries.filter((entry) => !URL.canParse(entry) || new URL(entry).origin !== entry);
  if (entries.length === 0 || bad.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `is not * or a list of origins like https://app.example.com (bad: ${bad.join(', ') || 'empty'})`,
    });
    return z.NEVER;
  }
  return entries;
});

const secretList = z.string().transform((value, ctx) => {
  const secrets = value
    .split(',')
    .map((secret) => secret.trim())
    .filter((secret) => secret.length > 0);
  if (secrets.length === 0) {
    ctx.addIssue({ code: 'custom', message: 'is empty' });
    return z.NEVER;
  }
  return secrets;
});

interface Variable<T> {
  readonly schema: z.ZodType<T>;
  /** A good value, shown when the variable is wrong. */
  readonly example: string;
  /** The default as documented in the README and .env.example (a test keeps the three in step). */
  readonly default: string;
}

function variable<T>(schema: z.ZodType<T>, example: string, defaultValue: string): Variable<T> {
  return { schema, example, default: defaultValue };
}

/** Every environment variable the server reads. Defaults are applied in `loadConfig`. */
export const variables = {
  NODE_ENV: variable(z.enum(['development', 'production', 'test']), 'production', 'development'),
  HOST: variable(z.string().trim().min(1, 'is empty'), '0.0.0.0', '127.0.0.1'),
  PORT: variable(wholeNumber(0, 65535), '4000', '4000'),
  PUBLIC_URL: variable(httpUrl, 'https://api.example.com', 'http://localhost:$PORT'),
  TRUST_PROXY: variable(trustProxy, '1', 'false'),
  TRUST_PROXY_ACKNOWLEDGED: variable(booleanFlag, 'true', 'false'),
  LOG_LEVEL: variable(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info', 'info'),
  LOG_FORMAT: variable(z.enum(['json', 'pretty']), 'json', '(pretty in development on a terminal, else json)'),
  DATABASE_URL: variable(postgresUrl, 'postgres://app:secret@127.0.0.1:5432/app', '(unset: embedded)'),
  DATABASE_POOL_SIZE: variable(wholeNumber(1, 1000), '10', '10'),
  DATABASE_CONNECT_TIMEOUT_MS: variable(wholeNumber(100, 600_000), '5000', '5000'),
  DATA_DIR: variable(z.string().trim().min(1, 'is empty'), '.data', '.data'),
  MIGRATE_ON_START: variable(booleanFlag, 'true', 'true'),
  SESSION_SECRET: variable(
    secretList,
    'a-random-string-of-32-or-more-characters',
    '(development only: a fixed insecure value)',
  ),
  SHUTDOWN_TIMEOUT_MS: variable(wholeNumber(0, 600_000), '10000', '10000'),
  WEB_CONCURRENCY: variable(wholeNumber(1, 1024), '4', '1'),
  SESSION_COOKIE_NAME: variable(
    z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'is not a cookie name of letters, digits and ._-'),
    'sessionid',
    'sessionid',
  ),
  SESSION_COOKIE_DOMAIN: variable(
    z.string().regex(/^\.?[A-Za-z0-9.-]+$/, 'is not a domain name'),
    'example.com',
    '(unset: the exact host)',
  ),
  SESSION_COOKIE_PATH: variable(z.string().regex(/^\/[^;\s]*$/, 'is not a path starting with /'), '/', '/'),
  SESSION_COOKIE_SECURE: variable(booleanFlag, 'true', '(true in production)'),
  SESSION_COOKIE_SAMESITE: variable(z.enum(['lax', 'strict', 'none']), 'lax', 'lax'),
  SESSION_IDLE_TIMEOUT: variable(wholeNumber(60, 31_536_000), '1209600', '1209600'),
  SESSION_ABSOLUTE_TIMEOUT: variable(wholeNumber(60, 31_536_000), '2592000', '2592000'),
  SESSION_TOUCH_INTERVAL: variable(wholeNumber(0, 86_400), '60', '60'),
  SESSION_STORE: variable(z.enum(['postgres', 'redis']), 'redis', 'postgres'),
  REDIS_URL: variable(
    urlWithScheme(['redis:', 'rediss:']),
    'redis://127.0.0.1:6379/0',
    '(required with SESSION_STORE=redis)',
  ),
  REDIS_KEY_PREFIX: variable(
    z.string().regex(/^[A-Za-z0-9_.:-]{0,64}$/, 'is not up to 64 letters, digits and ._:-'),
    'myapp:',
    'gqlauth:',
  ),
  REGISTRATION_OPEN: variable(booleanFlag, 'true', 'false'),
  PASSWORD_HASHERS: variable(pluggableList(HASHER_ALGORITHMS), 'argon2,pbkdf2_sha256', HASHER_ALGORITHMS.join(',')),
  ARGON2_MEMORY_KIB: variable(wholeNumber(8, 4_194_304), '19456', '19456'),
  ARGON2_TIME_COST: variable(wholeNumber(1, 100), '2', '2'),
  ARGON2_PARALLELISM: variable(wholeNumber(1, 64), '1', '1'),
  PBKDF2_ITERATIONS: variable(wholeNumber(1, 100_000_000), '1000000', '1000000'),
  BCRYPT_ROUNDS: variable(wholeNumber(4, 31), '12', '12'),
  PASSWORD_HASHING_CONCURRENCY: variable(wholeNumber(1, 1024), '1', '(CPU cores - 1, at least 1)'),
  PASSWORD_HASHING_NICE: variable(wholeNumber(0, 19), '10', '10'),
  AUTHENTICATION_BACKENDS: variable(pluggableList(AUTHENTICATION_BACKENDS), 'model,./backends/ldap.js', 'model'),
  PASSWORD_VALIDATORS: variable(pluggableList(PASSWORD_VALIDATORS), 'min_length,common', PASSWORD_VALIDATORS.join(',')),
  EVENT_LISTENERS: variable(pluggableList([], { allowEmpty: true }), './listeners/audit.js', '(none)'),
  PASSWORD_MIN_LENGTH: variable(wholeNumber(1, 4096), '12', '8'),
  PASSWORD_RESET_TIMEOUT: variable(wholeNumber(60, 31_536_000), '3600', '259200'),
  PASSWORD_RESET_URL: variable(
    resetUrlTemplate,
    'https://app.example.com/reset/{uid}/{token}',
    '$PUBLIC_URL/reset-password?uid={uid}&token={token}',
  ),
  MAIL_BACKEND: variable(z.enum(['console', 'smtp']), 'smtp', '(smtp when SMTP_URL is set, else console)'),
  SMTP_URL: variable(urlWithScheme(['smtp:', 'smtps:']), 'smtps://user:password@smtp.example.com:465', '(unset)'),
  MAIL_FROM: variable(
    z.string().trim().min(3, 'is too short'),
    'Example <no-reply@example.com>',
    'webmaster@localhost',
  ),
  GRAPHQL_INTROSPECTION: variable(booleanFlag, 'false', '(true outside production)'),
  GRAPHQL_EXPLORER: variable(z.enum(EXPLORERS), 'graphiql', '(graphiql outside production, else off)'),
  GRAPHQL_LANDING_PAGE: variable(booleanFlag, 'false', '(true outside production)'),
  CORS_ORIGINS: variable(corsOrigins, 'https://app.example.com', '(unset: no cross-origin access)'),
  CORS_CREDENTIALS: variable(booleanFlag, 'true', 'true'),
  GRAPHQL_MAX_DEPTH: variable(wholeNumber(1, 1000), '8', '8'),
  GRAPHQL_MAX_ALIASES: variable(wholeNumber(0, 100_000), '15', '15'),
  GRAPHQL_MAX_TOKENS: variable(wholeNumber(10, 10_000_000), '1000', '1000'),
  GRAPHQL_MAX_COST: variable(wholeNumber(1, 1_000_000_000), '5000', '5000'),
  GRAPHQL_MAX_DIRECTIVES: variable(wholeNumber(0, 100_000), '50', '50'),
  MAX_BODY_BYTES: variable(wholeNumber(1024, 104_857_600), '102400', '102400'),
  LOCKOUT_LIMIT: variable(wholeNumber(0, 1000), '5', '5'),
  LOCKOUT_COOLOFF: variable(wholeNumber(1, 31_536_000), '900', '900'),
  LOCKOUT_BY: variable(z.enum(['username_ip', 'username', 'ip']), 'username_ip', 'username_ip'),
  LOCKOUT_ACCOUNT_LIMIT: variable(wholeNumber(0, 1_000_000), '100', '100'),
  LOCKOUT_ACCOUNT_WINDOW: variable(wholeNumber(60, 31_536_000), '3600', '3600'),
  LOCKOUT_DEVICE_COOKIE_NAME: variable(
    z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'is not a cookie name of letters, digits and ._-'),
    'gqlauth_device',
    'gqlauth_device',
  ),
  LOCKOUT_DEVICE_COOKIE_AGE: variable(wholeNumber(60, 315_360_000), '31536000', '31536000'),
  CREDENTIAL_RATE_LIMIT: variable(wholeNumber(0, 1_000_000), '60', '60'),
  CREDENTIAL_RATE_WINDOW: variable(wholeNumber(1, 86_400), '60', '60'),
  CREDENTIAL_CONCURRENCY: variable(wholeNumber(0, 10_000), '1', '1'),
  PASSWORD_RESET_EMAIL_LIMIT: variable(wholeNumber(0, 1_000_000), '3', '3'),
  PASSWORD_RESET_ADDRESS_LIMIT: variable(wholeNumber(0, 1_000_000), '10', '10'),
  PASSWORD_RESET_WINDOW: variable(wholeNumber(60, 31_536_000), '3600', '3600'),
} as const;

export type VariableName = keyof typeof variables;
type Parsed = { -readonly [K in VariableName]?: z.output<(typeof variables)[K]['schema']> };

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
  const parsed: Parsed = {};
  for (const name of Object.keys(variables) as VariableName[]) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const { schema, example } = variables[name];
    const result = schema.safeParse(raw);
    if (result.success) {
      (parsed as Record<string, unknown>)[name] = result.data;
    } else {
      problems.push(describe(name, raw, result.error.issues[0]?.message ?? 'is invalid', example));
    }
  }

  const nodeEnv = parsed.NODE_ENV ?? 'development';
  const isProduction = nodeEnv === 'production';
  const port = parsed.PORT ?? 4000;

  let sessionSecrets = parsed.SESSION_SECRET;
  if (isProduction && !forChecks) {
    if (!sessionSecrets) {
      problems.push(
        `SESSION_SECRET is required when NODE_ENV=production (example: SESSION_SECRET=${variables.SESSION_SECRET.example})`,
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
  // Every hop trusted: any client writes the address it wants into X-Forwarded-For, and the per-address lockout and
  // credential limits count whatever it says (security.E018 explains; the operator may confirm it is meant).
  if (
    isProduction &&
    !forChecks &&
    parsed.TRUST_PROXY !== undefined &&
    trustsEveryHop(parsed.TRUST_PROXY) &&
    parsed.TRUST_PROXY_ACKNOWLEDGED !== true
  )
    problems.push(
      `TRUST_PROXY=${String(parsed.TRUST_PROXY)} trusts every hop, so any client chooses its own address: set the number of proxies in front ` +
        '(example: TRUST_PROXY=1) or their addresses (example: TRUST_PROXY=10.0.0.0/8), or confirm with ' +
        'TRUST_PROXY_ACKNOWLEDGED=true that only your proxies can reach the server',
    );

  // One cookie would overwrite the other: a login would end its own session, or lose the browser's device cookie.
  if ((parsed.LOCKOUT_DEVICE_COOKIE_NAME ?? 'gqlauth_device') === (parsed.SESSION_COOKIE_NAME ?? 'sessionid'))
    problems.push(
      `LOCKOUT_DEVICE_COOKIE_NAME is SESSION_COOKIE_NAME (${parsed.SESSION_COOKIE_NAME ?? 'sessionid'}): they must differ (example: LOCKOUT_DEVICE_COOKIE_NAME=gqlauth_device)`,
    );

  const migrateOnStart = parsed.MIGRATE_ON_START ?? true;
  const database: DatabaseConfig = parsed.DATABASE_URL
    ? {
        kind: 'server',
        url: parsed.DATABASE_URL,
        poolSize: parsed.DATABASE_POOL_SIZE ?? 10,
        connectTimeoutMs: parsed.DATABASE_CONNECT_TIMEOUT_MS ?? 5000,
        migrateOnStart,
      }
    : { kind: 'embedded', dataDir: path.resolve(cwd, parsed.DATA_DIR ?? '.data'), migrateOnStart };

  const idle = parsed.SESSION_IDLE_TIMEOUT ?? 1_209_600;
  const touch = parsed.SESSION_TOUCH_INTERVAL ?? 60;
  if (touch >= idle) {
    // Activity recorded less often than the idle timeout would let active sessions expire mid-use.
    problems.push(
      `SESSION_TOUCH_INTERVAL=${touch} is not shorter than SESSION_IDLE_TIMEOUT=${idle} (example: SESSION_TOUCH_INTERVAL=60)`,
    );
  }

  const sessionStoreKind = parsed.SESSION_STORE ?? 'postgres';
  if (sessionStoreKind === 'redis' && !parsed.REDIS_URL) {
    problems.push(`REDIS_URL is required when SESSION_STORE=redis (example: REDIS_URL=${variables.REDIS_URL.example})`);
  }
  const mailBackend = parsed.MAIL_BACKEND ?? (parsed.SMTP_URL ? 'smtp' : 'console');
  if (mailBackend === 'smtp' && !parsed.SMTP_URL) {
    problems.push(`SMTP_URL is required when MAIL_BACKEND=smtp (example: SMTP_URL=${variables.SMTP_URL.example})`);
  }

  // GRAPHQL_LANDING_PAGE, the older on/off switch, still works: on is the default explorer.
  const landingPage = parsed.GRAPHQL_LANDING_PAGE;
  const explorer: Explorer =
    parsed.GRAPHQL_EXPLORER ??
    (landingPage === undefined ? (isProduction ? 'off' : 'graphiql') : landingPage ? 'graphiql' : 'off');
  if (landingPage !== undefined && landingPage !== (explorer !== 'off')) {
    problems.push(
      `GRAPHQL_LANDING_PAGE=${String(landingPage)} contradicts GRAPHQL_EXPLORER=${explorer}: set GRAPHQL_EXPLORER alone (example: GRAPHQL_EXPLORER=${variables.GRAPHQL_EXPLORER.example})`,
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);

  const publicUrl = parsed.PUBLIC_URL ?? `http://localhost:${port}`;
  const store: SessionStoreConfig =
    sessionStoreKind === 'redis' && parsed.REDIS_URL
      ? { kind: 'redis', url: parsed.REDIS_URL, keyPrefix: parsed.REDIS_KEY_PREFIX ?? 'gqlauth:' }
      : { kind: 'postgres' };
  const from = parsed.MAIL_FROM ?? 'webmaster@localhost';
  const mail: MailConfig =
    mailBackend === 'smtp' && parsed.SMTP_URL
      ? { backend: 'smtp', from, smtpUrl: parsed.SMTP_URL }
      : { backend: 'console', from };

  return Object.freeze({
    nodeEnv,
    isProduction,
    host: parsed.HOST ?? '127.0.0.1',
    port,
    publicUrl,
    trustProxy: parsed.TRUST_PROXY ?? false,
    trustProxyAcknowledged: parsed.TRUST_PROXY_ACKNOWLEDGED ?? false,
    logLevel: parsed.LOG_LEVEL ?? 'info',
    logFormat: parsed.LOG_FORMAT ?? 'auto',
    database: Object.freeze(database),
    session: Object.freeze({
      secrets: Object.freeze([...sessionSecrets]),
      cookieName: parsed.SESSION_COOKIE_NAME ?? 'sessionid',
      cookieDomain: parsed.SESSION_COOKIE_DOMAIN,
      cookiePath: parsed.SESSION_COOKIE_PATH ?? '/',
      cookieSecure: parsed.SESSION_COOKIE_SECURE ?? isProduction,
      sameSite: parsed.SESSION_COOKIE_SAMESITE ?? 'lax',
      idleTimeoutSeconds: parsed.SESSION_IDLE_TIMEOUT ?? 1_209_600,
      absoluteTimeoutSeconds: parsed.SESSION_ABSOLUTE_TIMEOUT ?? 2_592_000,
      touchIntervalSeconds: parsed.SESSION_TOUCH_INTERVAL ?? 60,
      store: Object.freeze(store),
    }),
    shutdownTimeoutMs: parsed.SHUTDOWN_TIMEOUT_MS ?? 10_000,
    webConcurrency: parsed.WEB_CONCURRENCY ?? 1,
    passwords: Object.freeze({
      hashers: Object.freeze(parsed.PASSWORD_HASHERS ?? [...HASHER_ALGORITHMS]),
      argon2: Object.freeze({
        memoryCost: parsed.ARGON2_MEMORY_KIB ?? 19_456,
        timeCost: parsed.ARGON2_TIME_COST ?? 2,
        parallelism: parsed.ARGON2_PARALLELISM ?? 1,
      }),
      pbkdf2Iterations: parsed.PBKDF2_ITERATIONS ?? 1_000_000,
      bcryptRounds: parsed.BCRYPT_ROUNDS ?? 12,
      hashingConcurrency: parsed.PASSWORD_HASHING_CONCURRENCY ?? Math.max(1, os.availableParallelism() - 1),
      hashingNice: parsed.PASSWORD_HASHING_NICE ?? 10,
      validators: Object.freeze(parsed.PASSWORD_VALIDATORS ?? [...PASSWORD_VALIDATORS]),
      minLength: parsed.PASSWORD_MIN_LENGTH ?? 8,
    }),
    authenticationBackends: Object.freeze(parsed.AUTHENTICATION_BACKENDS ?? (['model'] as const)),
    eventListeners: Object.freeze((parsed.EVENT_LISTENERS ?? []).filter((entry) => typeof entry !== 'string')),
    registrationOpen: parsed.REGISTRATION_OPEN ?? false,
    passwordReset: Object.freeze({
      timeoutSeconds: parsed.PASSWORD_RESET_TIMEOUT ?? 259_200,
      urlTemplate: parsed.PASSWORD_RESET_URL ?? `${publicUrl}/reset-password?uid={uid}&token={token}`,
    }),
    mail: Object.freeze(mail),
    graphql: Object.freeze({
      introspection: parsed.GRAPHQL_INTROSPECTION ?? !isProduction,
      explorer,
      limits: Object.freeze({
        depth: parsed.GRAPHQL_MAX_DEPTH ?? 8,
        aliases: parsed.GRAPHQL_MAX_ALIASES ?? 15,
        tokens: parsed.GRAPHQL_MAX_TOKENS ?? 1000,
        cost: parsed.GRAPHQL_MAX_COST ?? 5000,
        directives: parsed.GRAPHQL_MAX_DIRECTIVES ?? 50,
      }),
      maxBodyBytes: parsed.MAX_BODY_BYTES ?? 102_400,
    }),
    lockout: Object.freeze({
      limit: parsed.LOCKOUT_LIMIT ?? 5,
      cooloffSeconds: parsed.LOCKOUT_COOLOFF ?? 900,
      by: parsed.LOCKOUT_BY ?? 'username_ip',
      accountLimit: parsed.LOCKOUT_ACCOUNT_LIMIT ?? 100,
      accountWindowSeconds: parsed.LOCKOUT_ACCOUNT_WINDOW ?? 3600,
      deviceCookieName: parsed.LOCKOUT_DEVICE_COOKIE_NAME ?? 'gqlauth_device',
      deviceCookieAgeSeconds: parsed.LOCKOUT_DEVICE_COOKIE_AGE ?? 31_536_000,
      addressLimit: parsed.CREDENTIAL_RATE_LIMIT ?? 60,
      addressWindowSeconds: parsed.CREDENTIAL_RATE_WINDOW ?? 60,
      addressConcurrency: parsed.CREDENTIAL_CONCURRENCY ?? 1,
      resetEmailLimit: parsed.PASSWORD_RESET_EMAIL_LIMIT ?? 3,
      resetAddressLimit: parsed.PASSWORD_RESET_ADDRESS_LIMIT ?? 10,
      resetWindowSeconds: parsed.PASSWORD_RESET_WINDOW ?? 3600,
    }),
    cors: parsed.CORS_ORIGINS
      ? Object.freeze({
          origins: parsed.CORS_ORIGINS === '*' ? '*' : Object.freeze([...parsed.CORS_ORIGINS]),
          credentials: parsed.CORS_CREDENTIALS ?? true,
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
const SECRET_BEARING = new Set(['SESSION_SECRET', 'DATABASE_URL', 'REDIS_URL', 'SMTP_URL']);

function redact(name: string, raw: string): string {
  if (name !== 'SESSION_SECRET') {
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
