/** What this server keeps in a session: express-session's SessionData, with the core's auth keys. */
import 'express-session';
import type { SessionAuthKeys } from '../auth/session-handle.js';
import type { LoadedData } from './express-session-store.js';

declare module 'express-session' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- a merge: the keys come from SessionAuthKeys
  interface SessionData extends SessionAuthKeys {}
}

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace -- Express's own way to type what middleware adds
  namespace Express {
    interface Request {
      /**
       * Runs express-session for this request, when it needs `req.session` (session.ts): to start a session (a login
       * from a request without one), or to change or end the one its cookie named. Once; later calls wait for it.
       */
      startSession?: () => Promise<void>;
      /**
       * The session the request's cookie named, read by session.ts without express-session (most requests never
       * change their session): its id and data, the user read with it included. Until `startSession` has run.
       */
      loadedSession?: { readonly id: string; readonly data: LoadedData };
    }
  }
}
