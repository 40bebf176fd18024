/**
 * `createsuperuser` and `changepassword`, as Django's: prompts (passwords hidden on a terminal, asked twice,
 * validators run, three tries), or `--no-input` for createsuperuser, reading SUPERUSER_USERNAME, SUPERUSER_EMAIL
 * and SUPERUSER_PASSWORD. Messages go to stderr, prompts and results to stdout; 0 on success, 1 on failure.
 * Ctrl-D (end of input) or Ctrl-C at any prompt ends the command with 1 and a line saying what was not done.
 * Their arguments are parsed (and refused) in manage.ts, before anything is opened.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { ValidationError, type Auth } from '../auth/index.js';
import { validatePassword, type UserAttributes } from '../auth/password-validation.js';
import { storedHash } from '../auth/passwords.js';
import { isEmailAddress, normalizeUsername, validateNewUsername } from '../auth/users.js';
import type { Config } from '../config/index.js';
import { User } from '../entities/user.js';
import { setPassword } from '../services/accounts.js';
import { PasswordChangedMeanwhile } from '../services/errors.js';
import type { SessionEnder } from '../services/session-flow.js';
import { PromptStopped, type Prompter } from './prompt.js';

/** Django's changepassword gives up after three; so do both commands, for each question. */
const MAX_TRIES = 3;

export interface AccountCommandDeps {
  em: EntityManager;
  auth: Auth;
  config: Config;
  prompter: Prompter;
  /** For SUPERUSER_* in --no-input mode. */
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
  err: (line: string) => void;
}

/** A new password, asked twice and validated against `user`; null after MAX_TRIES failures. */
async function askNewPassword(deps: AccountCommandDeps, user: UserAttributes): Promise<string | null> {
  for (let attempt = 0; attempt < MAX_TRIES; attempt += 1) {
    const first = await deps.prompter.askHidden('Password: ');
    const second = await deps.prompter.askHidden('Password (again): ');
    if (first !== second) {
      deps.err("Error: Your passwords didn't match.");
      continue;
    }
    if (first === '') {
      deps.err("Error: Blank passwords aren't allowed.");
      continue;
    }
    const issues = await validatePassword(first, deps.config.passwords, user);
    if (issues.length === 0) return first;
    for (const issue of issues) deps.err(`Error: ${issue.message}`);
  }
  return null;
}

async function usernameProblem(em: EntityManager, raw: string): Promise<string | undefined> {
  const username = normalizeUsername(raw.trim());
  if (!username) return 'Error: This field cannot be blank.';
  const [issue] = await validateNewUsername(em, username);
  return issue ? `Error: ${issue.message}` : undefined;
}

export const CREATESUPERUSER_HELP = `Usage: npm run manage -- createsuperuser [--username NAME] [--email ADDRESS] [--no-input]

Creates a superuser. Asks for what is not given: username, e-mail (may be blank), password (twice, hidden, checked
by PASSWORD_VALIDATORS; three tries each).
  --no-input   ask nothing: SUPERUSER_USERNAME (required), SUPERUSER_EMAIL and SUPERUSER_PASSWORD from the
               environment; without a password the account gets an unusable one (log in some other way)`;

export interface CreateSuperuserOptions {
  username?: string | undefined;
  email?: string | undefined;
  noInput: boolean;
}

export async function createSuperuser(options: CreateSuperuserOptions, deps: AccountCommandDeps): Promise<number> {
  try {
    return await askAndCreateSuperuser(options, deps);
  } catch (error) {
    if (!(error instanceof PromptStopped)) throw error;
    deps.err(`error: ${error.message}; no superuser created`);
    return 1;
  }
}

