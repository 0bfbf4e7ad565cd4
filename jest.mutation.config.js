/**
 * The unit suite alone, for Stryker (`npm run test:mutation`): the e2e and deploy suites start
 * servers and package the Lambda, far too slow to run once per mutant, and the unit suite is
 * where every rule in lib/ is pinned.
 * @type {import('jest').Config}
 */
const base = require('./jest.config.js');

module.exports = {
  ...base,
  testMatch: ['<rootDir>/tests/unit/**/*.test.ts'],
  // Only the e2e suite drives the packaged zip.
  globalSetup: undefined,
  // Stryker measures coverage per test itself; the line gate belongs to `npm test`.
  coverageThreshold: undefined,
};
