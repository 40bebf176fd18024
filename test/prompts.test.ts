/**
 * createsuperuser and changepassword at a real terminal (a pseudo-terminal, keystrokes typed into it): passwords
 * are not echoed at all, as Python's getpass; Ctrl-D (end of input) and Ctrl-C end the command at any prompt with
 * exit 1 and a line that says what happened and what was not done. Piped input is manage.test.ts's.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { openDatabase } from '../src/db/database.js';
import { User } from '../src/entities/user.js';
import { CHEAP_HASHING } from './support/auth.js';
import { createTestDatabase, databaseEnv, type TestDatabase } from './support/database.js';
import { testLogger } from './support/env.js';
import { runManage } from './support/process.js';
import { KEY, runInTerminal, type TerminalSession } from './support/terminal.js';

const PASSWORD = 'correct-horse-battery-9';

let testDatabase: TestDatabase;
let env: Record<string, string>;

beforeAll(async () => {
  testDatabase = await createTestDatabase();
  env = { ...databaseEnv(testDatabase), ...CHEAP_HASHING };
});
afterAll(() => testDatabase.drop());

/**
 * Usernames and their stored hashes, read from auth_user. Only once the command has exited: one process at a time
 * may open the embedded database.
 */
async function storedUsers(): Promise<Record<string, string>> {
  const database = await openDatabase(testDatabase.config, testLogger, { migrate: false });
  try {
    const users = await database.orm.em.fork().find(User, {}, { populate: ['password'] });
    return Object.fromEntries(users.map((user) => [user.username, user.password]));
  } finally {
    await database.close();
  }
}

/** Types `answer` at the prompt once the terminal shows it. */
async function answer(terminal: TerminalSession, prompt: string, keys: string) {
  await terminal.waitFor(prompt);
  terminal.type(keys);
}

/** The screen's last non-empty line. */
const lastLine = (terminal: TerminalSession) => terminal.screen().trimEnd().split('\n').at(-1);

describe('createsuperuser at a terminal', () => {
  it('echoes nothing of a password, not even one * per character; a mismatch is asked again', async () => {
    const terminal = runInTerminal(['createsuperuser'], env);
    await answer(terminal, 'Username: ', `root${KEY.enter}`);
    await answer(terminal, 'Email address: ', `root@example.com${KEY.enter}`);
    await answer(terminal, 'Password: ', `mismatched-one-7${KEY.enter}`);
    await answer(terminal, 'Password (again): ', `mismatched-two-7${KEY.enter}`);
    await answer(terminal, 'Password: ', `${PASSWORD}${KEY.enter}`);
    await answer(terminal, 'Password (again): ', `${PASSWORD}${KEY.enter}`);
    expect(await terminal.exit()).toBe(0);
    const screen = terminal.screen();
    expect(screen).toContain(
      [
        'Password: ',
        'Password (again): ',
        "Error: Your passwords didn't match.",
        'Password: ',
        'Password (again): ',
        'Superuser created successfully.',
      ].join('\n'),
    );
    // Not the characters, and not their number: nothing at all is sent to the terminal while a password is typed.
    for (const secret of [PASSWORD, 'mismatched-one-7', 'mismatched-two-7']) {
      expect(terminal.raw()).not.toContain(secret.slice(0, 3));
    }
    expect(terminal.raw()).not.toContain('*');
    expect(Object.keys(await storedUsers())).toContain('root');
  });

  it('Ctrl-D at the first prompt ends it with exit 1 and says no superuser was created', async () => {
    const terminal = runInTerminal(['createsuperuser'], env);
    await answer(terminal, 'Username: ', KEY.ctrlD);
    expect(await terminal.exit()).toBe(1);
    expect(lastLine(terminal)).toBe('error: input ended (Ctrl-D); no superuser created');
  });

  it('Ctrl-D at a password prompt ends it the same way, writing no user', async () => {
    const terminal = runInTerminal(['createsuperuser', '--email', ''], env);
    await answer(terminal, 'Username: ', `eof-at-password${KEY.enter}`);
    await answer(terminal, 'Password: ', `${PASSWORD}${KEY.enter}`);
    await answer(terminal, 'Password (again): ', KEY.ctrlD);
    expect(await terminal.exit()).toBe(1);
    expect(lastLine(terminal)).toBe('error: input ended (Ctrl-D); no superuser created');
    expect(Object.keys(await storedUsers())).not.toContain('eof-at-password');
  });

  it('Ctrl-C at the first password prompt says it was interrupted, not "after 3 attempts", writing no user', async () => {
    const terminal = runInTerminal(['createsuperuser', '--username', 'interrupted', '--email', ''], env);
    await answer(terminal, 'Password: ', KEY.ctrlC);
    expect(await terminal.exit()).toBe(1);
    expect(lastLine(terminal)).toBe('error: interrupted (Ctrl-C); no superuser created');
    expect(terminal.screen()).not.toContain('attempts');
    expect(Object.keys(await storedUsers())).not.toContain('interrupted');
  });
});

describe('changepassword at a terminal', () => {
  let before: string | undefined;
  beforeAll(async () => {
    const created = await runManage(['createsuperuser', '--no-input'], {
      ...env,
      SUPERUSER_USERNAME: 'alice',
      SUPERUSER_PASSWORD: 'alice-first-secret-1',
    });
    expect(created.code).toBe(0);
    before = (await storedUsers()).alice;
  });

  it('Ctrl-C at the first password prompt says it was interrupted and the password is unchanged', async () => {
    const terminal = runInTerminal(['changepassword', 'alice'], env);
    await answer(terminal, 'Password: ', KEY.ctrlC);
    expect(await terminal.exit()).toBe(1);
    expect(lastLine(terminal)).toBe("error: interrupted (Ctrl-C); the password of 'alice' was not changed");
    expect(terminal.screen()).not.toContain('attempts');
    expect((await storedUsers()).alice).toBe(before);
  });

  it('Ctrl-D at the second password prompt ends it with exit 1, the password unchanged', async () => {
    const terminal = runInTerminal(['changepassword', 'alice'], env);
    await answer(terminal, 'Password: ', `${PASSWORD}${KEY.enter}`);
    await answer(terminal, 'Password (again): ', KEY.ctrlD);
    expect(await terminal.exit()).toBe(1);
    expect(lastLine(terminal)).toBe("error: input ended (Ctrl-D); the password of 'alice' was not changed");
    expect((await storedUsers()).alice).toBe(before);
  });

  it('changes the password, echoing nothing of it', async () => {
    const terminal = runInTerminal(['changepassword', 'alice'], env);
    await answer(terminal, 'Password: ', `${PASSWORD}${KEY.enter}`);
    await answer(terminal, 'Password (again): ', `${PASSWORD}${KEY.enter}`);
    expect(await terminal.exit()).toBe(0);
    expect(terminal.screen()).toContain("Password changed successfully for user 'alice'");
    expect(terminal.raw()).not.toContain(PASSWORD.slice(0, 3));
    expect(terminal.raw()).not.toContain('*');
    expect((await storedUsers()).alice).not.toBe(before);
  });
});

describe('piped input that ends before the password', () => {
  it('says the input ended, not "after 3 attempts"', async () => {
    const result = await runManage(['changepassword', 'alice'], env, `${PASSWORD}\n`);
    expect(result.code).toBe(1);
    expect(result.err.at(-1)).toBe("error: input ended; the password of 'alice' was not changed");
  });
});
