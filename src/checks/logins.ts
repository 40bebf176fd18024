/**
 * Backends that nobody, or some accounts, cannot log in with: with only the e-mail backend on, an account logs in
 * only by an address of its own (the backend refuses an address several accounts share, and a blank one matches
 * nobody). Only accounts that could log in otherwise are counted: active, with a usable password.
 *
 * Custom backends are not judged: what they take is theirs to say.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Config } from '../config/index.js';
import { selectAll } from '../db/sql.js';
import { warning, type CheckResult } from './index.js';

/** How many usernames a message names before it says "and N more". */
const NAMED = 5;

export async function loginChecks(config: Config, em: EntityManager): Promise<CheckResult[]> {
  const backends = config.authenticationBackends;
  if (backends.length === 0 || !backends.every((backend) => backend === 'email')) return [];
  // Matched as EmailBackend matches: case-insensitively, over every account (inactive ones too share an address).
  const rows = await selectAll<{ username: string; has_address: boolean }>(
    em,
    `SELECT u.username, (trim(u.email) <> '' AND NOT EXISTS (
       SELECT 1 FROM auth_user other WHERE other.id <> u.id AND upper(other.email) = upper(u.email))) AS has_address
     FROM auth_user u WHERE u.is_active AND u.password NOT LIKE '!%' ORDER BY u.username`,
  );
  const stranded = rows.filter((row) => !row.has_address).map((row) => row.username);
  if (stranded.length === 0) return [];
  const names =
    stranded.slice(0, NAMED).join(', ') + (stranded.length > NAMED ? ` and ${stranded.length - NAMED} more` : '');
  const setting = `AUTHENTICATION_BACKENDS=${backends.join(',')} logs in by e-mail address only`;
  const hint =
    'Give each of those accounts an address of its own (the admin API’s updateUser sets it), or let usernames log in too: AUTHENTICATION_BACKENDS=model,email.';
  if (stranded.length === rows.length)
    return [
      warning(
        'auth.W002',
        `${setting}, and none of the ${rows.length} active accounts with a password has an address of its own (${names}): nobody can log in.`,
        hint,
      ),
    ];
  return [
    warning(
      'auth.W003',
      `${setting}, and ${stranded.length} of the ${rows.length} active accounts with a password cannot log in: they have no address, or share it with another account (${names}).`,
      hint,
    ),
  ];
}
