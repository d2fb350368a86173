/**
 * Jest runs the TypeScript sources as native ES modules (NestJS 12 is ESM-only),
 * hence `node --experimental-vm-modules` in the npm scripts.
 * @type {import('jest').Config}
 */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  roots: ['<rootDir>/src', '<rootDir>/test', '<rootDir>/migrations'],
  testMatch: ['**/*.spec.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  globalSetup: '<rootDir>/test/support/global-setup.js',
  globalTeardown: '<rootDir>/test/support/global-teardown.js',
  // Last: what did not run on this machine (no NATS), after jest's own summary.
  reporters: ['default', '<rootDir>/test/support/skipped-suites.reporter.js'],
  setupFiles: ['<rootDir>/test/support/setup-env.ts'],
  testTimeout: 60_000,
  // Two cores: more workers only contend for the same Postgres.
  maxWorkers: 2,
};
