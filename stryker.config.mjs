// Mutation testing of lib/ (`npm run test:mutation`): does a test fail when the code changes?
// See the README's test section for the scores per file and how CI runs it.
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  mutate: ['lib/**/*.ts'],
  testRunner: 'jest',
  jest: {
    configFile: 'jest.mutation.config.js',
    // Runs only the test files that import the mutated module (Jest's findRelatedTests).
    enableFindRelatedTests: true,
  },
  coverageAnalysis: 'perTest',
  checkers: ['typescript'],
  tsconfigFile: 'tsconfig.json',
  // Re-tests only mutants whose code or covering tests changed since the committed result.
  incremental: true,
  incrementalFile: 'stryker-incremental.json',
  reporters: ['clear-text', 'progress-append-only', 'html'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  clearTextReporter: { allowColor: false, reportScoreTable: true, reportMutants: true },
  concurrency: 2,
  tempDirName: '.stryker-tmp',
  // Build output and other runs' sandboxes need not be copied into the sandbox (Stryker does not read .gitignore).
  ignorePatterns: [
    '.stryker-tmp*',
    '.serverless',
    '.esbuild',
    '.bench-tmp',
    '.backfill',
    'coverage',
    'reports',
  ],
  cleanTempDir: 'always',
  // The target: at least 95 % once the truly equivalent mutants are marked.
  thresholds: { high: 95, low: 90, break: 95 },
};
