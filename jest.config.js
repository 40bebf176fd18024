/**
 * Jest 30 on native ESM: @swc/jest strips types (typechecking is `npm run typecheck`), and relative `.js`
 * imports are mapped back to their `.ts` sources. Run through `npm test`, which sets --experimental-vm-modules.
 *
 * Each test file gets its own database (test/support/database.ts): embedded by default, or a database on the
 * PostgreSQL server named by TEST_DATABASE_URL. The global setup migrates one template that each file copies.
 */
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { target: 'es2024', parser: { syntax: 'typescript' } },
        module: { type: 'es6' },
        sourceMaps: 'inline',
      },
    ],
  },
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
    // An app imports the package by name (examples/): the source, as tsconfig.json's `paths` says.
    '^graphql-auth-server$': '<rootDir>/src/index.ts',
  },
  testMatch: ['<rootDir>/test/**/*.test.ts', '<rootDir>/src/**/*.test.ts', '<rootDir>/examples/**/*.test.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  // Two cores on the project's machines; each worker may hold an embedded PostgreSQL (~300 MB).
  maxWorkers: 2,
  testTimeout: 60_000,
};
