/**
 * An LDAP-like authentication backend: a directory decides who may log in, and a local user (created at the first
 * login, without a usable password) carries the groups and permissions, as django-auth-ldap does. The directory here
 * is a fixed map; a real one would bind to the LDAP server with the user's DN and password.
 *
 *   AUTHENTICATION_BACKENDS=model,./examples/extensions/ldap-backend.ts
 */
import { timingSafeEqual } from 'node:crypto';
import type { BackendCore, CustomAuthenticationBackend } from 'graphql-auth-server';

const DIRECTORY = new Map([
  ['ada', { password: 'analytical-engine-1843', email: 'ada@example.org' }],
  ['grace', { password: 'compiler-a0-1952', email: 'grace@example.org' }],
]);

/** Equal strings, compared in constant time: the time taken must not tell how much of a password was right. */
function same(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

// A function, so that it receives the core's user manager; a backend that needs nothing may export the object.
export default function ldapBackend({ users }: BackendCore): CustomAuthenticationBackend {
  return {
    name: 'ldap',
    async authenticate(em, credentials, report) {
      const { username, password } = credentials;
      if (typeof username !== 'string' || typeof password !== 'string') {
        report?.('not_applicable');
        return null;
      }
      const entry = DIRECTORY.get(username);
      if (!entry || !same(entry.password, password)) {
        report?.(entry ? 'wrong_password' : 'unknown_user');
        return null;
      }
      // No password is stored here: the directory stays the only judge of it.
      return (await users.getByUsername(em, username)) ?? users.createUser(em, { username, email: entry.email });
    },
    // No getUser: the model backend's reads the local user for each request of the session.
  };
}
