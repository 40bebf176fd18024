/** What this server keeps in a session (express-session's SessionData, extended). Times are epoch milliseconds. */
import 'express-session';

declare module 'express-session' {
  interface SessionData {
    /** The logged-in user; absent for an anonymous session. */
    userId?: number;
    /** The authentication backend that logged them in, asked again for the user on each request. */
    backend?: string;
    /** HMAC of the user's password hash at login (Django's session auth hash): a password change ends the session. */
    authHash?: string;
    loginAt?: number;
    /** Last recorded activity; written at most once per SESSION_TOUCH_INTERVAL. */
    lastActivityAt?: number;
  }
}
