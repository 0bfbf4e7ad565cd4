/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // The whole project, not only tests/: Jest's related-tests lookup (`--findRelatedTests`, used by
  // Stryker per mutant, and `--onlyChanged`) follows imports only through files it has crawled,
  // so lib/ and handler.ts must be in the map for a change there to find its tests.
  roots: ['<rootDir>'],
  testMatch: ['<rootDir>/tests/**/*.test.ts'],
  modulePathIgnorePatterns: [
    '<rootDir>/.stryker-tmp/',
    '<rootDir>/.serverless/',
    '<rootDir>/.esbuild/',
    '<rootDir>/.bench-tmp/',
    '<rootDir>/coverage/',
    '<rootDir>/reports/',
  ],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }],
  },
  // Packages the Lambda once (when missing or stale) for the e2e suite that drives the zip.
  globalSetup: '<rootDir>/tests/support/global-setup-packaged.ts',
  collectCoverageFrom: ['lib/**/*.ts'],
  coverageThreshold: { './lib/': { lines: 90, branches: 90 } },
  coverageReporters: ['text-summary', 'text'],
};
