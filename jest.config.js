/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }],
  },
  // Packages the Lambda once (when missing or stale) for the e2e suite that drives the zip.
  globalSetup: '<rootDir>/tests/support/global-setup-packaged.ts',
  collectCoverageFrom: ['lib/**/*.ts'],
  coverageThreshold: { './lib/': { lines: 90, branches: 90 } },
  coverageReporters: ['text-summary', 'text'],
};
