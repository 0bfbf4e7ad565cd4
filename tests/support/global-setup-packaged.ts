/**
 * jest globalSetup: builds the serverless package once (when missing or stale) before the suites
 * run, so the packaged e2e suite tests the artifact of the current sources. In CI a package that
 * cannot be built fails the run (it is what ships); elsewhere the packaged suite reports itself
 * skipped, visibly.
 */
import { ensurePackagedHandler } from './packaged';

export default async function globalSetup(): Promise<void> {
  const r = ensurePackagedHandler();
  if (!r.available) {
    if (process.env['CI'] === 'true')
      throw new Error(`[e2e packaged] cannot build the package: ${r.reason}`);
    console.warn(`\n[e2e packaged] not available: ${r.reason}\n`);
  }
  // Workers inherit the environment: they extract the fresh zip instead of packaging again.
  else process.env['E2E_PACKAGE_BUILT'] = '1';
}
