/**
 * The file a package name in a setting (`acme-validators`, `@acme/auth/backend.js`) stands for in a project: the
 * package is found from the project's directory as Node finds it (node_modules, upwards), and its entry for
 * `import` is read from its package.json: `exports` as Node reads it for `import` (resolve.exports), else `main`,
 * else index.js (Node's ESM resolution, without the deprecated folder mappings).
 *
 * Node resolves a bare name for import() only from the importing module: import.meta.resolve takes no other parent
 * without a flag, and require.resolve misses ESM-only packages (exports with an "import" condition alone).
 */
import fs from 'node:fs';
import { findPackageJSON } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { exports as resolveExports } from 'resolve.exports';

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
  const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string; exports?: unknown; main?: string };
  const { subpath } = parsed;
  if (pkg.exports === undefined || pkg.exports === null) return legacyEntry(root, pkg.main, subpath);
  let target: string | undefined;
  try {
    // Node's rules for `import` (conditions node, import, default), by resolve.exports; it throws when none match.
    target = resolveExports({ ...pkg, name: parsed.name }, subpath)?.[0];
  } catch {
    target = undefined;
  }
  if (target === undefined)
    throw new Error(`the package exports ${subpath === '.' ? 'no main entry' : `no ${subpath}`} to import`);
  const file = path.resolve(root, target);
  // A target outside the package (`./../x`) is invalid in Node too.
  if (path.relative(root, file).startsWith('..')) throw new Error(`the package's exports point outside it: ${target}`);
  return file;
}

/** Without exports: a subpath as it is, else `main` (with Node's .js and /index.js guesses), else index.js. */
function legacyEntry(root: string, main: string | undefined, subpath: string): string {
  if (subpath !== '.') {
    const file = path.join(root, subpath);
    // `acme/../../x` would name a file outside the package: refused, as exports' targets outside it are.
    if (path.relative(root, file).startsWith('..')) throw new Error(`the package has no ${subpath} inside it`);
    return file;
  }
  const candidates = main === undefined ? [] : [main, `${main}.js`, path.join(main, 'index.js')];
  for (const candidate of [...candidates, 'index.js']) {
    const file = path.resolve(root, candidate);
    if (fs.statSync(file, { throwIfNoEntry: false })?.isFile()) return file;
  }
  throw new Error(`the package has no ${main ?? 'index.js'}`);
}
