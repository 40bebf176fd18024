/**
 * The Better Auth reference: `auth.api.getSession({ headers })` behind a minimal `node:http` route (GET /me), with
 * database sessions in PostgreSQL through a pg Pool (no cookie cache: every request reads its session, as this
 * project's do). Its tables are created at start-up by Better Auth's own migrations (`getMigrations`), in the bench's
 * scratch database. The bench seeds its users through Better Auth's own sign-up route (/api/auth/*), whose answer
 * carries a real session cookie.
 *
 * Environment: DATABASE_URL, BETTER_AUTH_SECRET, PORT.
 */
import process from 'node:process';
import http from 'node:http';
import pg from 'pg';
import { betterAuth } from 'better-auth';
import { getMigrations } from 'better-auth/db/migration';
import { fromNodeHeaders, toNodeHandler } from 'better-auth/node';

const port = Number(process.env.PORT);
const auth = betterAuth({
  baseURL: `http://127.0.0.1:${port}`,
  secret: process.env.BETTER_AUTH_SECRET,
  database: new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 }),
  emailAndPassword: { enabled: true },
  // The bench signs its users up from one address, faster than the default limits allow; getSession is not limited.
  rateLimit: { enabled: false },
  telemetry: { enabled: false },
});

const { runMigrations } = await getMigrations(auth.options);
await runMigrations();

const authRoutes = toNodeHandler(auth);
http
  .createServer((req, res) => {
    if (req.url === '/me') {
      auth.api.getSession({ headers: fromNodeHeaders(req.headers) }).then(
        (session) => {
          const body = JSON.stringify(session === null ? null : { user: session.user, session: session.session });
          res.writeHead(session === null ? 401 : 200, { 'content-type': 'application/json' }).end(body);
        },
        (error) => {
          res.writeHead(500).end(String(error));
        },
      );
    } else if (req.url === '/readyz') {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ready"}');
    } else if (req.url?.startsWith('/api/auth/')) {
      void authRoutes(req, res);
    } else {
      res.writeHead(404).end();
    }
  })
  .listen(port, '127.0.0.1');
