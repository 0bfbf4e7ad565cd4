/**
 * Optional jest globalSetup: builds/extracts the serverless package once before the suites run.
 * Wire it with `globalSetup: '<rootDir>/tests/support/global-setup-packaged.ts'`. It never fails
 * the run: when packaging is not possible the packaged suites report themselves as skipped.
 */
import { ensurePackagedHandler } from './packaged';

export default async function globalSetup(): Promise<void> {
  const r = ensurePackagedHandler();
  if (!r.available) console.warn(`\n[e2e packaged] not available: ${r.reason}\n`);
  // Workers inherit the environment: they extract the fresh zip instead of packaging again.
  else process.env['E2E_PACKAGE_BUILT'] = '1';
}
