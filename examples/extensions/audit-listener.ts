/**
 * An event listener: appends one JSON line per auth event to an audit log (AUDIT_LOG, default audit.log), as a
 * receiver of Django's auth signals would. A listener runs after the fact: whatever it does, or throws, the login
 * (or logout, or password change) has happened, and its answer is the same.
 *
 *   EVENT_LISTENERS=./examples/extensions/audit-listener.ts
 */
import { appendFile } from 'node:fs/promises';
import type { AuthEventBus } from 'graphql-auth-server';

const AUDIT_LOG = process.env.AUDIT_LOG ?? 'audit.log';

function record(event: string, details: Record<string, unknown>): Promise<void> {
  return appendFile(AUDIT_LOG, `${JSON.stringify({ at: new Date().toISOString(), event, ...details })}\n`);
}

export default function subscribe(events: AuthEventBus): void {
  events.on('userLoggedIn', ({ user, backend }) => record('logged_in', { username: user.username, backend }));
  // The credentials arrive scrubbed: the password is asterisks.
  events.on('userLoginFailed', ({ credentials }) => record('login_failed', { username: credentials.username }));
  events.on('userLoggedOut', ({ user }) => record('logged_out', { username: user?.username ?? null }));
  events.on('userPasswordChanged', ({ userId }) => record('password_changed', { userId }));
  events.on('userLockedOut', ({ username, action }) => record('locked_out', { username, action }));
}
