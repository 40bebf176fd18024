import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from '@jest/globals';
import { InFlightRequests } from './in-flight.js';

/** A real HTTP server whose handler ends each response only when the test says so. */
async function serve(inFlight: InFlightRequests) {
  const responses: http.ServerResponse[] = [];
  const server = http.createServer((_req, res) => {
    inFlight.track(res);
    responses.push(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const request = () =>
    new Promise<http.ClientRequest>((resolve) => {
      const req = http.get({ host: '127.0.0.1', port, agent: false });
      req.on('error', () => undefined);
      server.once('request', () => {
        resolve(req);
      });
    });
  return { server, responses, request };
}

const servers: http.Server[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

describe('InFlightRequests', () => {
  it('counts a request until its handler ends the response, also after its client went away', async () => {
    const inFlight = new InFlightRequests();
    const { server, responses, request } = await serve(inFlight);
    servers.push(server);
    const gone = await request();
    await request();
    expect(inFlight.size).toBe(2);

    const closed = new Promise((resolve) => responses[0]?.once('close', resolve));
    gone.destroy();
    await closed; // the server has seen its client go
    expect(inFlight.size).toBe(2);
    const settled = inFlight.settled(5_000);
    responses[0]?.end('late');
    responses[0]?.end('twice');
    expect(inFlight.size).toBe(1);
    responses[1]?.end('done');
    expect(await settled).toBe(true);
    expect(inFlight.size).toBe(0);
  });

  it('gives up after the timeout, saying that some are still running', async () => {
    const inFlight = new InFlightRequests();
    const { server, responses, request } = await serve(inFlight);
    servers.push(server);
    await request();
    expect(await inFlight.settled(50)).toBe(false);
    expect(inFlight.size).toBe(1);
    responses[0]?.end();
    expect(await inFlight.settled(50)).toBe(true);
  });
});
