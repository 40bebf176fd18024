/**
 * Questions on the terminal for the management commands. On a terminal, passwords are read without echo (the
 * `read` package); from a pipe (scripts, tests), answers are read line by line from one shared reader, so that no
 * prompt swallows the lines meant for the next.
 */
import readline from 'node:readline';
import { read } from 'read';

export interface Prompter {
  /** The answer, or null when the input has ended. */
  ask(question: string): Promise<string | null>;
  /** The same, without echoing what is typed. */
  askHidden(question: string): Promise<string | null>;
  close(): void;
}

export function createPrompter(
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stdout,
): Prompter {
  if (input.isTTY) {
    const ask = async (question: string, silent: boolean) => {
      try {
        return await read({ prompt: question, silent, replace: silent ? '*' : undefined, input, output });
      } catch {
        return null; // Ctrl-C or Ctrl-D
      }
    };
    return { ask: (question) => ask(question, false), askHidden: (question) => ask(question, true), close() {} };
  }
  const lines = readline.createInterface({ input, terminal: false });
  const queued: string[] = [];
  const waiting: ((line: string | null) => void)[] = [];
  let ended = false;
  lines.on('line', (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else queued.push(line);
  });
  lines.on('close', () => {
    ended = true;
    for (const next of waiting.splice(0)) next(null);
  });
  const ask = (question: string) => {
    output.write(question);
    const line = queued.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (ended) return Promise.resolve(null);
    return new Promise<string | null>((resolve) => waiting.push(resolve));
  };
  return {
    ask,
    askHidden: ask,
    close() {
      lines.close();
    },
  };
}
