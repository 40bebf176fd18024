/**
 * The floor: what any GraphQL server on this stack pays for a logged-in request before authenticating anything.
 * The ceiling (ceiling.ts) plus the parts an authenticated request cannot do without, each as its library ships it:
 * a request log line (pino-http), express-session reading the signed cookie, one SELECT of the session row from
 * PostgreSQL (the same table and sessions the real server wrote), and `{ me { id } }` answered from the session.
 * No user row, no groups, no permissions: the gap between this and the real server is what the auth layer costs.
 *
 * Run by the bench with SESSION_SECRET and DATABASE_URL of the real server it is compared with. FLOOR_PARTS
 * (comma-separated, all three by default) runs only some parts, so that the bench can say what each one costs:
 * `log` (the request log line), `session` (express-session; without `select`, each session row is read once and then
 * kept in memory), `select` (the session row read from PostgreSQL on every request). Without `session`, `me` is a
 * constant, as in the ceiling.
 */
import { randomUUID } from 'node:crypto';
import express from 'express';
import session from 'express-session';
import { pino } from 'pino';
import { pinoHttp } from 'pino-http';
import pg from 'pg';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';

const parts = new Set((process.env.FLOOR_PARTS ?? 'log,session,select').split(','));
// A misspelt part would be measured as absent without a word: refused instead.
const unknown = [...parts].filter((part) => !['log', 'session', 'select'].includes(part));
if (unknown.length > 0 || (parts.has('select') && !parts.has('session'))) {
  throw new Error(
    `FLOOR_PARTS=${process.env.FLOOR_PARTS ?? ''}: parts are log, session, select (select needs session)`,
  );
}

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

const SELECT_SESSION = 'SELECT data FROM gqlauth_session WHERE sid = $1 AND expires_at > now()';

/** Sessions as the real server stores them: one row per session, its data (express-session's cookie included) as JSON. */
class SelectOneRowStore extends session.Store {
  /** Without the `select` part: rows already read (the bench's warm-up reads every one of them). */
  private readonly kept = new Map<string, session.SessionData | null>();

  override get(sid: string, callback: (error: unknown, data?: session.SessionData | null) => void): void {
    const kept = this.kept.get(sid);
    if (kept !== undefined) {
      // Outside the caller's stack, as a store's answer always is.
      process.nextTick(callback, null, kept);
      return;
    }
    pool.query<{ data: session.SessionData }>(SELECT_SESSION, [sid]).then(
      ({ rows: [row] }) => {
        if (!parts.has('select')) this.kept.set(sid, row?.data ?? null);
        callback(null, row?.data ?? null);
      },
      (error: unknown) => {
        callback(error);
      },
    );
  }
  override set(_sid: string, _data: session.SessionData, callback?: (error?: unknown) => void): void {
    callback?.(new Error('the floor never writes a session'));
  }
  override destroy(_sid: string, callback?: (error?: unknown) => void): void {
    callback?.();
  }
}

const apollo = new ApolloServer<{ userId: number | undefined }>({
  typeDefs: 'type User { id: ID! } type Query { me: User }',
  resolvers: { Query: { me: (_parent, _args, { userId }) => (userId === undefined ? null : { id: String(userId) }) } },
});
await apollo.start();

const app = express();
app.set('trust proxy', 'loopback');
if (parts.has('log')) {
  app.use(
    pinoHttp({
      logger: pino({ level: 'info' }),
      genReqId: () => randomUUID(),
      serializers: {
        req: (req: { method?: string; url?: string }) => ({ method: req.method, path: (req.url ?? '').split('?')[0] }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
      },
    }),
  );
}
app.get('/readyz', (_req, res) => {
  res.json({ status: 'ready' });
});
const sessions = session({
  name: 'sessionid',
  secret: process.env.SESSION_SECRET ?? '',
  store: new SelectOneRowStore(),
  saveUninitialized: false,
  resave: false,
  cookie: { httpOnly: true, secure: true, sameSite: 'lax' },
});
app.use(
  '/graphql',
  ...(parts.has('session') ? [sessions] : []),
  express.json(),
  expressMiddleware(apollo, {
    context: ({ req }) => Promise.resolve({ userId: parts.has('session') ? req.session.userId : 1 }),
  }),
);
app.listen(Number(process.env.PORT), '127.0.0.1');
