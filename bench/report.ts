/**
 * Report: medians, ratios to the floor and to the peer, target checks, and the three outputs
 * (terminal table, bench/results/latest.json with every raw sample, bench/results/latest.md).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ContenderId, OursArtifact, PeerArtifact } from './contenders';
import type { RssSample, RunSample } from './driver';
import type { ProfileSummary } from './profile';
import type { SinkStats } from './sink';
import type { BatchName, Workload } from './workload';

export interface ThroughputSample extends RunSample {
  rep: number;
  /** What the sink received during this repetition. */
  sink: SinkStats;
}

export interface LoadResult {
  label: string;
  module: string;
  samplesMs: number[];
  /** Context rows are reported but not used for ratios or targets. */
  context: boolean;
}

export interface Plan {
  reps: number;
  warmupInvocations: Record<BatchName, number>;
  invocationsPerRep: Record<BatchName, number>;
  loadRuns: number;
  rssRuns: number;
}

export interface Results {
  schema: 1;
  mode: 'full' | 'short';
  date: string;
  durationS: number;
  command: string;
  machine: {
    node: string;
    platform: string;
    cpuModel: string;
    cores: number;
    memoryGiB: number;
    loadAverage: { phase: string; at: string; load1: number; load5: number; load15: number }[];
  };
  git: { commit: string; branch: string; dirtyPaths: string[] };
  workload: Workload;
  plan: Plan;
  ours: OursArtifact;
  peer: PeerArtifact | { skipped: string };
  contenders: { id: ContenderId; label: string }[];
  throughput: Partial<Record<BatchName, Partial<Record<ContenderId, ThroughputSample[]>>>>;
  load: Record<string, LoadResult>;
  rss: Partial<Record<ContenderId, RssSample[]>>;
  profile: ProfileSummary | undefined;
  warnings: string[];
  problems: string[];
  summary?: Summary;
}

export interface ThroughputRow {
  id: ContenderId;
  label: string;
  recordsPerSec: number;
  cpuUsPerRecord: number;
  /** Interquartile range of the repetitions' CPU µs/record, relative to the median. */
  cpuSpread: number;
  medianInvocationMs: number;
  wireBytesPerRecord: number;
  bodyBytesPerRecord: number;
  requestsPerInvocation: number;
  actionsPerRecord: number;
  ratios: {
    recordsPerSecVsFloor: number | undefined;
    recordsPerSecVsPeer: number | undefined;
    cpuVsFloor: number | undefined;
    cpuVsPeer: number | undefined;
  };
}

export interface Target {
  name: string;
  measured: string;
  limit: string;
  /** From the ratio of medians. */
  pass: boolean | undefined;
  /** BORDERLINE when the round-by-round ratios' interquartile range straddles the limit. */
  verdict: 'PASS' | 'FAIL' | 'BORDERLINE' | 'n/a';
}

export interface Summary {
  throughput: Partial<Record<BatchName, ThroughputRow[]>>;
  load: {
    key: string;
    label: string;
    medianMs: number;
    vsFloor: number | undefined;
    vsPeer: number | undefined;
    context: boolean;
  }[];
  rss: {
    id: ContenderId;
    label: string;
    peakMiB: number;
    baselineMiB: number;
    beforeRunMiB: number;
    vsFloor: number | undefined;
    vsPeer: number | undefined;
  }[];
  sizes: {
    zipBytes: number | undefined;
    bundleBytes: number;
    peerInstalledBytes: number | undefined;
    peerWithoutAwsSdkBytes: number | undefined;
  };
  targets: Target[];
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Linear-interpolated quantile, q in [0, 1]. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return (sorted[lo] as number) + ((sorted[hi] as number) - (sorted[lo] as number)) * (pos - lo);
}

/** (p75 - p25) / median: how far apart the repetitions were. */
function spread(values: readonly number[]): number {
  return (quantile(values, 0.75) - quantile(values, 0.25)) / median(values);
}

const ratio = (a: number | undefined, b: number | undefined): number | undefined =>
  a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0
    ? undefined
    : a / b;

