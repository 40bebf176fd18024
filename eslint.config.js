// Lint with type information: an unawaited promise in an auth server is a security bug, so
// no-floating-promises and no-misused-promises are errors, along with the rest of the type-checked set.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** Packages of the web and GraphQL layers, which the lower layers must not import. */
const FRAMEWORKS = [{ regex: '^(express|express-session|graphql|http|node:http)(/.*)?$|^@apollo/' }];

/** Import patterns for the project's folders under src/, by name, at any depth of relative path. */
function folders(...names) {
  return [{ group: names.map((name) => `**/${name}/**`) }];
}

/** A folder and what it may not import, with the reason lint prints. */
function layer(files, reason, patterns) {
  return {
    files: [files],
    rules: {
      'no-restricted-imports': ['error', { patterns: patterns.map((pattern) => ({ ...pattern, message: reason })) }],
    },
  };
}

export default tseslint.config(
  { ignores: ['node_modules/', 'dist/', 'coverage/', '.data/', 'src/graphql/generated/', 'examples/*/generated/'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ['*.js', 'src/cli/*.mjs', 'test/support/*.mjs', 'test/bench/*.mjs'] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/require-await': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      '@typescript-eslint/consistent-type-imports': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  // Imports go one way: main -> http -> graphql -> services -> auth -> stores / entities. Each folder below lists
  // what it may not import; a wrong-way import fails lint with the reason.
  layer('src/auth/**', "the core (src/auth) is Django's contrib.auth: no Express, GraphQL, HTTP or use-case code", [
    ...FRAMEWORKS,
    ...folders('http', 'graphql', 'services', 'cli', 'checks'),
  ]),
  layer('src/stores/**', "the stores sit below the core: they know rows, not users' rules nor requests", [
    ...FRAMEWORKS,
    ...folders('auth', 'http', 'graphql', 'services', 'cli', 'checks'),
  ]),
  layer('src/services/**', 'use-cases are called by GraphQL and the commands, and know neither', [
    ...FRAMEWORKS,
    ...folders('http', 'graphql', 'cli', 'checks'),
  ]),
  layer('src/{graphql,cli,checks}/**', 'the Express glue (src/http) is above these: reach it only from main', [
    ...folders('http'),
  ]),
  layer('src/{db,entities}/**', 'the database layer is the bottom: tables and rows, no rules of users or requests', [
    ...FRAMEWORKS,
    ...folders('auth', 'stores', 'http', 'graphql', 'services', 'cli', 'checks'),
  ]),
  // An app is built on the package as a team builds one outside this repository: through its public entry.
  layer('examples/**', "an app imports the package by its name ('graphql-auth-server'), never its src/ files", [
    { group: ['**/src/**'] },
  ]),
  layer('src/http/**', 'src/http is Express glue: SQL and counters live in src/stores', [
    { group: ['**/db/sql', '**/db/sql.js', 'redis', 'rate-limiter-flexible'] },
  ]),
);
