/**
 * `resetsecondfactor USERNAME`: an operator turns a user's two-factor authentication off, for a lost phone when no
 * administrator can do it from the API (the only superuser's own, say). The same reset as resetUserSecondFactor:
 * device and recovery codes removed, sessions ended, audited (with no actor: an operator ran it).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Auth } from '../auth/index.js';
import { RecoveryCodes } from '../auth/recovery-codes.js';
import { SecretBox } from '../auth/secret-box.js';
import { systemClock } from '../auth/clock.js';
import { TotpDevices } from '../auth/totp-devices.js';
import { normalizeUsername } from '../auth/users.js';
import type { Config } from '../config/index.js';
import { User } from '../entities/user.js';
import { resetSecondFactor } from '../services/second-factor.js';
import type { SessionEnder } from '../services/session-flow.js';

export const RESETSECONDFACTOR_HELP = `Usage: npm run manage -- resetsecondfactor USERNAME

Turns the user's two-factor authentication off: removes their TOTP device and recovery codes and ends their
sessions; they log in with the password alone, and may turn it on again. For a lost phone when no administrator
can reset it with resetUserSecondFactor (the only superuser's own). Audited as SECOND_FACTOR_RESET.`;

export interface ResetSecondFactorDeps {
  readonly em: EntityManager;
  readonly auth: Pick<Auth, 'events'>;
  readonly config: Pick<Config, 'secondFactor'>;
  readonly sessions: SessionEnder;
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export async function resetSecondFactorCommand(username: string, deps: ResetSecondFactorDeps): Promise<number> {
  const { em, auth, config, sessions } = deps;
  const user = await em.findOne(User, { username: normalizeUsername(username) });
  if (!user) {
    deps.err(`error: user '${username}' does not exist`);
    return 1;
  }
  const box = new SecretBox(config.secondFactor.encryptionKeys);
  const ended = await resetSecondFactor(
    {
      em,
      totp: new TotpDevices(box, { issuer: config.secondFactor.issuer }, systemClock),
      recoveryCodes: new RecoveryCodes(box, systemClock),
      core: auth,
      sessions,
    },
    user.id,
    null,
  );
  if (ended === undefined) {
    deps.err(`error: user '${user.username}' has no two-factor authentication on`);
    return 1;
  }
  deps.out(`Two-factor authentication of user '${user.username}' reset: ${ended} session(s) ended.`);
  return 0;
}
