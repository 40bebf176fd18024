/**
 * Each request gets an id, logged with every line written while serving it (see logger.ts), sent back in the
 * X-Request-Id header and in every error response, so that a user's report ("request 3f2c… failed") leads
 * straight to the log lines. pino-http writes one line per finished request: method, path, status, duration.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import type { TrustProxy } from '../config/index.js';
import { runWithRequestId, type Logger } from '../logger.js';

/** An id a proxy may hand us: short, and nothing that could forge a log line or a header. */
const INCOMING_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Probes of orchestrators and load balancers: answered, never logged (one line per probe per second is noise). */
const PROBES = new Set(['/healthz', '/readyz']);

/** The id of the request being served, as express-session and the error handler see it. */
export function requestIdOf(req: IncomingMessage): string {
  const { id } = req as { id?: unknown };
  return typeof id === 'string' ? id : '';
}

export function requestLogging(logger: Logger, trustProxy: TrustProxy): RequestHandler[] {
  // Only a trusted proxy may name the id (so its logs and ours share it); a client could otherwise make two
  // requests look like one.
  const trustIncoming = trustProxy !== false && trustProxy !== 0;
  const assignId: RequestHandler = (req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const id = trustIncoming && typeof incoming === 'string' && INCOMING_ID.test(incoming) ? incoming : randomUUID();
    (req as { id?: string }).id = id;
    res.setHeader('X-Request-Id', id);
    runWithRequestId(id, next);
  };
  const logRequest = pinoHttp({
    logger,
    genReqId: (req) => requestIdOf(req),
    autoLogging: { ignore: (req) => PROBES.has((req.url ?? '').split('?')[0] ?? '') },
    customLogLevel: (_req, res, error) => (error !== undefined || res.statusCode >= 500 ? 'error' : 'info'),
    // The request id comes from the logger's mixin. Method, path and status only: the default serializers log
    // every header, cookies included.
    serializers: {
      // The path only: a GET request's query string holds the operation and its variables.
      req: (req: { method?: string; url?: string }) => ({ method: req.method, path: (req.url ?? '').split('?')[0] }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
  });
  return [assignId, logRequest];
}
