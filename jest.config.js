/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/tests'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } } }],
  },
  collectCoverageFrom: ['lib/**/*.ts'],
  coverageThreshold: { './lib/': { lines: 90, branches: 90 } },
  coverageReporters: ['text-summary', 'text'],
};
