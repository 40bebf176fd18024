/**
 * Runs a command as an entry point does: --help, usage errors, and every failure an operator can fix as one line
 * on stderr (no stack trace); sets the exit status (0 success, 1 failure).
 */
import { ConfigError } from '../config/index.js';
import { StartupError } from '../startup-error.js';
import { UsageError, type Command } from './command.js';

export async function runCommand(command: Command, argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  try {
    return await command.run(argv);
  } catch (error) {
    console.error(`error: ${describe(error)}`);
    if (error instanceof UsageError) console.error(`\n${command.help}`);
    return 1;
  }
}

/** The failure in words an operator can act on. */
function describe(error: unknown): string {
  if (error instanceof ConfigError) return error.problems.join('\nerror: ');
  // A usage error; an unreachable database or Redis, a locked data folder, a schema that cannot be served.
  if (error instanceof UsageError || error instanceof StartupError) return error.message;
  return `unexpected failure: ${error instanceof Error ? error.message : String(error)}`;
}

/** For an entry point: runs the command and sets the process's exit status. */
export function runAsMain(command: Command, argv: string[]): void {
  void runCommand(command, argv).then((code) => {
    process.exitCode = code;
  });
}
