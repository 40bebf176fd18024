/** What this server keeps in a session: express-session's SessionData, with the core's auth keys. */
import 'express-session';
import type { SessionAuthKeys } from '../auth/session-handle.js';

declare module 'express-session' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- a merge: the keys come from SessionAuthKeys
  interface SessionData extends SessionAuthKeys {}
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's own way to type what middleware adds
  namespace Express {
    interface Request {
      /** Runs express-session for a request that came without a session cookie, when it needs one (session.ts). */
      startSession?: () => Promise<void>;
    }
  }
}
