import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createLogger } from '../logger.js';
import { errorHandler } from './errors.js';
import { InFlightRequests } from './in-flight.js';

describe('errorHandler, for an error after the answer has begun', () => {
  const lines: { level: number; msg: string }[] = [];
  const inFlight = new InFlightRequests();
  let server: http.Server;
  let port: number;

  beforeAll(async () => {
    const logger = createLogger('info', { write: (line: string) => lines.push(JSON.parse(line) as never) });
    const app = express();
    app.get('/half', (_req, res, next) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('the first part');
      next(new Error('failed half-way'));
    });
    // As when express-session's save fails after the answer went out whole.
    app.get('/whole', (_req, res, next) => {
      res.end('all of it', () => {
        next(new Error('failed afterwards'));
      });
    });
    app.use(errorHandler(logger));
    server = http.createServer((req, res) => {
      inFlight.track(res);
      app(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Whether the answer arrived whole, and its body. */
  function get(path: string, agent: http.Agent | false = false) {
    return new Promise<{ complete: boolean; body: string }>((resolve) => {
      const request = http.get({ host: '127.0.0.1', port, path, agent }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('error', () => undefined);
        response.on('close', () => {
          resolve({ complete: response.complete, body });
        });
      });
      // Cut before the head got out: no answer at all.
      request.on('error', () => {
        resolve({ complete: false, body: '' });
      });
    });
  }

  it('cuts the connection of a half-sent answer, logs the error, and ends the request for shutdown', async () => {
    lines.length = 0;
    // A broken answer, never a complete-looking one.
    expect((await get('/half')).complete).toBe(false);
    expect(lines.map(({ level, msg }) => [level, msg])).toEqual([[50, 'request failed after its answer began']]);
    expect(inFlight.size).toBe(0);
  });

  it('logs the error of an answer already sent whole, and leaves it and its connection alone', async () => {
    lines.length = 0;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<unknown>();
    agent.on('free', (socket) => sockets.add(socket));
    try {
      expect(await get('/whole', agent)).toEqual({ complete: true, body: 'all of it' });
      expect(await get('/whole', agent)).toEqual({ complete: true, body: 'all of it' });
      expect(sockets.size).toBe(1); // the second request went out on the first one's connection
      expect(lines.map(({ level, msg }) => [level, msg])).toEqual([
        [50, 'request failed after its answer began'],
        [50, 'request failed after its answer began'],
      ]);
      expect(inFlight.size).toBe(0);
    } finally {
      agent.destroy();
    }
  });
});