const MiB = 1024 * 1024;
export const BATCH_ORDER: BatchName[] = ['b100', 'b1000', 'b6mb'];

const cpuPerRecord = (s: RunSample): number => (s.cpuUserUs + s.cpuSystemUs) / s.records;

/** a's CPU/record ÷ b's CPU/record, repetition by repetition: median and quartiles. */
export function pairedRatio(
  results: Results,
  batch: BatchName,
  a: ContenderId,
  b: ContenderId,
): { median: number; p25: number; p75: number } | undefined {
  const as = results.throughput[batch]?.[a] ?? [];
  const bs = new Map((results.throughput[batch]?.[b] ?? []).map((s) => [s.rep, s]));
  const ratios = as.flatMap((s) => {
    const other = bs.get(s.rep);
    return other ? [cpuPerRecord(s) / cpuPerRecord(other)] : [];
  });
  if (ratios.length === 0) return undefined;
  return { median: median(ratios), p25: quantile(ratios, 0.25), p75: quantile(ratios, 0.75) };
}

function verdictOf(pass: boolean | undefined, uncertain: boolean): Target['verdict'] {
  if (pass === undefined) return 'n/a';
  if (uncertain) return 'BORDERLINE';
  return pass ? 'PASS' : 'FAIL';
}

export function summarize(results: Results): Summary {
  const labels = new Map(results.contenders.map((c) => [c.id, c.label]));
  const throughput: Summary['throughput'] = {};
  for (const batch of BATCH_ORDER) {
    const byContender = results.throughput[batch];
    if (!byContender) continue;
    const rows: ThroughputRow[] = [];
    for (const [id, samples] of Object.entries(byContender) as [
      ContenderId,
      ThroughputSample[],
    ][]) {
      if (samples.length === 0) continue;
      const per = (f: (s: ThroughputSample) => number): number => median(samples.map(f));
      rows.push({
        id,
        label: labels.get(id) ?? id,
        recordsPerSec: per((s) => (s.records / s.wallNs) * 1e9),
        cpuUsPerRecord: per((s) => (s.cpuUserUs + s.cpuSystemUs) / s.records),
        cpuSpread: spread(samples.map((s) => (s.cpuUserUs + s.cpuSystemUs) / s.records)),
        medianInvocationMs: median(samples.flatMap((s) => s.invocationWallNs)) / 1e6,
        wireBytesPerRecord: per((s) => s.sink.wireBytes / s.records),
        bodyBytesPerRecord: per((s) => s.sink.bodyBytes / s.records),
        requestsPerInvocation: per((s) => s.sink.bulkRequests / s.invocations),
        actionsPerRecord: per((s) => s.sink.actions / s.records),
        ratios: {
          recordsPerSecVsFloor: undefined,
          recordsPerSecVsPeer: undefined,
          cpuVsFloor: undefined,
          cpuVsPeer: undefined,
        },
      });
    }
    const floor = rows.find((r) => r.id === 'floor');
    const peer = rows.find((r) => r.id === 'peer');
    for (const row of rows) {
      row.ratios = {
        recordsPerSecVsFloor: ratio(row.recordsPerSec, floor?.recordsPerSec),
        recordsPerSecVsPeer: ratio(row.recordsPerSec, peer?.recordsPerSec),
        cpuVsFloor: ratio(row.cpuUsPerRecord, floor?.cpuUsPerRecord),
        cpuVsPeer: ratio(row.cpuUsPerRecord, peer?.cpuUsPerRecord),
      };
    }
    throughput[batch] = rows;
  }

  const loadMedian = (key: string): number | undefined => {
    const r = results.load[key];
    return r ? median(r.samplesMs) : undefined;
  };
  const load = Object.entries(results.load).map(([key, r]) => ({
    key,
    label: r.label,
    medianMs: median(r.samplesMs),
    vsFloor: ratio(median(r.samplesMs), loadMedian('floor')),
    vsPeer: ratio(median(r.samplesMs), loadMedian('peer')),
    context: r.context,
  }));

  const rssPeak = (id: ContenderId): number | undefined => {
    const s = results.rss[id];
    return s && s.length > 0 ? median(s.map((x) => x.peakRssBytes)) : undefined;
  };
  const rss = (Object.entries(results.rss) as [ContenderId, RssSample[]][])
    .filter(([, s]) => s.length > 0)
    .map(([id, samples]) => ({
      id,
      label: labels.get(id) ?? id,
      peakMiB: median(samples.map((s) => s.peakRssBytes)) / MiB,
      baselineMiB: median(samples.map((s) => s.baselineRssBytes)) / MiB,
      beforeRunMiB: median(samples.map((s) => s.maxRssBeforeRunBytes)) / MiB,
      vsFloor: ratio(rssPeak(id), rssPeak('floor')),
      vsPeer: ratio(rssPeak(id), rssPeak('peer')),
    }));

  const peer = 'skipped' in results.peer ? undefined : results.peer;
  const sizes = {
    zipBytes: results.ours.zipBytes,
    bundleBytes: results.ours.bundleBytes,
    peerInstalledBytes: peer?.installedBytes,
    peerWithoutAwsSdkBytes: peer?.installedBytesWithoutAwsSdk,
  };

  // Targets: default configuration, batch of 1,000.
  const b1000 = throughput.b1000 ?? [];
  const ours = b1000.find((r) => r.id === 'ours');
  const fmtX = (x: number | undefined): string => (x === undefined ? 'n/a' : `${x.toFixed(2)}×`);
  const check = (value: number | undefined, ok: (v: number) => boolean): boolean | undefined =>
    value === undefined ? undefined : ok(value);
  const cpuVsFloor = ours?.ratios.cpuVsFloor;
  const peerOverOurs = ours?.ratios.cpuVsPeer === undefined ? undefined : 1 / ours.ratios.cpuVsPeer;
  // The same ratios taken round by round (contenders of one repetition ran back to back), which
  // cancels slow drifts in the machine's background load; shown next to the ratio of medians.
  const pairedFloor = pairedRatio(results, 'b1000', 'ours', 'floor');
  const pairedPeer = pairedRatio(results, 'b1000', 'peer', 'ours');
  const paired = (v: ReturnType<typeof pairedRatio>): string =>
    v === undefined
      ? ''
      : ` (round by round: ${v.median.toFixed(2)}×, IQR ${v.p25.toFixed(2)}–${v.p75.toFixed(2)}×)`;
  const straddles = (v: ReturnType<typeof pairedRatio>, limit: number): boolean =>
    v !== undefined && v.p25 <= limit && limit <= v.p75;
  const loadVsPeer = load.find((l) => l.key === 'ours')?.vsPeer;
  const rssVsFloor = rss.find((r) => r.id === 'ours')?.vsFloor;
  const packaged = results.ours.source === 'packaged';
  const targets: Target[] = [
    {
      name: 'CPU per record ≤ 1.5× floor (batch 1,000)',
      measured: fmtX(cpuVsFloor) + paired(pairedFloor),
      limit: '≤ 1.50×',
      pass: check(cpuVsFloor, (v) => v <= 1.5),
      verdict: verdictOf(
        check(cpuVsFloor, (v) => v <= 1.5),
        straddles(pairedFloor, 1.5),
      ),
    },
    {
      name: 'CPU per record ≥ 1.5× less than the peer (batch 1,000)',
      measured:
        peerOverOurs === undefined
          ? 'n/a'
          : `peer uses ${peerOverOurs.toFixed(2)}× ours${paired(pairedPeer)}`,
      limit: '≥ 1.50×',
      pass: check(peerOverOurs, (v) => v >= 1.5),
      verdict: verdictOf(
        check(peerOverOurs, (v) => v >= 1.5),
        straddles(pairedPeer, 1.5),
      ),
    },
    {
      name: "handler module load ≤ 0.3× the peer's",
      measured: fmtX(loadVsPeer),
      limit: '≤ 0.30×',
      pass: check(loadVsPeer, (v) => v <= 0.3),
      verdict: verdictOf(
        check(loadVsPeer, (v) => v <= 0.3),
        false,
      ),
    },
    {
      name: 'packaged zip ≤ 512 KiB',
      measured: sizes.zipBytes === undefined ? 'n/a (esbuild fallback)' : kib(sizes.zipBytes),
      limit: '≤ 512.0 KiB',
      pass: packaged ? check(sizes.zipBytes, (v) => v <= 512 * 1024) : undefined,
      verdict: verdictOf(
        packaged ? check(sizes.zipBytes, (v) => v <= 512 * 1024) : undefined,
        false,
      ),
    },
    {
      name: "peak RSS for the 6 MB batch ≤ 2× the floor's",
      measured: fmtX(rssVsFloor),
      limit: '≤ 2.00×',
      pass: check(rssVsFloor, (v) => v <= 2),
      verdict: verdictOf(
        check(rssVsFloor, (v) => v <= 2),
        false,
      ),
    },
  ];
  return { throughput, load, rss, sizes, targets };
}