async function askAndCreateSuperuser(options: CreateSuperuserOptions, deps: AccountCommandDeps): Promise<number> {
  const { noInput } = options;
  let username = options.username ?? (noInput ? deps.env.SUPERUSER_USERNAME : undefined);
  let email = options.email ?? (noInput ? (deps.env.SUPERUSER_EMAIL ?? '') : undefined);
  let password: string | null = noInput ? (deps.env.SUPERUSER_PASSWORD ?? null) : null;

  if (username !== undefined) {
    const problem = await usernameProblem(deps.em, username);
    if (problem) {
      deps.err(problem);
      return 1;
    }
  } else if (noInput) {
    deps.err('error: --no-input needs SUPERUSER_USERNAME');
    return 1;
  } else {
    for (let attempt = 0; attempt < MAX_TRIES && username === undefined; attempt += 1) {
      const answer = await deps.prompter.ask('Username: ');
      const problem = await usernameProblem(deps.em, answer);
      if (problem) deps.err(problem);
      else username = answer.trim();
    }
    if (username === undefined) {
      deps.err('error: no superuser created');
      return 1;
    }
  }

  if (email === undefined) {
    for (let attempt = 0; attempt < MAX_TRIES && email === undefined; attempt += 1) {
      const answer = await deps.prompter.ask('Email address: ');
      if (answer.trim() === '' || isEmailAddress(answer)) email = answer.trim();
      else deps.err('Error: Enter a valid email address.');
    }
    if (email === undefined) {
      deps.err('error: no superuser created');
      return 1;
    }
  } else if (email !== '' && !isEmailAddress(email)) {
    deps.err('Error: Enter a valid email address.');
    return 1;
  }

  if (noInput) {
    const issues =
      password === null ? [] : await validatePassword(password, deps.config.passwords, { username, email });
    if (issues.length > 0) {
      for (const issue of issues) deps.err(`Error: ${issue.message}`);
      return 1;
    }
  } else {
    password = await askNewPassword(deps, { username, email });
    if (password === null) {
      deps.err('error: no superuser created');
      return 1;
    }
  }

  try {
    await deps.auth.users.createSuperuser(deps.em, { username, email, password });
  } catch (error) {
    if (!(error instanceof ValidationError)) throw error;
    for (const issue of error.issues) deps.err(`Error: ${issue.message}`);
    return 1;
  }
  deps.out('Superuser created successfully.');
  return 0;
}

export const CHANGEPASSWORD_HELP = `Usage: npm run manage -- changepassword USERNAME

Sets USERNAME's password: asked twice, hidden, checked by PASSWORD_VALIDATORS, three tries. Ends every session of
the user.`;

export async function changePassword(
  username: string,
  deps: AccountCommandDeps & { sessions: SessionEnder },
): Promise<number> {
  const user = await deps.em.findOne(User, { username: normalizeUsername(username) });
  if (!user) {
    deps.err(`error: user '${username}' does not exist`);
    return 1;
  }
  deps.out(`Changing password for user '${user.username}'`);
  // Read before the prompts: a change the user (or a reset) makes meanwhile is not overwritten.
  const stored = (await storedHash(deps.em, user.id)) ?? '';
  let password: string | null;
  try {
    password = await askNewPassword(deps, user);
  } catch (error) {
    if (!(error instanceof PromptStopped)) throw error;
    deps.err(`error: ${error.message}; the password of '${user.username}' was not changed`);
    return 1;
  }
  if (password === null) {
    deps.err(`error: aborting password change for user '${user.username}' after ${MAX_TRIES} attempts`);
    return 1;
  }
  let ended: number;
  try {
    ended = await setPassword(
      { em: deps.em, core: deps.auth, config: deps.config },
      {
        user,
        password,
        field: 'password',
        over: { hash: stored, via: 'command' },
        // Whoever is logged in as this user now is logged out: a changed password is often a taken-back account.
        sessions: { after: () => deps.sessions.endSessionsOf(user.id) },
      },
    );
  } catch (error) {
    if (!(error instanceof PasswordChangedMeanwhile)) throw error;
    deps.err(`error: the password of '${user.username}' changed while you typed; nothing was changed: run again`);
    return 1;
  }
  deps.out(`Password changed successfully for user '${user.username}' (${ended} session(s) ended).`);
  return 0;
}
