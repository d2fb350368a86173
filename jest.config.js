/**
 * Jest runs the TypeScript sources as native ES modules (NestJS 12 is ESM-only),
 * hence `node --experimental-vm-modules` in the npm scripts.
 *
 * Two tiers (docs/testing.md):
 * - unit: specs beside their code in src/, and test/**\/*.unit.spec.ts: nothing running is needed
 *   (no database, NATS, build or process), so `npm run test:unit` starts no PostgreSQL;
 * - e2e: everything else, against a real PostgreSQL (DATABASE_URL, or an embedded one the global
 *   setup starts only when a test of this tier runs), NATS, HTTP and processes.
 * @type {import('jest').Config}
 */
const UNIT = ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.unit.spec.ts'];

/** @type {import('jest').Config} */
const shared = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json' }],
  },
  setupFiles: ['<rootDir>/test/support/setup-env.ts'],
};

const projects = [
  { ...shared, displayName: 'unit', roots: ['<rootDir>/src', '<rootDir>/test'], testMatch: UNIT },
  {
    ...shared,
    displayName: 'e2e',
    roots: ['<rootDir>/test', '<rootDir>/migrations'],
    testMatch: ['**/*.spec.ts'],
    testPathIgnorePatterns: ['/node_modules/', '\\.unit\\.spec\\.ts$'],
    // Names a test file that leaves a handle open (which would keep its worker from exiting).
    testEnvironment: '<rootDir>/test/support/leak-check.environment.js',
    // A project's global setup runs only when one of its tests runs: the unit tier starts no PostgreSQL.
    globalSetup: '<rootDir>/test/support/global-setup.js',
    globalTeardown: '<rootDir>/test/support/global-teardown.js',
  },
];

if (process.env.TEST_TIER && !projects.some((project) => project.displayName === process.env.TEST_TIER)) {
  throw new Error(`TEST_TIER: 'unit' or 'e2e', got '${process.env.TEST_TIER}'`);
}

export default {
  // TEST_TIER=unit|e2e (npm run test:unit / test:e2e) keeps one tier; jest's own --selectProjects
  // would swallow the file names given after it (`npm run test:unit -- <file>`).
  projects: process.env.TEST_TIER ? projects.filter((project) => project.displayName === process.env.TEST_TIER) : projects,
  // Last: what did not run on this machine (no NATS), after jest's own summary.
  reporters: ['default', '<rootDir>/test/support/skipped-suites.reporter.js'],
  testTimeout: 60_000,
  // Two cores: more workers only contend for the same Postgres.
  maxWorkers: 2,
};