// ---------------------------------------------------------------------------------------------
// Formatting

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
const x = (value: number | undefined): string =>
  value === undefined ? '–' : `${value.toFixed(2)}×`;
const int = (value: number): string => Math.round(value).toLocaleString('en-US');
const num = (value: number, digits: number): string => value.toFixed(digits);

function batchTitle(results: Results, batch: BatchName): string {
  const set = results.workload.batches[batch];
  const records = median(set.recordsPerBatch);
  const bytes = median(set.eventBytes);
  return `${set.label}: ${int(records)} records, event ${bytes >= MiB ? mib(bytes) : kib(bytes)} (${bytes.toLocaleString('en-US')} B)`;
}

interface Table {
  title: string;
  headers: string[];
  rows: string[][];
  /** Columns aligned left (others right). */
  left: number[];
}

function tables(results: Results, summary: Summary): Table[] {
  const out: Table[] = [];
  for (const batch of BATCH_ORDER) {
    const rows = summary.throughput[batch];
    if (!rows) continue;
    out.push({
      title: batchTitle(results, batch),
      headers: [
        'contender',
        'records/s',
        '×floor',
        '×peer',
        'CPU µs/rec',
        '±',
        '×floor',
        '×peer',
        'ms/invocation',
        'bytes sent/rec',
        'requests/inv',
      ],
      left: [0],
      rows: rows.map((r) => [
        r.label,
        int(r.recordsPerSec),
        x(r.ratios.recordsPerSecVsFloor),
        x(r.ratios.recordsPerSecVsPeer),
        num(r.cpuUsPerRecord, 1),
        `±${((r.cpuSpread * 100) / 2).toFixed(0)}%`,
        x(r.ratios.cpuVsFloor),
        x(r.ratios.cpuVsPeer),
        num(r.medianInvocationMs, 1),
        r.wireBytesPerRecord === r.bodyBytesPerRecord
          ? int(r.wireBytesPerRecord)
          : `${int(r.wireBytesPerRecord)} (of ${int(r.bodyBytesPerRecord)})`,
        num(r.requestsPerInvocation, 1),
      ]),
    });
  }
  out.push({
    title: 'Handler module load, fresh node process (require() timed with process.hrtime)',
    headers: ['module', 'load ms', '×floor', '×peer'],
    left: [0],
    rows: summary.load.map((l) => [
      l.context ? `${l.label} (context)` : l.label,
      num(l.medianMs, 1),
      x(l.vsFloor),
      x(l.vsPeer),
    ]),
  });
  out.push({
    title: 'Peak RSS, fresh process, 6 MB batch run once (resourceUsage().maxRSS)',
    headers: [
      'contender',
      'peak RSS',
      '×floor',
      '×peer',
      'RSS after load',
      'max RSS after parsing event',
    ],
    left: [0],
    rows: summary.rss.map((r) => [
      r.label,
      `${num(r.peakMiB, 1)} MiB`,
      x(r.vsFloor),
      x(r.vsPeer),
      `${num(r.baselineMiB, 1)} MiB`,
      `${num(r.beforeRunMiB, 1)} MiB`,
    ]),
  });
  const s = summary.sizes;
  out.push({
    title: 'Sizes',
    headers: ['what', 'size'],
    left: [0],
    rows: [
      [
        results.ours.source === 'packaged'
          ? 'ours: packaged zip'
          : 'ours: zip (esbuild fallback: no zip)',
        s.zipBytes === undefined
          ? 'n/a'
          : `${kib(s.zipBytes)} (${s.zipBytes.toLocaleString('en-US')} B)`,
      ],
      [
        results.ours.source === 'packaged'
          ? 'ours: handler.js inside it'
          : 'ours: esbuild bundle (fallback)',
        kib(s.bundleBytes),
      ],
      [
        'peer: installed, with aws-sdk v2',
        s.peerInstalledBytes === undefined ? 'n/a' : mib(s.peerInstalledBytes),
      ],
      [
        'peer: its own dependency tree, without aws-sdk v2',
        s.peerWithoutAwsSdkBytes === undefined ? 'n/a' : mib(s.peerWithoutAwsSdkBytes),
      ],
    ],
  });
  out.push({
    title: `Targets (default configuration, batch of 1,000)${results.mode === 'short' ? ' — SHORT MODE: figures are not meaningful' : ''}`,
    headers: ['target', 'measured', 'limit', 'result'],
    left: [0, 1],
    rows: summary.targets.map((t) => [t.name, t.measured, t.limit, t.verdict]),
  });
  if (results.profile) {
    out.push({
      title: `CPU profile of ours (default config, batch of 1,000, measured invocations only, ${results.profile.totalMs} ms of samples; not the measured process): top self time`,
      headers: ['self ms', 'share', 'function', 'where'],
      left: [2, 3],
      rows: results.profile.top.map((e) => [
        num(e.selfMs, 1),
        `${(e.selfShare * 100).toFixed(1)}%`,
        e.name,
        e.location,
      ]),
    });
    out.push({
      title: 'CPU profile of ours: self time by origin',
      headers: ['self ms', 'share', 'origin'],
      left: [2],
      rows: results.profile.byOrigin.map((e) => [
        num(e.selfMs, 1),
        `${(e.selfShare * 100).toFixed(1)}%`,
        e.name,
      ]),
    });
  }
  return out;
}

