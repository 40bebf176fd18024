/**
 * Parsers of settings' values: each takes the text of an environment variable and returns its typed value, or an
 * issue whose message completes the sentence `NAME="value" ...` (see `describe` in config.ts).
 *
 * A setting whose parser is its own named function here (authenticationBackends, passwordHashers,
 * passwordValidators, eventListeners) can change what it accepts without touching its declaration in settings.ts.
 */
import { z } from 'zod';

export const EXPLORERS = ['graphiql', 'sandbox', 'off'] as const;
export const HASHER_ALGORITHMS = [
  'argon2',
  'pbkdf2_sha256',
  'pbkdf2_sha1',
  'bcrypt_sha256',
  'bcrypt',
  'scrypt',
] as const;
export const AUTHENTICATION_BACKENDS = ['model', 'email'] as const;
export const PASSWORD_VALIDATORS = ['similarity', 'min_length', 'common', 'numeric'] as const;

/** Express's `trust proxy` setting: off, on, a hop count, or a list of addresses and subnets. */
export type TrustProxy = boolean | number | string[];

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

export const booleanFlag = z.string().transform((value, ctx) => {
  const word = value.trim().toLowerCase();
  // Own keys only: "constructor" or "__proto__" are not booleans.
  const parsed = Object.hasOwn(booleanWords, word) ? booleanWords[word] : undefined;
  if (parsed === undefined) {
    ctx.addIssue({ code: 'custom', message: 'is not a boolean (use true or false)' });
    return z.NEVER;
  }
  return parsed;
});

export function wholeNumber(min: number, max: number) {
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

export const nonEmptyText = z.string().trim().min(1, 'is empty');

export const cookieName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'is not a cookie name of letters, digits and ._-');

/**
 * `value` as a URL with one of `schemes` (each with its colon), or undefined after saying what is wrong with it:
 * not a URL, or another scheme (`expected` words the schemes for the message).
 */
function urlOf(value: string, ctx: z.RefinementCtx, schemes: readonly string[], expected: string): URL | undefined {
  if (!URL.canParse(value)) {
    ctx.addIssue({ code: 'custom', message: 'is not a URL' });
    return undefined;
  }
  const url = new URL(value);
  if (!schemes.includes(url.protocol)) {
    ctx.addIssue({ code: 'custom', message: `has scheme "${url.protocol}", expected ${expected}` });
    return undefined;
  }
  return url;
}

export const postgresUrl = z.string().transform((value, ctx) => {
  const url = urlOf(value, ctx, ['postgres:', 'postgresql:'], 'postgres:');
  if (!url) return z.NEVER;
  // A host, or libpq's Unix socket folder (`postgres:///db?host=/folder`, the form the embedded database logs).
  const host = url.hostname || url.searchParams.get('host');
  if (!host || url.pathname.length <= 1) {
    ctx.addIssue({ code: 'custom', message: 'must name a host and a database' });
    return z.NEVER;
  }
  return value;
});

export const httpUrl = z.string().transform((value, ctx) => {
  const url = urlOf(value, ctx, ['http:', 'https:'], 'http: or https:');
  if (!url) return z.NEVER;
  // Stored without a trailing slash so that later code can append paths.
  return url.toString().replace(/\/$/, '');
});

/** A URL with one of `schemes` (each with its colon), kept as written. */
export function urlWithScheme(schemes: readonly string[]) {
  return z.string().transform((value, ctx) => {
    const url = urlOf(value, ctx, schemes, schemes.join(' or '));
    if (!url) return z.NEVER;
    if (!url.hostname) {
      ctx.addIssue({ code: 'custom', message: 'must name a host' });
      return z.NEVER;
    }
    return value;
  });
}

