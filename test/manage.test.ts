/**
 * The management commands as an operator runs them (`npm run manage -- <command>`, or the installed
 * `gqlauth-manage`): seed-demo, createsuperuser and changepassword through piped standard input and --no-input,
 * every command's --help and refusal of bad arguments. `check` has its own file (checks.test.ts).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import polls from '../examples/polls/index.ts';
import { Poll } from '../examples/polls/models.ts';
import { DEMO_GROUP_NAMES, DEMO_USERS, seedDemo } from '../src/cli/seed-demo.js';
import { buildSchema, schemaManifest } from '../src/graphql/schema.js';
import { CHEAP_HASHING, createAuthFixture, type AuthFixture } from './support/auth.js';
import { scratchDir } from './support/database.js';
import { runManage, spawnServer, timeExit } from './support/process.js';

/** The polls example, as an operator installs it. */
const POLLS_APP = './examples/polls/index.ts';

describe('seed-demo', () => {
  let fixture: AuthFixture;
  beforeAll(async () => {
    fixture = await createAuthFixture();
  });
  afterAll(() => fixture.close());

  it('creates the groups, users and polls once; its users log in and hold their groups’ permissions', async () => {
    const first = await seedDemo(fixture.em(), fixture.auth, [polls]);
    expect(first).toHaveLength(DEMO_GROUP_NAMES.length + DEMO_USERS.length + 1);
    expect(await seedDemo(fixture.em(), fixture.auth, [polls])).toEqual([]);
    expect(await fixture.em().count(Poll, {})).toBe(2);
    for (const demo of DEMO_USERS) {
      const result = await fixture.auth.authenticate(fixture.em(), {
        username: demo.username,
        password: demo.password,
      });
      expect(result?.user.username).toBe(demo.username);
    }
    const checker = fixture.auth.permissions(fixture.em());
    const user = async (username: string) =>
      (
        await fixture.auth.authenticate(fixture.em(), {
          username,
          password: DEMO_USERS.find((demo) => demo.username === username)?.password ?? '',
        })
      )?.user ?? null;
    const editor = await user('editor');
    const viewer = await user('viewer');
    expect(await checker.hasPerm(editor, 'polls.add_poll')).toBe(true);
    expect(await checker.hasPerm(viewer, 'polls.view_poll')).toBe(true);
    expect(await checker.hasPerm(viewer, 'polls.add_poll')).toBe(false);
    expect(await checker.hasPerm(editor, 'polls.delete_poll')).toBe(false);
  });

  it('runs as a command, and refuses production', async () => {
    const dataDir = path.join(scratchDir('seed-demo'), 'data');
    const cli = spawnServer(
      { DATA_DIR: dataDir, INSTALLED_APPS: POLLS_APP },
      { entry: 'src/cli/manage.ts', args: ['seed-demo'] },
    );
    expect((await timeExit(cli)).code).toBe(0);
    expect(cli.stdout.filter((line) => line.startsWith('created '))).toHaveLength(6);
    const production = spawnServer(
      { DATA_DIR: dataDir, NODE_ENV: 'production', SESSION_SECRET: 's'.repeat(40) },
      { entry: 'src/cli/manage.ts', args: ['seed-demo'] },
    );
    expect((await timeExit(production)).code).toBe(1);
    expect(production.stderr.filter(Boolean)).toEqual(['error: seed-demo refuses to run with NODE_ENV=production']);
  });
});

