/**
 * The polls app's authentication backend, Django's own example of one (`SettingsBackend` in "Customizing
 * authentication"): the organiser logs in with the login name and the password hash the settings hold, and the first
 * login creates a local staff user (without a usable password: the settings stay the only judge of it), which the
 * model backend then reads for each request of the session.
 *
 *   AUTHENTICATION_BACKENDS=./examples/polls/organiser-backend.ts,model
 *   POLLS_ORGANISER_LOGIN=organiser
 *   POLLS_ORGANISER_PASSWORD=pbkdf2_sha256$1000000$...   (a hash, never the password: any format PASSWORD_HASHERS
 *                                                        verifies, Django's included)
 *
 * Without both settings it takes no part (`not_applicable`), and the next backend decides.
 */
import type { BackendCore, CustomAuthenticationBackend } from 'graphql-auth-server';

export default function organiserBackend({ users, passwords }: BackendCore): CustomAuthenticationBackend {
  const login = process.env.POLLS_ORGANISER_LOGIN ?? '';
  const hash = process.env.POLLS_ORGANISER_PASSWORD ?? '';
  return {
    name: 'polls-organiser',
    async authenticate(em, { username, password }, report) {
      if (login === '' || hash === '' || typeof username !== 'string' || typeof password !== 'string') {
        report?.('not_applicable');
        return null;
      }
      // Verified whatever the name, as Django's backends hash for an unknown user too: the time taken must not tell
      // an attacker that they found the organiser's login name.
      const { valid } = await passwords.hashers.verify(password, hash);
      if (username !== login || !valid) {
        report?.(username === login ? 'wrong_password' : 'unknown_user');
        return null;
      }
      return (await users.getByUsername(em, username)) ?? users.createUser(em, { username, isStaff: true });
    },
  };
}
