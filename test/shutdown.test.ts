/**
 * Graceful shutdown as a load balancer sees it: once the server stops, kept-alive connections with nothing in flight
 * are closed at once (the balancer opens new ones elsewhere), and a request that still arrives on a busy connection
 * during the drain is answered 503 with `Connection: close`, while the request in flight before it finishes.
 */
import { describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { buildSchema } from '../src/graphql/schema.js';
import { createTestApp } from './support/app.js';

/** Long enough that closing at once and closing when the drain ends are far apart on a busy machine. */
const SLOW_MS = 3_000;
const slowSchema = () =>
  buildSchema({
    typeDefs: ['extend type Query { slow: String @public }'],
    resolvers: [{ Query: { slow: () => sleep(SLOW_MS).then(() => 'done') } }],
  });

/** One raw HTTP/1.1 connection to `url`, collecting what it receives and when it is closed. */
async function connect(url: string) {
  const { hostname, port } = new URL(url);
  const socket = net.connect(Number(port), hostname);
  await new Promise<void>((resolve) => socket.once('connect', resolve));
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('utf8')));
  const closed = new Promise<number>((resolve) => {
    socket.once('close', () => {
      resolve(performance.now());
    });
  });
  const post = (query: string) => {
    const body = JSON.stringify({ query });
    socket.write(
      `POST /graphql HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  };
  return { socket, post, closed, received: () => received };
}

describe('shutting down', () => {
  it('closes idle kept-alive connections at once, and answers a late request 503 with Connection: close', async () => {
    const app = await createTestApp({ schema: slowSchema() });
    const idle = await connect(app.url);
    idle.post('{ __typename }');
    while (!idle.received().includes('"__typename"')) await sleep(10);
    // A slow request keeps the drain going; a second request comes on its connection once shutdown has begun.
    const busy = await connect(app.url);
    busy.post('{ slow }');
    await sleep(100);
    const started = performance.now();
    const stopping = app.stop();
    await sleep(50);
    busy.post('{ __typename }');
    expect((await idle.closed) - started).toBeLessThan(SLOW_MS / 2);
    await busy.closed;
    await stopping;
    const [first = '', second = ''] = busy.received().split(/(?=HTTP\/1\.1 )/);
    expect(first).toMatch(/^HTTP\/1\.1 200 /);
    expect(first).toContain('{"data":{"slow":"done"}}');
    expect(second).toMatch(/^HTTP\/1\.1 503 /);
    expect(second).toMatch(/\r\nConnection: close\r\n/i);
    expect(second).toContain('"SERVICE_UNAVAILABLE"');
  });
});
