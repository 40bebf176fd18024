/**
 * `npm run manage -- check [--deploy]`: Django's system checks for this server. Prints each problem with its id
 * and a hint, and exits 1 when any error-level check fails (or any warning, with --fail-level warning).
 */
import { parseArgs } from 'node:util';
import { configChecks } from '../checks/config.js';
import { error, formatResults, type CheckResult } from '../checks/index.js';
import { systemChecks } from '../checks/system.js';
import { loadExtensions } from '../auth/extensions.js';
import { ImproperlyConfigured } from '../auth/errors.js';
import { ConfigError, loadConfig, loadEnvFile } from '../config/index.js';
import { createLogger } from '../logger.js';
import { UsageError, type Command } from './command.js';

export const checkCommand: Command = {
  summary: 'find misconfigurations (schema, database, session store; --deploy: production settings)',
  help: `Usage: npm run manage -- check [--deploy] [--json] [--fail-level error|warning]

Runs the system checks and prints each problem with a stable id (security.E005), what is wrong and a hint.
Always: the schema (every field guarded, every permission known), the database (reachable, migrated), the
session store (reachable), and settings that break logins anywhere (cookie domain, SameSite=None without
Secure, CORS * with credentials, https PUBLIC_URL without TRUST_PROXY).

  --deploy               also judge the settings as production settings: SESSION_SECRET, Secure cookies,
                         introspection and the explorer, password hashing cost, mail, a superuser exists
  --json                 print the results as JSON: [{ id, level, message, hint }]
  --fail-level LEVEL     exit 1 on problems of this level or worse (default: error)

Exit status: 0 when no check at the fail level failed, 1 otherwise.`,
  async run(argv) {
    const { values } = parseOptions(argv);
    const failLevel = values['fail-level'] ?? 'error';
    if (failLevel !== 'error' && failLevel !== 'warning')
      throw new UsageError(`--fail-level must be error or warning (got ${failLevel})`);
    const results = await runChecks(values.deploy === true);
    process.stdout.write(values.json === true ? `${JSON.stringify(results, null, 2)}\n` : formatResults(results));
    const failing = results.filter((result) => result.level === 'error' || failLevel === 'warning');
    return failing.length > 0 ? 1 : 0;
  },
};

function parseOptions(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: { deploy: { type: 'boolean' }, json: { type: 'boolean' }, 'fail-level': { type: 'string' } },
      strict: true,
      allowPositionals: false,
    });
  } catch (problem) {
    throw new UsageError(problem instanceof Error ? problem.message : String(problem));
  }
}

async function runChecks(deploy: boolean): Promise<CheckResult[]> {
  loadEnvFile();
  let config;
  try {
    // A weak SESSION_SECRET would stop loadConfig in production; the checks report it instead (security.E00x).
    config = loadConfig(process.env, process.cwd(), { forChecks: true });
  } catch (problem) {
    if (!(problem instanceof ConfigError)) throw problem;
    // Nothing else can be judged without settings.
    return problem.problems.map((message) =>
      error('config.E001', message, 'Fix the variable as the example shows; docs/configuration.md lists every one.'),
    );
  }
  try {
    config = await loadExtensions(config);
  } catch (problem) {
    if (!(problem instanceof ImproperlyConfigured)) throw problem;
    return [
      error(
        'config.E002',
        `${problem.message}.`,
        'Fix the path (relative to the working directory) or install the package, and give the module the default export docs/extending.md describes.',
      ),
    ];
  }
  // Database and Redis errors are reported as checks; their log lines would only repeat them.
  const logger = createLogger('silent');
  return [...configChecks(config, process.env, { deploy }), ...(await systemChecks(config, { deploy, logger }))];
}