function textTable(t: Table): string {
  const widths = t.headers.map((h, i) =>
    Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)),
  );
  const line = (cells: string[]): string =>
    cells
      .map((c, i) =>
        t.left.includes(i) ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number),
      )
      .join('  ')
      .trimEnd();
  return [
    t.title,
    line(t.headers),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...t.rows.map(line),
  ].join('\n');
}

function markdownTable(t: Table): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  return [
    `**${t.title}**`,
    '',
    `| ${t.headers.map(esc).join(' | ')} |`,
    `| ${t.headers.map((_, i) => (t.left.includes(i) ? '---' : '---:')).join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

function machineNote(results: Results): string {
  const m = results.machine;
  const loads = m.loadAverage.map((l) => `${l.phase} ${l.load1.toFixed(2)}`).join(', ');
  return `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB.toFixed(0)} GiB, Node ${m.node} (${m.platform}); 1-min load average: ${loads}`;
}

const ZIP_NAME = (path: string): string =>
  path.replace(/^.*?\/(\.bench-tmp|\.serverless)\//, '$1/');

function oursNote(results: Results): string {
  const o = results.ours;
  const lines = [
    `ours: ${o.origin}${o.zipPath && !o.origin.includes(ZIP_NAME(o.zipPath)) ? ` — ${ZIP_NAME(o.zipPath)}` : ''}; environment from ${o.functionEnvOrigin}: ${Object.entries(
      o.functionEnv,
    )
      .map(([k, v]) => `${k}=${v}`)
      .join(
        ' ',
      )}; OPENSEARCH_ENDPOINT=http://127.0.0.1:<sink>, SigV4 with fake env credentials, no DEAD_LETTER_BUCKET; logs written to /dev/null.`,
  ];
  if ('skipped' in results.peer) lines.push(`peer: SKIPPED — ${results.peer.skipped}`);
  else
    lines.push(
      `peer: ${'dynamodb-stream-elasticsearch'}@${results.peer.version} with aws-sdk@${results.peer.awsSdkVersion}, pushStream({ useBulk: true, refresh: false }), signing with aws-sdk v2 env credentials.`,
    );
  return lines.join('\n');
}