export const resetUrlTemplate = z.string().transform((value, ctx) => {
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

export const trustProxy = z.string().transform((value, ctx): TrustProxy => {
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

/** A path (`./x.js`, `../x.js`, `/srv/x.js`) or an npm package name (`ldap-backend`, `@acme/auth/backend.js`). */
const MODULE_SPECIFIER = /^(\.{0,2}\/[^,\s]+|(@[a-z0-9][\w.-]*\/)?[a-z0-9][\w.-]*(\/[\w./-]+)?)$/i;

/**
 * A comma-separated list, without repeats, of names from `builtins` and of modules (paths or package names): Django's
 * AUTHENTICATION_BACKENDS and PASSWORD_HASHERS, which take a built-in or a dotted path to the user's own.
 */
export function pluggableList<const T extends string>(builtins: readonly T[], { allowEmpty = false } = {}) {
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

/** AUTHENTICATION_BACKENDS: the backends to try, in order; built-in names or modules (docs/extending.md). */
export const authenticationBackends = pluggableList(AUTHENTICATION_BACKENDS);

/** PASSWORD_HASHERS: the first hashes, all verify; built-in names or modules. */
export const passwordHashers = pluggableList(HASHER_ALGORITHMS);

/** PASSWORD_VALIDATORS: the rules a new password must pass, in order; built-in names or modules. */
export const passwordValidators = pluggableList(PASSWORD_VALIDATORS);

/** EVENT_LISTENERS: modules whose default export subscribes to the auth events; none by default. */
export const eventListeners = pluggableList([], { allowEmpty: true });

/** INSTALLED_APPS: modules whose default export is an app (`defineApp`); none by default. */
export const installedApps = pluggableList([], { allowEmpty: true });

/** `*`, or a comma-separated list of origins (`scheme://host[:port]`, nothing after), kept as browsers send them. */
export const corsOrigins = z.string().transform((value, ctx): '*' | string[] => {
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

export const secretList = z.string().transform((value, ctx) => {
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

/** One OpenID Connect provider of OIDC_PROVIDERS. */
export interface OidcProviderSetting {
  /** In the callback's path and in the session's backend (`oidc:<name>`): lower-case letters, digits, - and _. */
  readonly name: string;
  /** The issuer identifier: discovery reads `<issuer>/.well-known/openid-configuration`. */
  readonly issuer: string;
  readonly clientId: string;
  readonly clientSecret: string;
  /** Asked for at the provider; always with `openid`. */
  readonly scopes: readonly string[];
  /** What a login button shows. */
  readonly label: string;
  /**
   * Whether the provider's `amr` saying mfa or otp counts as the account's own second factor checked. Off by
   * default: a provider account anyone may open (with a second factor of their own) must not stand in for this one's.
   */
  readonly trustAmr: boolean;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Whether a URL's host is this machine: the only place plain http may reach a provider (tests, a local sidecar). */
export function isLoopbackUrl(url: string): boolean {
  return LOOPBACK_HOSTS.has(new URL(url).hostname);
}

const oidcProvider = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'name must be 1 to 32 lower-case letters, digits, - or _'),
    issuer: z.string().refine((value) => {
      if (!URL.canParse(value)) return false;
      const url = new URL(value);
      // An ID token's keys and the code exchange travel this way: plain http only on this machine.
      return url.protocol === 'https:' || (url.protocol === 'http:' && isLoopbackUrl(value));
    }, 'issuer must be an https URL (plain http only on a loopback address)'),
    clientId: z.string().trim().min(1, 'clientId is empty'),
    clientSecret: z.string().min(1, 'clientSecret is empty'),
    scopes: z.array(z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'a scope has a blank or a quote')).optional(),
    label: z.string().trim().min(1).max(100).optional(),
    trustAmr: z.boolean().optional(),
  })
  .strict();

/** OIDC_PROVIDERS: a JSON list of providers, names unique. */
export const oidcProviders = z.string().transform((value, ctx): OidcProviderSetting[] => {
  let json: unknown;
  try {
    json = JSON.parse(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not JSON (a list of {name, issuer, clientId, clientSecret})' });
    return z.NEVER;
  }
  const parsed = z.array(oidcProvider).safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    ctx.addIssue({ code: 'custom', message: `is not a list of providers${where}: ${issue?.message ?? 'invalid'}` });
    return z.NEVER;
  }
  const names = parsed.data.map((provider) => provider.name);
  const repeated = names.find((name, index) => names.indexOf(name) !== index);
  if (repeated !== undefined) {
    ctx.addIssue({ code: 'custom', message: `names provider ${repeated} twice` });
    return z.NEVER;
  }
  return parsed.data.map((provider) =>
    Object.freeze({
      name: provider.name,
      issuer: provider.issuer,
      clientId: provider.clientId,
      clientSecret: provider.clientSecret,
      scopes: Object.freeze([...new Set(['openid', ...(provider.scopes ?? ['email', 'profile'])])]),
      label: provider.label ?? provider.name,
      trustAmr: provider.trustAmr ?? false,
    }),
  );
});
