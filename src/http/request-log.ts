/**
 * Each request gets an id, logged with every line written while serving it (see logger.ts), sent back in the
 * X-Request-Id header and in every error response, so that a user's report ("request 3f2c… failed") leads
 * straight to the log lines. One line per finished request: method, path, status, duration (pino-http's fields and
 * messages, written by a `finish` handler of our own: pino-http's own cost about 40 us per request, a sixth of an
 * authenticated `me`).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Request, RequestHandler } from 'express';
import { runWithRequestId, type Logger } from '../logger.js';

/** An id a proxy may hand us: short, and nothing that could forge a log line or a header. */
const UPSTREAM_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Probes of orchestrators and load balancers: answered, never logged (one line per probe per second is noise). */
const PROBES = new Set(['/healthz', '/readyz']);

/** The id of the request being served, as express-session and the error handler see it. */
export function requestIdOf(req: IncomingMessage): string {
  const { id } = req as { id?: unknown };
  return typeof id === 'string' ? id : '';
}

/** Each request's client address, worked out once (req.ip parses X-Forwarded-For again at every read). */
const clientIps = new WeakMap<IncomingMessage, string>();

/** Express's req.ip: the socket's address, or X-Forwarded-For only as far as TRUST_PROXY trusts it. */
export function clientIpOf(req: Request): string {
  let ip = clientIps.get(req);
  if (ip === undefined) clientIps.set(req, (ip = req.ip ?? req.socket.remoteAddress ?? ''));
  return ip;
}

/**
 * The X-Request-Id a proxy in front of us sent, if the request came through one we trust (TRUST_PROXY) and it is
 * well-formed: adopted as this request's id, so that the proxy's log and ours join on it. Only from a trusted proxy:
 * from anyone else the header is the client's, and a client must not choose its requests' ids (to share one with
 * someone else's, or to forge a log line). The proxy must set the header itself, not pass a client's through
 * (nginx: `proxy_set_header X-Request-Id $request_id;`).
 */
function upstreamIdOf(req: Request): string | undefined {
  const header = req.headers['x-request-id'];
  const trusted = req.app.get('trust proxy fn') as (address: string, hop: number) => boolean;
  if (typeof header !== 'string' || !UPSTREAM_ID.test(header)) return undefined;
  return trusted(req.socket.remoteAddress ?? '', 0) ? header : undefined;
}

export function requestLogging(serverLogger: Logger): RequestHandler[] {
  // The request line has fixed fields, none of them secret: the logger's redaction (password keys at any depth) would
  // only cost it half its time.
  const logger = serverLogger.child({}, { redact: [] });
  const assignId: RequestHandler = (req, res, next) => {
    const id = upstreamIdOf(req) ?? randomUUID();
    (req as { id?: string }).id = id;
    res.setHeader('X-Request-Id', id);
    runWithRequestId(id, next, clientIpOf(req));
  };
  const logRequest: RequestHandler = (req, res, next) => {
    const path = pathOf(req.url);
    if (PROBES.has(path)) {
      next();
      return;
    }
    const startedAt = performance.now();
    // Written from the response's 'finish' or 'close' event, which may fire outside the request's async context (a
    // client that went away): the line names its request itself.
    const done = (aborted: boolean) => {
      // A client that went away is its own business (a closed tab, a timeout of its own): info, as pino-http logged it.
      const failed = res.statusCode >= 500;
      // Method, path and status only, never a header (so never a cookie); the path without its query string, which
      // for a GET holds the operation and its variables.
      logger[failed ? 'error' : 'info'](
        {
          reqId: requestIdOf(req),
          req: { method: req.method, path },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - startedAt),
        },
        aborted ? 'request aborted' : 'request completed',
      );
    };
    res.once('finish', () => {
      done(false);
    });
    res.once('close', () => {
      // After 'finish', 'close' is the socket's: the line is written. Before it, the client went away.
      if (!res.writableFinished) done(true);
    });
    next();
  };
  return [assignId, logRequest];
}

/** The path of a request's URL, without its query string. */
function pathOf(url: string | undefined): string {
  const query = (url ?? '').indexOf('?');
  return query === -1 ? (url ?? '') : (url ?? '').slice(0, query);
}
