/**
 * The file a package name in a setting (`acme-validators`, `@acme/auth/backend.js`) stands for in a project: the
 * package is found from the project's directory as Node finds it (node_modules, upwards), and its entry for
 * `import` is read from its package.json: `exports` under the conditions node, import, module-sync and default,
 * else `main`, else index.js (Node's ESM resolution, without the deprecated folder mappings).
 *
 * Node resolves a bare name for import() only from the importing module: import.meta.resolve takes no other parent
 * without a flag, and require.resolve misses ESM-only packages (exports with an "import" condition alone).
 */
import fs from 'node:fs';
import { findPackageJSON } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** What `import` matches in exports, in Node's default set. */
const CONDITIONS = new Set(['node', 'import', 'module-sync', 'default']);

/** A bare specifier's package name and subpath (`.` or `./rest`); undefined for a path, a URL or a `node:` module. */
export function packageSpecifier(specifier: string): { name: string; subpath: string } | undefined {
  const match = /^(@[^/\\%:]+\/[^/\\%:]+|[^./\\%:@][^/\\%:]*)(\/.*)?$/.exec(specifier);
  if (!match?.[1]) return undefined;
  return { name: match[1], subpath: `.${match[2] ?? ''}` };
}

/**
 * The file `specifier` names in the package installed for the project in `dir`; undefined when the package is not
 * installed there. Throws, saying why, when it is but has nothing there to import.
 */
export function installedEntry(specifier: string, dir: string): string | undefined {
  const parsed = packageSpecifier(specifier);
  if (!parsed) return undefined;
  let manifest: string | undefined;
  try {
    manifest = findPackageJSON(parsed.name, pathToFileURL(path.join(dir, 'package.json')));
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw error;
  }
  if (manifest === undefined) return undefined;
  const root = path.dirname(manifest);
  const { exports, main } = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { exports?: unknown; main?: unknown };
  const { subpath } = parsed;
  if (exports === undefined || exports === null)
    return legacyEntry(root, typeof main === 'string' ? main : undefined, subpath);
  const target = exported(exports, subpath);
  if (typeof target !== 'string')
    throw new Error(`the package exports ${subpath === '.' ? 'no main entry' : `no ${subpath}`} to import`);
  const file = path.resolve(root, target);
  // A target outside the package (`./../x`) is invalid in Node too.
  if (path.relative(root, file).startsWith('..')) throw new Error(`the package's exports point outside it: ${target}`);
  return file;
}

/** Without exports: a subpath as it is, else `main` (with Node's .js and /index.js guesses), else index.js. */
function legacyEntry(root: string, main: string | undefined, subpath: string): string {
  if (subpath !== '.') return path.join(root, subpath);
  const candidates = main === undefined ? [] : [main, `${main}.js`, path.join(main, 'index.js')];
  for (const candidate of [...candidates, 'index.js']) {
    const file = path.resolve(root, candidate);
    if (fs.statSync(file, { throwIfNoEntry: false })?.isFile()) return file;
  }
  throw new Error(`the package has no ${main ?? 'index.js'}`);
}

/** The target `exports` maps `subpath` to (relative to the package), or null/undefined when it exports nothing there. */
function exported(exports: unknown, subpath: string): string | null | undefined {
  const map: Record<string, unknown> = isSubpathMap(exports) ? exports : { '.': exports };
  if (Object.hasOwn(map, subpath) && !subpath.includes('*')) return target(map[subpath], undefined);
  // Patterns (`./*`, `./lib/*.js`): the longest prefix wins, then the longest key, as Node's PATTERN_KEY_COMPARE.
  let best: { key: string; match: string } | undefined;
  for (const key of Object.keys(map)) {
    const star = key.indexOf('*');
    if (star === -1 || key.includes('*', star + 1)) continue;
    const [prefix, suffix] = [key.slice(0, star), key.slice(star + 1)];
    if (!subpath.startsWith(prefix) || subpath === prefix) continue;
    if (suffix !== '' && (!subpath.endsWith(suffix) || subpath.length < key.length)) continue;
    if (best && (best.key.indexOf('*') > star || (best.key.indexOf('*') === star && best.key.length >= key.length)))
      continue;
    best = { key, match: subpath.slice(prefix.length, subpath.length - suffix.length) };
  }
  return best ? target(map[best.key], best.match) : undefined;
}

/** Whether exports is keyed by subpaths (`.`, `./x`) rather than conditions or a single target. */
function isSubpathMap(exports: unknown): exports is Record<string, unknown> {
  return (
    typeof exports === 'object' &&
    exports !== null &&
    !Array.isArray(exports) &&
    Object.keys(exports).some((key) => key.startsWith('.'))
  );
}

/** Node's PACKAGE_TARGET_RESOLVE: a string (`*` replaced by `match`), the first of an array, the first condition met. */
function target(value: unknown, match: string | undefined): string | null | undefined {
  if (typeof value === 'string') {
    if (!value.startsWith('./')) return undefined;
    return match === undefined ? value : value.replaceAll('*', match);
  }
  if (Array.isArray(value)) {
    for (const item of value) {
      const resolved = target(item, match);
      if (resolved !== undefined) return resolved;
    }
    return null;
  }
  if (typeof value === 'object' && value !== null) {
    for (const [condition, next] of Object.entries(value)) {
      if (!CONDITIONS.has(condition)) continue;
      const resolved = target(next, match);
      if (resolved !== undefined) return resolved;
    }
    return undefined;
  }
  return null;
}
