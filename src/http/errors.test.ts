import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { describe, expect, it } from '@jest/globals';
import { createLogger } from '../logger.js';
import { errorHandler } from './errors.js';
import { InFlightRequests } from './in-flight.js';

describe('errorHandler, for an error after the answer has begun', () => {
  it('cuts the connection, logs the error, and ends the request for shutdown', async () => {
    const lines: { level: number; msg: string }[] = [];
    const logger = createLogger('info', { write: (line: string) => lines.push(JSON.parse(line) as never) });
    const app = express();
    app.get('/half', (_req, res, next) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('the first part');
      next(new Error('failed half-way'));
    });
    app.use(errorHandler(logger));
    const inFlight = new InFlightRequests();
    const server = http.createServer((req, res) => {
      inFlight.track(res);
      app(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const complete = await new Promise<boolean>((resolve) => {
        const request = http.get({ host: '127.0.0.1', port, path: '/half', agent: false }, (response) => {
          response.resume();
          response.on('error', () => undefined);
          response.on('close', () => {
            resolve(response.complete);
          });
        });
        // Cut before the head got out: no answer at all.
        request.on('error', () => {
          resolve(false);
        });
      });
      // A broken answer, never a complete-looking one.
      expect(complete).toBe(false);
      expect(lines.map(({ level, msg }) => [level, msg])).toEqual([[50, 'request failed after its answer began']]);
      expect(inFlight.size).toBe(0);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