describe('createsuperuser and changepassword', () => {
  const dataDir = () => path.join(scratchDir('accounts'), 'data');
  let env: Record<string, string>;
  const run = (args: string[], input?: string, extra: Record<string, string> = {}) =>
    runManage(args, { ...env, ...extra }, input);

  beforeAll(() => {
    env = { DATA_DIR: dataDir(), ...CHEAP_HASHING };
  });

  it('creates a superuser from piped answers, retrying a mismatch and a weak password', async () => {
    const answers = [
      'root',
      'root@example.com',
      'one-password',
      'another-one',
      '1234',
      '1234',
      'a-strong-secret-9',
      'a-strong-secret-9',
      '',
    ];
    const result = await run(['createsuperuser'], answers.join('\n'));
    expect(result.err).toEqual([
      "Error: Your passwords didn't match.",
      'Error: This password is too short. It must contain at least 8 characters.',
      'Error: This password is too common.',
      'Error: This password is entirely numeric.',
    ]);
    expect(result.code).toBe(0);
    expect(result.out).toContain('Superuser created successfully.');
    const again = await run(['createsuperuser', '--username', 'root'], '');
    expect(again).toMatchObject({ code: 1, err: ['Error: A user with that username already exists.'] });
  });

  it('gives up after three failed tries, creating nothing', async () => {
    const result = await run(['createsuperuser', '--username', 'quitter', '--email', ''], 'a\nb\nc\nd\ne\nf\n');
    expect(result.code).toBe(1);
    expect(result.err.at(-1)).toBe('error: no superuser created');
    expect((await run(['changepassword', 'quitter'], '')).err).toEqual(["error: user 'quitter' does not exist"]);
  });

  it('--no-input reads SUPERUSER_*, validates, and refuses an existing username', async () => {
    const ok = await run(['createsuperuser', '--no-input'], undefined, {
      SUPERUSER_USERNAME: 'ci-admin',
      SUPERUSER_EMAIL: 'ci@example.com',
      SUPERUSER_PASSWORD: 'ci-admin-secret-77',
    });
    expect(ok.code).toBe(0);
    const taken = await run(['createsuperuser', '--no-input'], undefined, { SUPERUSER_USERNAME: 'ci-admin' });
    expect(taken).toMatchObject({ code: 1, err: ['Error: A user with that username already exists.'] });
    const weak = await run(['createsuperuser', '--no-input'], undefined, {
      SUPERUSER_USERNAME: 'weak',
      SUPERUSER_PASSWORD: 'password',
    });
    expect(weak).toMatchObject({ code: 1, err: ['Error: This password is too common.'] });
    expect((await run(['createsuperuser', '--no-input'], undefined, {})).err).toEqual([
      'error: --no-input needs SUPERUSER_USERNAME',
    ]);
  });

  it('changepassword asks twice, validates, and the new password is the one that works', async () => {
    const result = await run(['changepassword', 'ci-admin'], 'x\ny\nnew-admin-secret-88\nnew-admin-secret-88\n');
    expect(result.err).toEqual(["Error: Your passwords didn't match."]);
    expect(result.code).toBe(0);
    expect(result.out).toContain("Password changed successfully for user 'ci-admin' (0 session(s) ended).");
    const failed = await run(['changepassword', 'ci-admin'], 'a\nb\nc\nd\ne\nf\n');
    expect(failed.code).toBe(1);
    expect(failed.err.at(-1)).toBe("error: aborting password change for user 'ci-admin' after 3 attempts");
    const usage = await run(['changepassword'], '');
    expect(usage.code).toBe(1);
    expect(usage.err.slice(0, 2)).toEqual([
      'error: give exactly one username',
      'Usage: npm run manage -- changepassword USERNAME',
    ]);
  });
});

describe('every command', () => {
  const COMMANDS = [
    'check',
    'createdb',
    'migrate',
    'createsuperuser',
    'changepassword',
    'resetsecondfactor',
    'clearsessions',
    'pruneaudit',
    'permissions',
    'seed-demo',
  ];
  const manage = async (args: string[]) => {
    const { code, lines, err } = await runManage(args);
    return { code, out: lines, err };
  };

  it('is listed by --help, and without a command the list goes to stderr with exit 1', async () => {
    const help = await manage(['--help']);
    expect(help.code).toBe(0);
    expect(help.out.filter((line) => /^ {2}\S/.test(line)).map((line) => line.trim().split(/\s+/)[0])).toEqual(
      COMMANDS,
    );
    expect(await manage([])).toMatchObject({ code: 1, out: [], err: expect.arrayContaining([help.out[0]]) });
  });

  it.each(COMMANDS)('%s: --help prints its usage and exits 0, touching nothing', async (name) => {
    const { code, out } = await manage([name, '--help']);
    expect(code).toBe(0);
    expect(out[0]).toMatch(new RegExp(`^Usage: npm run (manage -- ${name}|migrate)\\b`));
  });

  it.each([
    ['createsuperuser', '--usernam=x', "error: Unknown option '--usernam'"],
    ['clearsessions', 'now', 'error: this command takes no arguments (got now)'],
    ['permissions', '--all', 'error: this command takes no arguments (got --all)'],
    ['migrate', '--lsit', 'error: unknown argument --lsit'],
    ['check', '--fail-level=info', 'error: --fail-level must be error or warning (got info)'],
  ])('%s refuses %s with exit 1, the reason and its usage', async (name, argument, reason) => {
    const { code, err } = await manage([name, argument]);
    expect(code).toBe(1);
    expect(err[0]).toMatch(new RegExp(`^${reason.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(err[1]).toMatch(/^Usage: /);
  });
});

describe('the installed command, gqlauth-manage', () => {
  it('is package.json’s bin, runs from any directory through its shebang, and prints what manage prints', async () => {
    const root = fileURLToPath(new URL('../', import.meta.url));
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { bin: Record<string, string> };
    const bin = path.join(root, pkg.bin['gqlauth-manage'] ?? '');
    // Executed as a file, as npm's link in node_modules/.bin is: the shebang and the mode bits must be right.
    const { stdout } = await promisify(execFile)(bin, ['permissions'], {
      cwd: scratchDir('installed'),
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ENV_FILE: 'none' },
    });
    expect(stdout).toBe(schemaManifest(buildSchema()));
  });
});
