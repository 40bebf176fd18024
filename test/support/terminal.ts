/**
 * A management command run in a real pseudo-terminal, as an operator at a terminal runs it: Python's `pty` module
 * opens the terminal and copies keystrokes in and the screen out, so the command sees a TTY on all three streams
 * (raw mode, echo, Ctrl-C and Ctrl-D as bytes) exactly as it would in a shell.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { stripVTControlCharacters } from 'node:util';
import { OutputWatch } from './output-watch.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Keystrokes as a terminal sends them. */
export const KEY = { enter: '\r', ctrlC: '\x03', ctrlD: '\x04' } as const;

// The command runs on the terminal's slave side (80x24, its own session); this process copies our standard input to
// the master (keystrokes) and the master to our standard output (what the screen shows), then exits with the
// command's exit status (128 + the signal's number when a signal ended it, as a shell reports it).
const PTY_RUNNER = `
import fcntl, os, pty, select, struct, sys, termios
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
reading = [fd, 0]
while fd in reading:
    for ready in select.select(reading, [], [])[0]:
        try:
            data = os.read(ready, 4096)
        except OSError:
            data = b''
        if ready == fd:
            if data: os.write(1, data)
            else: reading.remove(fd)
        elif data:
            os.write(fd, data)
        else:
            reading.remove(0)
status = os.waitpid(pid, 0)[1]
code = os.waitstatus_to_exitcode(status)
sys.exit(code if code >= 0 else 128 - code)
`;

export interface TerminalSession {
  /** Everything the terminal has shown so far, with colours and cursor movements left out and CRLF as LF. */
  screen(): string;
  /** Everything as sent to the terminal, escape sequences included. */
  raw(): string;
  /** Types keys, as if at the keyboard. */
  type(keys: string): void;
  /** Waits until the screen shows `text` after what it showed at the last wait; fails after `timeoutMs`. */
  waitFor(text: string, timeoutMs?: number): Promise<void>;
  /** The exit code; fails (and ends the command) if it is still running after `timeoutMs`. */
  exit(timeoutMs?: number): Promise<number>;
}

/** Runs `npm run manage -- <args>` in a new pseudo-terminal, with only the environment given. */
export function runInTerminal(args: string[], env: Record<string, string>): TerminalSession {
  const command = [process.execPath, '--import', 'tsx', 'src/cli/manage.ts', ...args];
  const child = spawn('python3', ['-c', PTY_RUNNER, ...command], {
    cwd: ROOT,
    // Only what the test names, so the developer's own environment (and .env file) cannot leak in.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', TERM: 'xterm', ENV_FILE: 'none', ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  let output = '';
  let seen = 0;
  const watch = new OutputWatch();
  child.on('error', (error) => {
    // Shown by the failing wait, in place of a screen that never came.
    output += `[python3 could not start (${error.message}): these tests need Python 3 for its pty module]`;
  });
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk.toString('utf8');
    watch.changed();
  });
  const exited = new Promise<number>((resolve) => {
    // 'close', not 'exit': only then has everything the terminal showed been read.
    child.on('close', (code) => {
      resolve(code ?? -1);
      watch.end();
    });
  });
  // Escape sequences (cursor moves, line clearing) that readline sends are not characters on the screen.
  const screen = () => stripVTControlCharacters(output).replace(/\r\n/g, '\n').replace(/\r/g, '');

  const waitFor = async (text: string, timeoutMs = 30_000) => {
    seen = await watch.until(
      () => {
        const found = screen().indexOf(text, seen);
        return found >= 0 ? found + text.length : undefined;
      },
      timeoutMs,
      (reason) =>
        reason === 'ended'
          ? `the command exited before showing ${JSON.stringify(text)}; the screen:\n${screen()}`
          : `no ${JSON.stringify(text)} within ${timeoutMs} ms; the screen:\n${screen()}`,
    );
  };

  return {
    screen,
    raw: () => output,
    type(keys) {
      child.stdin.write(keys);
    },
    waitFor,
    async exit(timeoutMs = 30_000) {
      let timer: NodeJS.Timeout | undefined;
      const hung = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          // Closing the terminal hangs up the command, as closing a terminal window would.
          child.kill('SIGKILL');
          reject(new Error(`the command was still running after ${timeoutMs} ms; the screen:\n${screen()}`));
        }, timeoutMs);
      });
      try {
        return await Promise.race([exited, hung]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}
