/**
 * The last Express error handler. Express's own prints an HTML page, with a stack trace in development;
 * clients of a GraphQL server get JSON with a stable code instead, and the status the error asks for.
 */
import type { ErrorRequestHandler } from 'express';
import type { Logger } from '../logger.js';
import { requestIdOf } from './request-log.js';

interface HttpError {
  status?: number;
  statusCode?: number;
  type?: string;
  expose?: boolean;
  /** With status 503: the stable code clients see (e.g. SERVICE_UNAVAILABLE from a session store outage). */
  code?: string;
}

/** body-parser's error types, mapped to the codes clients see. */
const codes: Record<string, string> = {
  'entity.parse.failed': 'BAD_REQUEST',
  'entity.too.large': 'PAYLOAD_TOO_LARGE',
  'encoding.unsupported': 'BAD_REQUEST',
  'charset.unsupported': 'BAD_REQUEST',
  'request.aborted': 'BAD_REQUEST',
};

export function errorHandler(logger: Logger): ErrorRequestHandler {
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- Express knows an error handler by its four parameters
  return (error: unknown, req, res, _next) => {
    if (res.headersSent) {
      // Logged here rather than printed to stderr. Reached mostly by express-session's save failing after the
      // answer was already sent whole: the client has it, and the connection stays.
      logger.error({ err: error, path: req.path }, 'request failed after its answer began');
      if (!res.writableEnded) {
        // Half sent, it cannot turn into an error: the connection is cut (as Express's own handler does), so the
        // client sees a broken answer, not a complete-looking one; and ended, so that shutdown does not wait for it
        // (in-flight.ts).
        req.socket.destroy();
        res.end();
      }
      return;
    }
    const { status, statusCode, type, expose, code } = (error ?? {}) as HttpError;
    const httpStatus = status ?? statusCode ?? 500;
    const clientError = httpStatus >= 400 && httpStatus < 500;
    // Not the error object: body-parser attaches the raw body to it, and JSON.parse quotes the body in its
    // message, so a malformed login would put its password in the log.
    if (clientError) logger.debug({ status: httpStatus, type, path: req.path }, 'client error');
    else logger.error({ err: error, path: req.path }, 'request failed');
    if (httpStatus === 503 && code) {
      // Something the server needs is down (and may come back): a retry may work, unlike after a 500.
      res
        .status(503)
        .json({ errors: [{ message: 'Service unavailable', extensions: { code, requestId: requestIdOf(req) } }] });
      return;
    }
    res.status(clientError ? httpStatus : 500).json({
      errors: [
        {
          message: clientError && expose !== false ? errorMessage(error) : 'Internal server error',
          extensions: {
            code: clientError ? (codes[type ?? ''] ?? 'BAD_REQUEST') : 'INTERNAL_SERVER_ERROR',
            requestId: requestIdOf(req),
          },
        },
      ],
    });
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : 'Bad request';
}
