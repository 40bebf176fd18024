/**
 * `npm run manage -- <command>`: the server's administrative commands (Django's manage.py).
 *
 *   permissions   print every operation and what it requires (the manifest committed as schema/permissions.txt)
 *
 * Exit 0 on success, 1 on failure with a one-line reason, 2 for a usage error.
 */
import { SchemaGuardError, permissionManifest } from '../graphql/directives.js';
import { buildSchema } from '../graphql/schema.js';

const HELP = `Usage: npm run manage -- <command>

Commands:
  permissions   print every GraphQL operation (and guarded field) and what it requires, one per line`;

type Command = (argv: string[]) => Promise<number>;

const commands: Record<string, Command> = {
  permissions(argv) {
    if (argv.length > 0) {
      console.error(`error: permissions takes no arguments (got ${argv.join(' ')})`);
      return Promise.resolve(2);
    }
    process.stdout.write(permissionManifest(buildSchema()));
    return Promise.resolve(0);
  },
};

async function main([name, ...rest]: string[]): Promise<number> {
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(HELP);
    return name === undefined ? 2 : 0;
  }
  const command = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!command) {
    console.error(`error: unknown command ${JSON.stringify(name)}\n\n${HELP}`);
    return 2;
  }
  return command(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof SchemaGuardError) console.error(`error: ${error.message}`);
    else console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  },
);
