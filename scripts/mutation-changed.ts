/**
 * `npm run test:mutation:changed`: mutation testing of only the lib/ files changed since the merge
 * base with main (CI's mutation step, README "Mutation testing").
 *
 * Why not all of lib/ in CI: a whole run is over a thousand mutants, about 25 minutes on 2 idle
 * cores, beyond CI's 15-minute budget. The run is incremental (stryker-incremental.json, kept in
 * the repository), so mutants whose code and covering tests did not change keep their result, and
 * Stryker fails below `thresholds.break` (stryker.config.mjs).
 *
 * MUTATION_BASE=<ref> compares with another ref; without a usable base the step says so and
 * passes, visibly.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const ROOT = path.resolve(__dirname, '..');

function git(...args: string[]): string | undefined {
  const r = spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/** The lib/ sources that differ between `base` and the working tree (committed or not). */
export function changedLibFiles(diffNames: string): string[] {
  return diffNames
    .split('\n')
    .map((line) => line.trim())
    .filter((file) => /^lib\/.+\.ts$/.test(file) && !file.endsWith('.d.ts'));
}

function main(): number {
  const candidates = process.env['MUTATION_BASE']
    ? [process.env['MUTATION_BASE']]
    : ['origin/main', 'main'];
  const base = candidates.find((ref) => git('rev-parse', '--verify', '--quiet', `${ref}^{commit}`));
  const mergeBase = base === undefined ? undefined : git('merge-base', base, 'HEAD');
  if (mergeBase === undefined) {
    console.warn(`[mutation] no merge base with ${candidates.join(' or ')}: nothing mutated`);
    return 0;
  }
  const files = changedLibFiles(
    git('diff', '--name-only', '--diff-filter=AMR', mergeBase, '--', 'lib/') ?? '',
  );
  if (files.length === 0) {
    console.log(
      `[mutation] no lib/ file changed since ${base} (${mergeBase.slice(0, 7)}): nothing to mutate`,
    );
    return 0;
  }
  console.log(`[mutation] mutating ${files.join(', ')} (changed since ${base})`);
  const r = spawnSync('npx', ['stryker', 'run', '--mutate', files.join(',')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  return r.status ?? 1;
}

if (require.main === module) process.exitCode = main();
