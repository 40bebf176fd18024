/**
 * Questions on the terminal for the management commands. On a terminal, each question gets its own line editor
 * (node:readline) and passwords are read with nothing echoed at all, as Python's getpass; Ctrl-D on an empty line
 * and Ctrl-C stop the question. From a pipe (scripts, tests), answers are read line by line from one shared reader,
 * so that no prompt swallows the lines meant for the next.
 */
import readline from 'node:readline';
import { Writable } from 'node:stream';

/** A question that got no answer: the input ended (Ctrl-D, or the end of a pipe) or Ctrl-C was pressed. */
export class PromptStopped extends Error {
  constructor(
    readonly reason: 'ended' | 'interrupted',
    /** What happened, in the operator's words: "input ended (Ctrl-D)", "interrupted (Ctrl-C)". */
    message: string,
  ) {
    super(message);
    this.name = 'PromptStopped';
  }
}

export interface Prompter {
  /** The answer; throws PromptStopped when none will come. */
  ask(question: string): Promise<string>;
  /** The same, without echoing what is typed. */
  askHidden(question: string): Promise<string>;
  close(): void;
}

export function createPrompter(
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WriteStream = process.stdout,
): Prompter {
  if (input.isTTY) {
    return {
      ask: (question) => askOnTerminal(input, output, question, false),
      askHidden: (question) => askOnTerminal(input, output, question, true),
      close() {},
    };
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
  const ask = async (question: string) => {
    output.write(question);
    let line = queued.shift() ?? null;
    if (line === null && !ended) line = await new Promise<string | null>((resolve) => waiting.push(resolve));
    if (line !== null) return line;
    output.write('\n'); // What follows starts on a line of its own, not after the unanswered prompt.
    throw new PromptStopped('ended', 'input ended');
  };
  return {
    ask,
    askHidden: ask,
    close() {
      lines.close();
    },
  };
}

/** Where a hidden answer's echo goes: nowhere. */
const discard = () =>
  new Writable({
    write(_chunk, _encoding, done) {
      done();
    },
  });

function askOnTerminal(
  input: NodeJS.ReadStream,
  output: NodeJS.WriteStream,
  question: string,
  hidden: boolean,
): Promise<string> {
  return new Promise((resolve, reject) => {
    // Puts the terminal in raw mode before the prompt shows, so nothing typed after it is echoed by the terminal.
    const editor = readline.createInterface({
      input,
      // Hidden: the line editor echoes into nothing, so neither the characters nor their number show (no '*').
      output: hidden ? discard() : output,
      terminal: true,
      historySize: 0, // Nothing typed is kept for the next question's arrow keys.
    });
    let answered = false;
    const finish = (answer: string | PromptStopped) => {
      answered = true;
      editor.close(); // Back to the terminal's own mode (echo on) between questions.
      if (answer instanceof PromptStopped) {
        output.write('\n'); // The reason goes on a line of its own, not after the unanswered prompt.
        reject(answer);
      } else {
        if (hidden) output.write('\n'); // Enter was not echoed either.
        resolve(answer);
      }
    };
    editor.on('line', finish);
    editor.on('SIGINT', () => {
      finish(new PromptStopped('interrupted', 'interrupted (Ctrl-C)'));
    });
    // Ctrl-D on an empty line, or the terminal gone: no answer will come (without this, the question waits forever).
    editor.on('close', () => {
      if (!answered) finish(new PromptStopped('ended', 'input ended (Ctrl-D)'));
    });
    if (hidden) {
      output.write(question);
    } else {
      editor.setPrompt(question);
      editor.prompt();
    }
  });
}
