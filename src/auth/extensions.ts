/**
 * Loads the modules that AUTHENTICATION_BACKENDS, PASSWORD_HASHERS, PASSWORD_VALIDATORS and EVENT_LISTENERS name
 * besides the built-ins (Django's dotted paths in the same settings), once, at start-up:
 *
 *   const config = await loadExtensions(loadConfig());   // then createAuth(config) uses them
 *
 * A path (`./backends/ldap.js`) is resolved against the process's working directory, as an operator reads it; so is
 * a package name (`acme-ldap-backend`), installed in the operator's project (./package-entry.ts), else imported as
 * this server imports its own dependencies. Each module's default export is checked against the interface its
 * setting needs (docs/extending.md); one that does not load or does not fit stops the start with one line naming
 * the setting and the module (ImproperlyConfigured).
 */
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Config, ModuleEntry, Pluggable } from '../config/index.js';
import { AUTHENTICATION_BACKENDS, HASHER_ALGORITHMS, PASSWORD_VALIDATORS } from '../config/index.js';
import { ImproperlyConfigured } from './errors.js';
import { installedEntry, packageSpecifier } from './package-entry.js';

type Setting =
  'AUTHENTICATION_BACKENDS' | 'PASSWORD_HASHERS' | 'PASSWORD_VALIDATORS' | 'EVENT_LISTENERS' | 'INSTALLED_APPS';

/** What each setting's modules must export by default, as a check and the words that describe it. */
const EXPECTED: Record<
  Setting,
  { builtins: readonly string[]; what: string; needs: string; fits(value: unknown): boolean }
> = {
  AUTHENTICATION_BACKENDS: {
    builtins: AUTHENTICATION_BACKENDS,
    what: 'an authentication backend',
    needs: 'name, authenticate() and optionally getUser(), or a function of the core that returns one',
    // A function is a factory, checked when createAuth calls it (backends.ts, `backendFrom`).
    fits: (value) => typeof value === 'function' || isBackend(value),
  },
  PASSWORD_HASHERS: {
    builtins: HASHER_ALGORITHMS,
    what: 'a password hasher',
    needs: 'algorithm (letters, digits, _), encode() and verify()',
    fits: (value) =>
      hasMethods(value, 'encode', 'verify') &&
      typeof (value as { algorithm?: unknown }).algorithm === 'string' &&
      /^[a-z0-9_]+$/.test((value as { algorithm: string }).algorithm),
  },
  PASSWORD_VALIDATORS: {
    builtins: PASSWORD_VALIDATORS,
    what: 'a password validator',
    needs: 'validate(password, user)',
    fits: (value) => hasMethods(value, 'validate'),
  },
  EVENT_LISTENERS: {
    builtins: [],
    what: 'a function that subscribes listeners',
    needs: '(events) => void',
    fits: (value) => typeof value === 'function',
  },
  INSTALLED_APPS: {
    builtins: [],
    what: 'an app',
    needs: 'defineApp({ label, ... }) (docs/apps.md)',
    // The rest is checked by defineApp, which installedApps runs again on each (src/apps.ts).
    fits: (value) =>
      typeof value === 'object' && value !== null && typeof (value as { label?: unknown }).label === 'string',
  },
};

function hasMethods(value: unknown, ...names: string[]): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    names.every((name) => typeof (value as Record<string, unknown>)[name] === 'function')
  );
}

/** An object with the AuthenticationBackend shape: a non-empty name and authenticate(), getUser() if any a function. */
export function isBackend(value: unknown): boolean {
  if (!hasMethods(value, 'authenticate')) return false;
  const { name, getUser } = value as { name?: unknown; getUser?: unknown };
  return typeof name === 'string' && name.length > 0 && (getUser === undefined || typeof getUser === 'function');
}

/** `config` with the default export of every module its settings name, each checked; built-in names stay as they are. */
export async function loadExtensions(config: Config, cwd = process.cwd()): Promise<Config> {
  const load = <T extends string>(setting: Setting, entries: readonly Pluggable<T>[]) =>
    Promise.all(
      entries.map((entry): Promise<Pluggable<T>> =>
        typeof entry === 'string' ? Promise.resolve(entry) : loadEntry(setting, entry, cwd),
      ),
    );
  const [authenticationBackends, hashers, validators, eventListeners, installedApps] = await Promise.all([
    load('AUTHENTICATION_BACKENDS', config.authenticationBackends),
    load('PASSWORD_HASHERS', config.passwords.hashers),
    load('PASSWORD_VALIDATORS', config.passwords.validators),
    load('EVENT_LISTENERS', config.eventListeners),
    load('INSTALLED_APPS', config.installedApps),
  ]);
  return Object.freeze({
    ...config,
    authenticationBackends: Object.freeze(authenticationBackends),
    eventListeners: Object.freeze(eventListeners.filter((entry): entry is ModuleEntry => typeof entry !== 'string')),
    installedApps: Object.freeze(installedApps.filter((entry): entry is ModuleEntry => typeof entry !== 'string')),
    passwords: Object.freeze({
      ...config.passwords,
      hashers: Object.freeze(hashers),
      validators: Object.freeze(validators),
    }),
  });
}

async function loadEntry(setting: Setting, entry: ModuleEntry, cwd: string): Promise<ModuleEntry> {
  if (entry.loaded !== undefined) return entry;
  const { module } = entry;
  const names = `${setting} names ${module}`;
  const isPath = /^\.{0,2}\//.test(module);
  const file = isPath ? path.resolve(cwd, module) : undefined;
  if (file !== undefined && !fs.existsSync(file))
    throw new ImproperlyConfigured(
      `${names}, which cannot be loaded: there is no such file (relative paths start from the working directory)`,
    );
  let exports: Record<string, unknown>;
  try {
    // A package of the project's own first; else one installed beside this server.
    const entry = file ?? installedEntry(module, cwd);
    exports = (await import(entry === undefined ? module : pathToFileURL(entry).href)) as Record<string, unknown>;
  } catch (error) {
    const { builtins } = EXPECTED[setting];
    // The package itself is missing (not one that it imports): most often a typo of a built-in's name.
    if (!isPath && isMissing(error, module))
      throw new ImproperlyConfigured(
        `${names}, which is ${builtins.length > 0 ? `no built-in (${builtins.join(', ')}) and ` : ''}no installed package`,
      );
    const reason = error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error);
    throw new ImproperlyConfigured(`${names}, which cannot be loaded: ${reason}`);
  }
  if (!('default' in exports) || exports.default === undefined)
    throw new ImproperlyConfigured(`${names}, which has no default export`);
  const { what, needs } = EXPECTED[setting];
  if (!EXPECTED[setting].fits(exports.default))
    throw new ImproperlyConfigured(`${names}, whose default export is not ${what}: it needs ${needs}`);
  return Object.freeze({ module, loaded: exports.default });
}

function isMissing(error: unknown, module: string): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  // Node names the package (`@acme/auth`), some loaders the whole specifier (`@acme/auth/backend.js`).
  const names = [module, packageSpecifier(module)?.name].map((name) => `'${name ?? module}'`);
  return (
    (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') &&
    typeof message === 'string' &&
    names.some((name) => message.includes(name))
  );
}

/** The default export `loadExtensions` checked for `entry`; a module not loaded yet is a mistake of the caller's. */
export function loadedExport(setting: Setting, entry: ModuleEntry): unknown {
  if (entry.loaded === undefined)
    throw new ImproperlyConfigured(
      `${setting} names ${entry.module}, which was not loaded: pass the configuration through loadExtensions() first`,
    );
  return entry.loaded;
}
