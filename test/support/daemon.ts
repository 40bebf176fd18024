/** A server program the tests start and stop (nginx, PgBouncer): its stderr kept, its exit awaited. */
import { spawn, type ChildProcess } from 'node:child_process';

export interface Daemon {
  readonly child: ChildProcess;
  /** What it printed on stderr so far. */
  readonly stderr: () => string;
  /** Its exit code, or the signal that ended it. */
  readonly exited: Promise<number | string>;
}

export function spawnDaemon(command: string, args: readonly string[]): Daemon {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
    }),
  );
  return { child, stderr: () => stderr, exited };
}