export function renderText(results: Results, summary: Summary): string {
  const parts = [
    `dynamodb-opensearch-indexer bench — ${results.mode} mode, ${results.date}`,
    `machine: ${machineNote(results)}`,
    `commit: ${results.git.commit}${results.git.dirtyPaths.length > 0 ? ` (+ uncommitted changes in ${results.git.dirtyPaths.join(', ')})` : ''}`,
    oursNote(results),
    `medians of ${results.plan.reps} measured repetition(s) after warm-up; ratios are contender ÷ floor and contender ÷ peer (records/s: higher is better; CPU: lower is better); ± is half the interquartile range of the repetitions' CPU µs/rec, relative to the median`,
    '',
    ...tables(results, summary).flatMap((t) => [textTable(t), '']),
  ];
  for (const w of results.warnings) parts.push(`WARNING: ${w}`);
  for (const p of results.problems) parts.push(`PROBLEM: ${p}`);
  parts.push(`took ${results.durationS.toFixed(1)} s`);
  return parts.join('\n');
}

export function renderMarkdown(results: Results, summary: Summary): string {
  const w = results.plan;
  const parts = [
    `### Benchmark (${results.date.slice(0, 10)})`,
    '',
    `Measured with \`${results.command}\` on ${machineNote(results)}. Commit \`${results.git.commit.slice(0, 12)}\`${results.git.dirtyPaths.length > 0 ? ' (with uncommitted changes)' : ''}.`,
    '',
    `Workload: seeded stream batches of \`UsersTransactions\` items (about ${results.workload.batches.b1000.meanItemBytes} B each as DynamoDB counts, nested maps/lists/sets/binary, a few exact big numbers), INSERT/MODIFY/REMOVE mixed, NEW_AND_OLD_IMAGES. ` +
      `Each contender runs in its own fresh Node process against the same loopback \`_bulk\` sink (a separate process whose CPU is not counted); ` +
      `figures are medians of ${w.reps} repetitions after warm-up (± = half the interquartile range of the CPU figure); CPU is \`process.cpuUsage()\` (user+system) of the contender's process around the handler calls. ` +
      `"floor" is the least work any indexer must do (plain conversion + JSON.stringify, one unsigned POST per batch); "peer" is dynamodb-stream-elasticsearch@3.3.1.`,
    '',
    oursNote(results)
      .split('\n')
      .map((l) => `- ${l}`)
      .join('\n'),
    '',
    ...tables(results, summary)
      .filter((t) => !t.title.startsWith('CPU profile'))
      .flatMap((t) => [markdownTable(t), '']),
  ];
  if (results.warnings.length > 0)
    parts.push(...results.warnings.map((wn) => `> warning: ${wn}`), '');
  parts.push(
    `Reproduce: \`npm ci && npm run bench\` (full, a few minutes; \`npm run bench -- --short\` only checks that it works; \`--cpu-prof\` adds a CPU profile of our handler). Raw samples: \`bench/results/latest.json\`.`,
  );
  return parts.join('\n') + '\n';
}

export function writeOutputs(
  results: Results,
  summary: Summary,
  jsonPath: string,
  mdPath: string,
): void {
  mkdirSync(dirname(jsonPath), { recursive: true });
  writeFileSync(jsonPath, JSON.stringify({ ...results, summary }, null, 2) + '\n');
  writeFileSync(mdPath, renderMarkdown(results, summary));
}
