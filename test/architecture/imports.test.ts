/**
 * Imports go one way: main -> http -> graphql -> services -> auth -> stores / entities. Read from the source files
 * themselves: each rule names a folder, what it may not import, and every offending import is listed.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';

const SRC = path.resolve(import.meta.dirname, '../../src');

/** Every `.ts` file under `folder` (tests included: they are part of the folder). */
function sourcesIn(folder: string): string[] {
  return fs
    .readdirSync(path.join(SRC, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => path.join(SRC, folder, file));
}

/** What a file imports: packages by name, project files by their path under src/ (`http/session.ts`). */
function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?['"]([^'"]+)['"]/gm)].map((match) => match[1]);
  return specifiers.map((specifier = '') =>
    specifier.startsWith('.') ? path.relative(SRC, path.resolve(path.dirname(file), specifier)) : specifier,
  );
}

/** `folder`'s imports that `forbidden` matches, as `file -> import`. */
function offenders(folder: string, forbidden: RegExp): string[] {
  return sourcesIn(folder).flatMap((file) =>
    importsOf(file)
      .filter((imported) => forbidden.test(imported))
      .map((imported) => `${path.relative(SRC, file)} -> ${imported}`),
  );
}

describe('the direction of imports', () => {
  it('keeps the core (src/auth) free of Express, GraphQL and HTTP code', () => {
    expect(offenders('auth', /^(express|express-session|graphql|@apollo\/|node:http$|http\/|graphql\/)/)).toEqual([]);
  });

  it('keeps the stores below the core: no auth, http or graphql import', () => {
    expect(offenders('stores', /^(express|express-session|graphql|@apollo\/|auth\/|http\/|graphql\/)/)).toEqual([]);
  });

  it('keeps the use-cases (src/services) free of Express, GraphQL and HTTP code', () => {
    expect(offenders('services', /^(express|express-session|graphql|@apollo\/|node:http$|http\/|graphql\/)/)).toEqual(
      [],
    );
  });

  it('never lets graphql, the commands or the checks reach into http', () => {
    expect([
      ...offenders('graphql', /^http\//),
      ...offenders('cli', /^http\//),
      ...offenders('checks', /^http\//),
    ]).toEqual([]);
  });

  it('leaves SQL out of the Express glue', () => {
    expect(offenders('http', /^db\/sql(\.js)?$|^rate-limiter-flexible$|^redis$/)).toEqual([]);
  });
});
