/**
 * What a management command is: a summary for the list, a --help text, and a run that returns the exit status
 * (0 success, 1 failure). A UsageError (bad arguments) prints the message and the help, and exits 1.
 */
export interface Command {
  /** One line, for `manage --help`. */
  readonly summary: string;
  /** The whole `--help` text. */
  readonly help: string;
  run(argv: string[]): Promise<number>;
}

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Throws a UsageError unless `argv` is empty: for commands that take no arguments. */
export function noArguments(argv: string[]): void {
  if (argv.length > 0) throw new UsageError(`this command takes no arguments (got ${argv.join(' ')})`);
}
