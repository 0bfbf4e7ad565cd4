/**
 * Module-load cost of publishing EMF with @aws-lambda-powertools/metrics vs our lib/metrics.ts
 * (issue 10: "if you use Powertools rather than writing EMF yourself, say why, with the
 * module-load cost measured").
 *
 *   mkdir -p /tmp/pt && (cd /tmp/pt && npm init -y && npm i @aws-lambda-powertools/metrics)
 *   npx tsx bench/metrics-load.ts /tmp/pt [rounds]
 *
 * Powertools is installed OUTSIDE the repository (it is not a dependency). Three tiny handlers
 * (an empty one, one on Powertools' `Metrics`, one on our `createEmf`), each building its metrics
 * object at module scope the way a handler does, are bundled the way serverless-esbuild bundles
 * ours (bundle, minify, tree shaking, cjs, platform node; target node20, the Node here). Each
 * round `require`s every bundle in its own fresh Node process, in rotating order, and times the
 * require with process.hrtime; the figures are medians over the rounds.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { buildSync } from 'esbuild';

const ROOT = path.resolve(__dirname, '..');

const ENTRIES = {
  empty: `export const handler = async () => ({ ok: true });`,
  ours: `
import { createEmf } from ${JSON.stringify(path.join(ROOT, 'lib/metrics'))};
const emf = createEmf({ namespace: 'DynamoDBOpenSearchIndexer', dimensions: [['Service', 'svc'], ['Index', 'transactions']] });
export const handler = async () => emf({ records: 1, indexed: 1, deleted: 0, notFound: 0, stale: 0, wrapped: 0, superseded: 0, skipped: 0, retried: 0, deadLettered: 0, failed: 0, requests: 1, bytes: 10, ms: 1 }, undefined, Date.now());
`,
  powertools: `
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
const metrics = new Metrics({ namespace: 'DynamoDBOpenSearchIndexer', serviceName: 'svc', defaultDimensions: { Index: 'transactions' } });
export const handler = async () => { metrics.addMetric('indexed', MetricUnit.Count, 1); metrics.publishStoredMetrics(); };
`,
} as const;

type Name = keyof typeof ENTRIES;

function bundle(dir: string, ptDir: string): Record<Name, string> {
  const out = {} as Record<Name, string>;
  for (const name of Object.keys(ENTRIES) as Name[]) {
    const entry = path.join(dir, `${name}.ts`);
    writeFileSync(entry, ENTRIES[name]);
    const outfile = path.join(dir, `${name}.js`);
    buildSync({
      entryPoints: [entry],
      outfile,
      bundle: true,
      minify: true,
      treeShaking: true,
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      nodePaths: [path.join(ptDir, 'node_modules')],
      logLevel: 'warning',
    });
    out[name] = outfile;
  }
  return out;
}

/**
 * One fresh process: the require's CPU time (user + system, ms), which a busy machine inflates
 * less than wall time, and its wall time.
 */
function requireMs(file: string): { cpu: number; wall: number } {
  const script = `const c=process.cpuUsage(),t=process.hrtime.bigint();require(${JSON.stringify(file)});const w=Number(process.hrtime.bigint()-t)/1e6,u=process.cpuUsage(c);process.stdout.write(JSON.stringify({cpu:(u.user+u.system)/1e3,wall:w}))`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as {
    cpu: number;
    wall: number;
  };
}

function quantile(sorted: readonly number[], q: number): number {
  const at = (sorted.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (at - lo);
}

function main(): void {
  const ptDir = process.argv[2];
  if (ptDir === undefined)
    throw new Error(
      'usage: npx tsx bench/metrics-load.ts <dir with @aws-lambda-powertools/metrics installed> [rounds]',
    );
  const rounds = Number(process.argv[3] ?? 15);
  const dir = mkdtempSync(path.join(tmpdir(), 'metrics-load-'));
  const files = bundle(dir, ptDir);
  const names = Object.keys(files) as Name[];
  const times: Record<Name, number[]> = { empty: [], ours: [], powertools: [] };
  const walls: Record<Name, number[]> = { empty: [], ours: [], powertools: [] };
  const loadStart = loadavg()[0] as number;
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length] as Name;
      const { cpu, wall } = requireMs(files[name]);
      times[name].push(cpu);
      walls[name].push(wall);
    }
  }
  const loadEnd = loadavg()[0] as number;
  const version = (
    JSON.parse(
      readFileSync(
        path.join(ptDir, 'node_modules/@aws-lambda-powertools/metrics/package.json'),
        'utf8',
      ),
    ) as { version: string }
  ).version;
  console.log(
    `Node ${process.version}, ${rounds} rounds, 1-min load average ${loadStart.toFixed(2)} -> ${loadEnd.toFixed(2)}; @aws-lambda-powertools/metrics@${version}`,
  );
  console.log(
    '| handler | bundle | require, CPU: median (IQR) | CPU minus the empty one, same round | require, wall: median (IQR) |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: |');
  const spread = (values: readonly number[]): string => {
    const sorted = [...values].sort((a, b) => a - b);
    const f = (q: number): string => quantile(sorted, q).toFixed(2);
    return `${f(0.5)} ms (${f(0.25)}–${f(0.75)})`;
  };
  for (const name of names) {
    const size = (statSync(files[name]).size / 1024).toFixed(1);
    // Paired with the empty handler's time of the same round, which shares the machine's load.
    const extra = times[name].map((ms, round) => ms - (times.empty[round] as number));
    console.log(
      `| ${name} | ${size} KiB | ${spread(times[name])} | ${name === 'empty' ? '' : spread(extra)} | ${spread(walls[name])} |`,
    );
  }
}

main();
