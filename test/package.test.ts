/**
 * The package as its users get it: `npm run build` emits dist/, `import 'graphql-auth-server'` resolves through
 * package.json's "exports" to the public surface (src/index.ts) with its type declarations, and the built server
 * (dist/main.js, what `npm start` runs) answers on its own, without tsx.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createTestDatabase, databaseEnv, scratchDir, type TestDatabase } from './support/database.js';
import { spawnServer, type ServerProcess } from './support/process.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const run = promisify(execFile);

/** The public surface, by name: an export added or dropped is a change of the package's API, made on purpose. */
const PUBLIC_EXPORTS = [
  'ANONYMOUS_USER',
  'ConfigError',
  'ContentType',
  'ErrorCode',
  'Group',
  'ImproperlyConfigured',
  'NotFound',
  'Permission',
  'PermissionDenied',
  'SchemaGuardError',
  'ServiceError',
  'StartupError',
  'UserEntity',
  'ValidationError',
  'authorizationDirectives',
  'buildSchema',
  'collapseDenialsPlugin',
  'createApp',
  'createAuth',
  'createIfMissing',
  'createLogger',
  'cursorOf',
  'defineApp',
  'deleteObjectPermissions',
  'fieldsOutsidePublic',
  'grantObjectPermission',
  'guardSchema',
  'idOf',
  'idOfCursor',
  'installedApps',
  'isAnonymous',
  'isAuthenticated',
  'loadConfig',
  'loadEnvFile',
  'loadExtensions',
  'openDatabase',
  'pageSizeOf',
  'repeatedGuards',
  'revokeObjectPermission',
  'schemaOf',
  'startServer',
];

/** A folder where `graphql-auth-server` resolves to this checkout, as it would once installed. */
function consumerDir(): string {
  const dir = scratchDir('consumer');
  fs.mkdirSync(path.join(dir, 'node_modules'));
  fs.symlinkSync(ROOT, path.join(dir, 'node_modules', 'graphql-auth-server'), 'dir');
  // Its own types come from the checkout's @types/node, as they would from the consumer's own install.
  fs.symlinkSync(path.join(ROOT, 'node_modules', '@types'), path.join(dir, 'node_modules', '@types'), 'dir');
  return dir;
}

beforeAll(async () => {
  await run('npm', ['run', '--silent', 'build'], { cwd: ROOT });
}, 180_000);

describe('the package', () => {
  it("exports its public surface by name through package.json's exports", async () => {
    const { stdout } = await run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        "const api = await import('graphql-auth-server'); console.log(JSON.stringify(Object.keys(api).sort()));",
      ],
      { cwd: consumerDir() },
    );
    expect(JSON.parse(stdout)).toEqual(PUBLIC_EXPORTS);
  });

  it('gives its type declarations to a TypeScript consumer', async () => {
    const dir = consumerDir();
    fs.writeFileSync(
      path.join(dir, 'consumer.ts'),
      [
        "import { createAuth, type Config, type CustomAuthenticationBackend } from 'graphql-auth-server';",
        'export const make = (config: Config) => createAuth(config).backends.length;',
        "export const backend: CustomAuthenticationBackend = { name: 'none', authenticate: () => Promise.resolve(null) };",
        // A wrong type must be an error: proof that the declarations, not `any`, were read.
        '// @ts-expect-error a number is not a configuration',
        'createAuth(42);',
      ].join('\n'),
    );
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: 'module' }));
    fs.writeFileSync(
      path.join(dir, 'tsconfig.json'),
      JSON.stringify({
        // skipLibCheck as most projects set it: the declarations of dependencies (pg's) are not this package's.
        compilerOptions: {
          module: 'nodenext',
          target: 'es2024',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['consumer.ts'],
      }),
    );
    const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    await expect(run(process.execPath, [tsc, '-p', dir], { cwd: dir })).resolves.toMatchObject({ stdout: '' });
  }, 60_000);
});

describe('the built server, dist/main.js', () => {
  let testDatabase: TestDatabase;
  let server: ServerProcess | undefined;
  beforeAll(async () => {
    testDatabase = await createTestDatabase();
  });
  afterAll(async () => {
    server?.child.kill('SIGKILL');
    await server?.exited;
    await testDatabase.drop();
  });

  it('answers /readyz and a query, without tsx', async () => {
    server = spawnServer(databaseEnv(testDatabase), { built: true });
    const url = await server.ready();
    const ready = await fetch(`${url}/readyz`);
    expect({ status: ready.status, body: await ready.json() }).toEqual({ status: 200, body: { status: 'ready' } });
    const me = await fetch(`${url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ me { id } }' }),
    });
    expect({ status: me.status, body: await me.json() }).toEqual({ status: 200, body: { data: { me: null } } });
  });
});

describe("npm start's build step (src/cli/prestart.mjs) where TypeScript is not installed", () => {
  // A copy outside the checkout: no node_modules/typescript to find, as after `npm ci --omit=dev`.
  async function prestartIn(withBuild: boolean): Promise<{ code: number; stderr: string }> {
    const dir = scratchDir('prestart');
    fs.mkdirSync(path.join(dir, 'src/cli'), { recursive: true });
    fs.copyFileSync(path.join(ROOT, 'src/cli/prestart.mjs'), path.join(dir, 'src/cli/prestart.mjs'));
    if (withBuild) {
      fs.mkdirSync(path.join(dir, 'dist'));
      fs.writeFileSync(path.join(dir, 'dist/main.js'), '');
    }
    try {
      await run(process.execPath, [path.join(dir, 'src/cli/prestart.mjs')], { cwd: dir });
      return { code: 0, stderr: '' };
    } catch (error) {
      const { code, stderr } = error as { code: number; stderr: string };
      return { code, stderr };
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  it('runs the build shipped in dist/ as it is', async () => {
    expect(await prestartIn(true)).toEqual({ code: 0, stderr: '' });
  });

  it('stops with one line saying how to build, when there is none', async () => {
    expect(await prestartIn(false)).toEqual({
      code: 1,
      stderr:
        'error: dist/ holds no build and TypeScript is not installed: run `npm run build` where the dev dependencies ' +
        'are installed (npm install), then start again\n',
    });
  });
});
