/**
 * A loopback TCP proxy that a test can cut and restore, to make a real outage (of a database, of Redis): while cut,
 * open connections are destroyed and new ones are closed at once (`cut()`), or refused outright, as by a host
 * where nothing listens any more (`cut('refuse')`).
 */
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** 'close' (the default) accepts new connections and closes them; 'refuse' stops listening. */
  cut(mode?: 'close' | 'refuse'): void;
  /**
   * Stops forwarding on the connections open now, without closing them (a half-open connection: a NAT or firewall
   * that forgot it). New connections are forwarded as usual.
   */
  freeze(): void;
  /** Forwards again, listening again on the same port if it was refusing. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let cut = false;
  const sockets = new Set<net.Socket>();
  const pairs = new Set<[client: net.Socket, upstream: net.Socket]>();
  const server = net.createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, targetHost);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => {
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
    pairs.add([client, upstream]);
    client.on('close', () => {
      for (const pair of pairs) if (pair[0] === client) pairs.delete(pair);
    });
  });
  // A port taken meanwhile (by another test's listen(0), after a 'refuse') fails the restore, rather than hanging it.
  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const cutAll = () => {
    cut = true;
    for (const socket of sockets) socket.destroy();
  };
  return {
    port,
    cut(mode = 'close') {
      cutAll();
      if (mode === 'refuse' && server.listening) server.close();
    },
    freeze() {
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        // Whatever arrives from now on is swallowed: neither side hears from the other again.
        client.removeAllListeners('data');
        upstream.removeAllListeners('data');
        client.on('data', () => undefined);
        upstream.on('data', () => undefined);
      }
      pairs.clear();
    },
    async restore() {
      if (!server.listening) await listen(port);
      cut = false;
    },
    close() {
      cutAll();
      if (!server.listening) return Promise.resolve();
      return new Promise((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}
