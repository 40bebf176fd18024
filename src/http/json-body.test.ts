/**
 * jsonBody against express.json, the reader it stands in for: the same raw HTTP requests to both, over real sockets,
 * and the same answer from each (the parsed body, or the error's status and type).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { once } from 'node:events';
import http from 'node:http';
import net from 'node:net';
import zlib from 'node:zlib';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { jsonBody } from './json-body.js';

const LIMIT = 1000;

interface Answer {
  status: number;
  body: string;
}

/** The request's async context, as the logger keeps its id in one (logger.ts). */
const scope = new AsyncLocalStorage<string>();

/**
 * A server that echoes what the reader made of the body and the async context its next handler runs in, or the
 * error's status, type and message.
 */
async function serve(reader: RequestHandler): Promise<{ port: number; close: () => Promise<void> }> {
  const app = express();
  app.use((req, _res, next) => {
    scope.run(`request ${req.method}`, next);
  });
  app.post('/', reader, (req, res) => {
    res.json({ body: req.body as unknown, parsed: 'body' in req && req.body !== undefined, scope: scope.getStore() });
  });
  app.get('/', reader, (req, res) => {
    res.json({ body: req.body as unknown });
  });
  const onError: ErrorRequestHandler = (
    error: { status?: number; type?: string; message?: string },
    _req,
    res,
    // eslint-disable-next-line @typescript-eslint/no-unused-vars -- Express knows an error handler by its four parameters
    _next,
  ) => {
    res.status(error.status ?? 500).json({ error: error.type ?? 'none', message: error.message });
  };
  app.use(onError);
  const server = http.createServer(app);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as net.AddressInfo;
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/** Sends `head` (request line and headers, CRLF-separated, without the blank line) and `body` on a new socket. */
async function send(port: number, head: string, body: Buffer | string = ''): Promise<Answer> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(`${head}\r\nConnection: close\r\n\r\n`);
  // Not half-closed: the server answers a request whose client sent all of it, and then closes (Connection: close).
  socket.write(body);
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  await once(socket, 'close');
  const text = Buffer.concat(chunks).toString('utf8');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
  return { status, body: text.slice(text.indexOf('\r\n\r\n') + 4) };
}

/** A request with a Content-Length of its body. */
function post(body: Buffer | string, type = 'application/json', extra = ''): [string, Buffer | string] {
  const length = Buffer.byteLength(body);
  return [
    `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: ${length}${extra ? `\r\n${extra}` : ''}`,
    body,
  ];
}

const gzip = zlib.gzipSync(Buffer.from('{"query":"{ me { id } }"}'));
const query = '{"query":"{ me { id } }","variables":{"name":"Zoë 😀"}}';

const cases: [string, string, Buffer | string][] = [
  ['a GraphQL request', ...post(query)],
  ['a UTF-8 charset', ...post(query, 'application/json; charset=utf-8')],
  ['a media type in capitals', ...post(query, 'Application/JSON')],
  ['another parameter', ...post(query, 'application/json; foo=bar')],
  ['a byte order mark', ...post(`\uFEFF${query}`)],
  ['an empty body', ...post('')],
  ['whitespace only', ...post('  \n ')],
  ['whitespace, then an array', ...post(' \t\n[1,2]')],
  ['malformed JSON', ...post('{"query": ')],
  ['a bare string', ...post('"text"')],
  ['a bare number', ...post('42')],
  ['invalid UTF-8 inside a string', ...post(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]))],
  ['a body of exactly the limit', ...post(`{"a":"${'x'.repeat(LIMIT - 8)}"}`)],
  ['a body one byte past the limit', ...post(`{"a":"${'x'.repeat(LIMIT - 7)}"}`)],
  ['a body three times the limit', ...post(`{"a":"${'x'.repeat(3 * LIMIT)}"}`)],
  ['a gzip body', ...post(gzip, 'application/json', 'Content-Encoding: gzip')],
  ['an unknown encoding', ...post(query, 'application/json', 'Content-Encoding: zstd-ish')],
  ['a latin1 charset', ...post(query, 'application/json; charset=latin1')],
  ['an unknown charset', ...post(query, 'application/json; charset=klingon')],
  ['text/plain', ...post(query, 'text/plain')],
  ['no Content-Type', `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${query.length}`, query],
  [
    'a chunked body',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked',
    `${query.length.toString(16)}\r\n${query}\r\n0\r\n\r\n`,
  ],
  [
    'a chunked body past the limit',
    'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked',
    `${(LIMIT + 10).toString(16)}\r\n${'x'.repeat(LIMIT + 10)}\r\n0\r\n\r\n`,
  ],
  ['a GET', 'GET /?query=%7Bme%7Bid%7D%7D HTTP/1.1\r\nHost: x', ''],
];

describe('jsonBody answers as express.json does', () => {
  let general: Awaited<ReturnType<typeof serve>>;
  let fast: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    general = await serve(express.json({ limit: LIMIT }));
    fast = await serve(jsonBody(LIMIT));
  });

  afterAll(async () => {
    await general.close();
    await fast.close();
  });

  it.each(cases)('%s', async (_name, head, body) => {
    const expected = await send(general.port, head, body);
    const got = await send(fast.port, head, body);
    // The case means something: express.json answered it (not a connection that closed on nothing).
    expect(expected.status).toBeGreaterThan(0);
    expect(got).toEqual(expected);
  });

  it.each([
    ['mid-body', '{"a":'],
    ['after the whole body', '{"a":1234567'],
  ])(
    'lets a request through, as express.json does, when its client left %s while an earlier handler waited',
    async (_when, part) => {
      // As the session store's read or the token guard's lookup: the reader runs after the client has gone.
      const wait: RequestHandler = (_req, _res, next) => setTimeout(next, 150);
      const expected = await abandoned([wait, express.json({ limit: LIMIT })], 12, part);
      expect(expected).not.toBe('never answered');
      expect(await abandoned([wait, jsonBody(LIMIT)], 12, part)).toEqual(expected);
    },
  );

  it('answers 400 request.aborted, never a parse, when the client leaves while the body is read', async () => {
    expect(await abandoned([jsonBody(LIMIT)], 100, '{"a":')).toEqual({
      reached: 'error',
      status: 400,
      type: 'request.aborted',
    });
  });
});

/**
 * What a request reaches when its client sends the headers (a Content-Length of `length`) and `part` of the body,
 * then goes away: the handler after `chain` (and the body it got), the error handler, or nothing within 2 s.
 */
async function abandoned(chain: RequestHandler[], length: number, part: string): Promise<unknown> {
  let seen: unknown;
  const app = express();
  app.post('/', ...chain, (req, res) => {
    seen = { reached: 'handler', body: req.body as unknown };
    res.end();
  });
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- Express knows an error handler by its four parameters
  const onError: ErrorRequestHandler = (error: { status?: number; type?: string }, _req, res, _next) => {
    seen = { reached: 'error', status: error.status, type: error.type };
    res.end();
  };
  app.use(onError);
  const server = http.createServer(app).listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const socket = net.connect((server.address() as net.AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n${part}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    socket.destroy();
    for (let waited = 0; seen === undefined && waited < 2000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    return seen ?? 'never answered';
  } finally {
    server.closeAllConnections();
    server.close();
  }
}
