/**
 * The JSON body of a request to /graphql, as `express.json({ limit })` reads it. The request every GraphQL client
 * sends (a POST of `application/json`, UTF-8, with a Content-Length and no Content-Encoding) is read here in a few
 * lines; every other request goes to express.json itself (chunked bodies, compressed ones, other charsets, other
 * media types). body-parser's layers (type-is, raw-body, iconv-lite, an error class per case) were about 3% of an
 * authenticated request's CPU in the bench's profile.
 *
 * What a client sees is the same either way (json-body.test.ts sends the same requests to both): the same
 * `req.body`, the same statuses, the same error types for the error handler (errors.ts).
 */
import type { Readable } from 'node:stream';
import express, { type RequestHandler } from 'express';

/** The media types read here; any other (or any parameter but a UTF-8 charset) goes to express.json. */
const PLAIN_JSON = new Set(['application/json', 'application/json; charset=utf-8', 'application/json;charset=utf-8']);

export function jsonBody(limit: number): RequestHandler {
  const general: RequestHandler = express.json({ limit });
  return (req, res, next) => {
    const { headers } = req;
    const length = headers['content-length'];
    const type = headers['content-type']?.toLowerCase();
    const size = length !== undefined && /^\d{1,15}$/.test(length) ? Number(length) : undefined;
    if (
      req.method !== 'POST' ||
      type === undefined ||
      !PLAIN_JSON.has(type) ||
      headers['content-encoding'] !== undefined ||
      headers['transfer-encoding'] !== undefined ||
      size === undefined ||
      // Past the limit by its declared length: express.json refuses it (413) without parsing a byte, once the client
      // has sent it (read off and dropped, so that the connection can carry the next request).
      size > limit ||
      // Already read, or its client gone while an earlier handler waited (the session store, the token guard): no
      // 'end' would ever come. express.json lets such a request through unparsed.
      req.readableEnded ||
      req.destroyed
    ) {
      general(req, res, next);
      return;
    }
    // Continued through a promise: the stream's events fire outside the request's async context, and a promise's
    // continuation runs in the context it was made in, so that what `next` runs logs with the request's id and address
    // (logger.ts's request scope), as after express.json. (Binding a callback to the context, as raw-body does, costs
    // about 2.5 us a request; this, well under one.)
    bodyOf(req, size).then(
      (bytes) => {
        const parsed = parse(bytes);
        if (parsed instanceof Error) next(parsed);
        else {
          req.body = parsed;
          next();
        }
      },
      (error: unknown) => {
        next(error);
      },
    );
  };
}

/** The request's body, of the declared `size`; refused when its client went away before all of it came. */
function bodyOf(req: Readable, size: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let received = 0;
    const stop = () => {
      req.off('data', onData).off('end', onEnd).off('error', onGone).off('close', onGone);
    };
    const onData = (chunk: Buffer) => {
      received += chunk.length;
      chunks.push(chunk);
    };
    const onEnd = () => {
      stop();
      // Node's parser delivers exactly the declared length (a client that goes away gives 'error' or 'close', not
      // 'end'): a guard, never reached by a well-behaved parser.
      if (received !== size)
        reject(httpError(400, 'request.size.invalid', 'request size did not match content length'));
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, received));
    };
    // The client went away before the whole body came: nothing is parsed (the answer goes nowhere).
    const onGone = () => {
      stop();
      reject(httpError(400, 'request.aborted', 'request aborted'));
    };
    req.on('data', onData).on('end', onEnd).on('error', onGone).on('close', onGone);
  });
}

/** body-parser's strict JSON: an object or an array (a bare string or number is refused), a BOM ignored. */
function parse(bytes: Buffer): unknown {
  let text = bytes.toString('utf8');
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.length === 0) return {};
  const first = text[firstNonBlank(text)];
  if (first !== '{' && first !== '[') return parseFailed(strictViolation(text, first));
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    return parseFailed(error);
  }
}

/**
 * The SyntaxError body-parser answers a body that is JSON but not an object or array with: the one JSON.parse would
 * give at that character (the text from there on masked while parsing, then shown as it was).
 */
function strictViolation(text: string, first: string | undefined): unknown {
  const at = first === undefined ? -1 : text.indexOf(first);
  const partial = at === -1 ? '' : text.slice(0, at) + '#'.repeat(text.length - at);
  try {
    JSON.parse(partial);
    return new SyntaxError('strict violation');
  } catch (error) {
    if (error instanceof Error)
      error.message = error.message.replace(/#+/g, (mask) => text.slice(at, at + mask.length));
    return error;
  }
}

function parseFailed(error: unknown): Error {
  return httpError(400, 'entity.parse.failed', error instanceof Error ? error.message : 'invalid JSON');
}

/** Where the first character that is not JSON's whitespace (space, tab, line feed, carriage return) is. */
function firstNonBlank(text: string): number {
  let at = 0;
  while (at < text.length && ' \t\n\r'.includes(text.charAt(at))) at++;
  return at;
}

/** An error as body-parser makes it (http-errors): the status, its type, exposed to the client when 4xx. */
function httpError(status: number, type: string, message: string): Error {
  return Object.assign(new Error(message), { status, statusCode: status, type, expose: true });
}
