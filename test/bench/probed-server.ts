/**
 * A benchmarked Node server process: spawned with `npm start`'s Node options and the probe (probe.mjs) loaded, asked
 * for its counters over IPC. JavaScript entries (the built server, the peers) run on plain `node`; a TypeScript entry
 * (the floor) gets tsx loaded before the probe.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { ProbeReply, ProbeRequest } from './probe-protocol.js';
import { freePort } from '../support/ports.js';
import { startNodeOptions } from '../support/start-command.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PROBE = pathToFileURL(path.join(ROOT, 'test/bench/probe.mjs')).href;

export class ProbedServer {
  private nextId = 0;
  private readonly waiting = new Map<number, (reply: ProbeReply) => void>();
  private readonly stderr: string[] = [];

  private constructor(
    readonly url: string,
    private readonly child: ChildProcess,
  ) {
    child.on('message', (reply: ProbeReply) => {
      this.waiting.get(reply.id)?.(reply);
      this.waiting.delete(reply.id);
    });
    child.stderr?.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString()));
  }

  /** The process id, for its CPU time in /proc. */
  get pid(): number {
    return this.child.pid ?? 0;
  }

  /**
   * Spawns `entry` (relative to the repository) with the probe loaded, and waits until `ready` (a path) answers 200.
   * `profile`: a V8 CPU profile of the process, written to .bench/profiles when it stops.
   */
  static async start(
    entry: string,
    env: Record<string, string>,
    { profile = false, ready = '/readyz' }: { profile?: boolean; ready?: string } = {},
  ): Promise<ProbedServer> {
    const port = await freePort();
    const loader = entry.endsWith('.ts') ? ['--import', 'tsx'] : [];
    const nodeOptions = [
      ...startNodeOptions(),
      ...(profile ? ['--cpu-prof', '--cpu-prof-dir=.bench/profiles'] : []),
      '--expose-gc',
      ...loader,
      '--import',
      PROBE,
    ];
    const child = spawn(process.execPath, [...nodeOptions, entry], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ENV_FILE: 'none', ...env, PORT: String(port) },
      // The server's log goes nowhere: writing it is part of the cost measured, reading it is not.
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    const server = new ProbedServer(`http://127.0.0.1:${port}`, child);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`${entry} exited at start-up: ${server.stderr.join('')}`);
      const up = await fetch(`${server.url}${ready}`).then(
        (response) => response.ok,
        () => false,
      );
      if (up) return server;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    child.kill();
    throw new Error(`${entry} was not ready within 60 s: ${server.stderr.join('')}`);
  }

  ask(type: ProbeRequest['type']): Promise<ProbeReply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.child.send({ id, type } satisfies ProbeRequest);
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill('SIGTERM');
    await once(this.child, 'exit');
  }
}
