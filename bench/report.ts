/**
 * Report: medians, ratios to the lean floor, the previous floor and the peer, target checks, and
 * the outputs (terminal table, bench/results/latest.json with every raw sample,
 * bench/results/latest.md; README.md's section is rendered by bench/readme.ts from these tables).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ContenderId, OursArtifact, PeerArtifact } from './contenders';
import type { RssSample, RunSample } from './driver';
import type { ProfileSummary } from './profile';
import type { SinkStats } from './sink';
import { SHAPE_ORDER, type BatchName, type ShapeName, type Workload } from './workload';

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
  /** Fresh processes per contender whose first batches of 1,000 are kept one by one. */
  coldRuns: number;
  coldInvocations: number;
}

/** One fresh process's first calls. */
export interface ColdSample {
  run: number;
  /** The contender module's require() time in that process. */
  loadMs: number;
  sample: RunSample;
}

export interface Results {
  schema: 2;
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
  throughput: Partial<
    Record<ShapeName, Partial<Record<BatchName, Partial<Record<ContenderId, ThroughputSample[]>>>>>
  >;
  cold: Partial<Record<ShapeName, Partial<Record<ContenderId, ColdSample[]>>>>;
  /** Batch of 1,000 run again with V8 flags that keep GC on the main thread. */
  jitDiagnostic:
    | {
        shape: ShapeName;
        flags: string[];
        samples: Partial<Record<ContenderId, ThroughputSample[]>>;
      }
    | undefined;
  load: Record<string, LoadResult>;
  rss: Partial<Record<ContenderId, RssSample[]>>;
  profileShape: ShapeName;
  profiles: Partial<Record<ContenderId, ProfileSummary>>;
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
  /** The part of cpuUsPerRecord spent on other threads (background JIT, GC helpers). */
  otherThreadsUsPerRecord: number | undefined;
  medianInvocationMs: number;
  wireBytesPerRecord: number;
  bodyBytesPerRecord: number;
  requestsPerInvocation: number;
  actionsPerRecord: number;
  ratios: {
    cpuVsLeanFloor: number | undefined;
    cpuVsFloor: number | undefined;
    cpuVsPeer: number | undefined;
  };
}

export interface ColdRow {
  id: ContenderId;
  label: string;
  runs: number;
  loadMs: number;
  /** Median over the runs of the i-th call's process CPU per record (µs). */
  batchUsPerRecord: number[];
  /** Median over the runs of the i-th call's other-thread CPU per record (µs). */
  batchOtherUsPerRecord: number[];
  /** The same contender after warm-up (throughput, batch of 1,000). */
  steadyUsPerRecord: number | undefined;
  /**
   * Each run's CPU over all its calls ÷ its records (µs): a fresh process's whole run, warm-up
   * and JIT included, as an outside benchmark of a few batches per process measures it. In run
   * order, so contenders pair run by run.
   */
  runUsPerRecordByRun: number[];
  /** Median of runUsPerRecordByRun. */
  runUsPerRecord: number;
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
  throughput: Partial<Record<ShapeName, Partial<Record<BatchName, ThroughputRow[]>>>>;
  cold: Partial<Record<ShapeName, ColdRow[]>>;
  jitDiagnostic: ThroughputRow[] | undefined;
  load: {
    key: string;
    label: string;
    medianMs: number;
    vsLeanFloor: number | undefined;
    vsPeer: number | undefined;
    context: boolean;
  }[];
  rss: {
    id: ContenderId;
    label: string;
    peakMiB: number;
    baselineMiB: number;
    beforeRunMiB: number;
    vsLeanFloor: number | undefined;
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

export interface Spread {
  median: number;
  p25: number;
  p75: number;
}

function spreadOf(values: number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  return { median: median(values), p25: quantile(values, 0.25), p75: quantile(values, 0.75) };
}

/** a's CPU/record ÷ b's CPU/record, repetition by repetition: median and quartiles. */
export function pairedRatio(
  results: Results,
  shape: ShapeName,
  batch: BatchName,
  a: ContenderId,
  b: ContenderId,
): Spread | undefined {
  const samples = results.throughput[shape]?.[batch];
  const as = samples?.[a] ?? [];
  const bs = new Map((samples?.[b] ?? []).map((s) => [s.rep, s]));
  return spreadOf(
    as.flatMap((s) => {
      const other = bs.get(s.rep);
      return other ? [cpuPerRecord(s) / cpuPerRecord(other)] : [];
    }),
  );
}

/** as[i] ÷ bs[i] for runs made side by side (module loads, RSS processes). */
function pairedByRun(as: number[], bs: number[]): Spread | undefined {
  const n = Math.min(as.length, bs.length);
  return spreadOf(Array.from({ length: n }, (_, i) => (as[i] as number) / (bs[i] as number)));
}

function verdictOf(pass: boolean | undefined, uncertain: boolean): Target['verdict'] {
  if (pass === undefined) return 'n/a';
  if (uncertain) return 'BORDERLINE';
  return pass ? 'PASS' : 'FAIL';
}

function throughputRows(
  byContender: Partial<Record<ContenderId, ThroughputSample[]>>,
  labels: Map<ContenderId, string>,
): ThroughputRow[] {
  const rows: ThroughputRow[] = [];
  for (const [id, samples] of Object.entries(byContender) as [ContenderId, ThroughputSample[]][]) {
    if (samples.length === 0) continue;
    const per = (f: (s: ThroughputSample) => number): number => median(samples.map(f));
    const withThreads = samples.filter((s) => s.otherThreadsCpuUs !== undefined);
    rows.push({
      id,
      label: labels.get(id) ?? id,
      recordsPerSec: per((s) => (s.records / s.wallNs) * 1e9),
      cpuUsPerRecord: per(cpuPerRecord),
      cpuSpread: spread(samples.map(cpuPerRecord)),
      otherThreadsUsPerRecord:
        withThreads.length === 0
          ? undefined
          : median(withThreads.map((s) => (s.otherThreadsCpuUs as number) / s.records)),
      medianInvocationMs: median(samples.flatMap((s) => s.invocationWallNs)) / 1e6,
      wireBytesPerRecord: per((s) => s.sink.wireBytes / s.records),
      bodyBytesPerRecord: per((s) => s.sink.bodyBytes / s.records),
      requestsPerInvocation: per((s) => s.sink.bulkRequests / s.invocations),
      actionsPerRecord: per((s) => s.sink.actions / s.records),
      ratios: { cpuVsLeanFloor: undefined, cpuVsFloor: undefined, cpuVsPeer: undefined },
    });
  }
  const cpuOf = (id: ContenderId): number | undefined =>
    rows.find((r) => r.id === id)?.cpuUsPerRecord;
  for (const row of rows) {
    row.ratios = {
      cpuVsLeanFloor: ratio(row.cpuUsPerRecord, cpuOf('lean-floor')),
      cpuVsFloor: ratio(row.cpuUsPerRecord, cpuOf('floor')),
      cpuVsPeer: ratio(row.cpuUsPerRecord, cpuOf('peer')),
    };
  }
  return rows;
}

function coldRows(
  byContender: Partial<Record<ContenderId, ColdSample[]>>,
  steady: ThroughputRow[] | undefined,
  labels: Map<ContenderId, string>,
): ColdRow[] {
  const rows: ColdRow[] = [];
  for (const [id, runs] of Object.entries(byContender) as [ContenderId, ColdSample[]][]) {
    if (runs.length === 0) continue;
    const calls = Math.min(...runs.map((r) => r.sample.invocationCpuUs.length));
    const byRun = [...runs]
      .sort((a, b) => a.run - b.run)
      .map(
        (r) => r.sample.invocationCpuUs.reduce((a, b) => a + b, 0) / Math.max(1, r.sample.records),
      );
    const perCall = (pick: (r: ColdSample) => number[]): number[] =>
      Array.from({ length: calls }, (_, i) =>
        median(
          runs.map(
            (r) => ((pick(r)[i] ?? NaN) * r.sample.invocations) / Math.max(1, r.sample.records),
          ),
        ),
      );
    rows.push({
      id,
      label: labels.get(id) ?? id,
      runs: runs.length,
      loadMs: median(runs.map((r) => r.loadMs)),
      batchUsPerRecord: perCall((r) => r.sample.invocationCpuUs),
      batchOtherUsPerRecord: perCall((r) => r.sample.invocationOtherThreadsCpuUs),
      steadyUsPerRecord: steady?.find((r) => r.id === id)?.cpuUsPerRecord,
      runUsPerRecordByRun: byRun,
      runUsPerRecord: median(byRun),
    });
  }
  return rows;
}

const SHAPE_SHORT: Record<ShapeName, string> = { article: 'article items', rich: 'rich items' };

export function summarize(results: Results): Summary {
  const labels = new Map(results.contenders.map((c) => [c.id, c.label]));
  const throughput: Summary['throughput'] = {};
  const cold: Summary['cold'] = {};
  for (const shape of SHAPE_ORDER) {
    const byBatch = results.throughput[shape];
    if (!byBatch) continue;
    const out: Partial<Record<BatchName, ThroughputRow[]>> = {};
    for (const batch of BATCH_ORDER) {
      const byContender = byBatch[batch];
      if (byContender) out[batch] = throughputRows(byContender, labels);
    }
    throughput[shape] = out;
    const coldRuns = results.cold[shape];
    if (coldRuns) cold[shape] = coldRows(coldRuns, out.b1000, labels);
  }

  const loadMedian = (key: string): number | undefined => {
    const r = results.load[key];
    return r ? median(r.samplesMs) : undefined;
  };
  const load = Object.entries(results.load).map(([key, r]) => ({
    key,
    label: r.label,
    medianMs: median(r.samplesMs),
    vsLeanFloor: ratio(median(r.samplesMs), loadMedian('lean-floor')),
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
      vsLeanFloor: ratio(rssPeak(id), rssPeak('lean-floor')),
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

  // Targets of issue 12: default configuration, batch of 1,000, each workload.
  const fmtX = (x: number | undefined): string => (x === undefined ? 'n/a' : `${x.toFixed(2)}×`);
  const check = (value: number | undefined, ok: (v: number) => boolean): boolean | undefined =>
    value === undefined ? undefined : ok(value);
  const paired = (v: Spread | undefined, what: string): string =>
    v === undefined
      ? ''
      : ` (${what}: ${v.median.toFixed(2)}×, IQR ${v.p25.toFixed(2)}–${v.p75.toFixed(2)}×)`;
  // A limit inside the interquartile range of the paired ratios is too close to call.
  const straddles = (v: Spread | undefined, limit: number): boolean =>
    v !== undefined && v.p25 <= limit && limit <= v.p75;
  const targets: Target[] = [];
  for (const shape of SHAPE_ORDER) {
    const ours = throughput[shape]?.b1000?.find((r) => r.id === 'ours');
    if (ours === undefined) continue;
    const vsLean = ours.ratios.cpuVsLeanFloor;
    const pairedLean = pairedRatio(results, shape, 'b1000', 'ours', 'lean-floor');
    const leanPass = check(vsLean, (v) => v <= CPU_VS_LEAN_FLOOR);
    targets.push({
      name: `CPU per record ≤ ${CPU_VS_LEAN_FLOOR}× the lean floor's, ${SHAPE_SHORT[shape]}`,
      measured: fmtX(vsLean) + paired(pairedLean, 'round by round'),
      limit: `≤ ${CPU_VS_LEAN_FLOOR.toFixed(2)}×`,
      pass: leanPass,
      verdict: verdictOf(leanPass, straddles(pairedLean, CPU_VS_LEAN_FLOOR)),
    });
    const peerOverOurs =
      ours.ratios.cpuVsPeer === undefined ? undefined : 1 / ours.ratios.cpuVsPeer;
    const pairedPeer = pairedRatio(results, shape, 'b1000', 'peer', 'ours');
    const peerPass = check(peerOverOurs, (v) => v >= PEER_OVER_OURS);
    targets.push({
      name: `the peer uses ≥ ${PEER_OVER_OURS}× our CPU per record, ${SHAPE_SHORT[shape]}`,
      measured:
        peerOverOurs === undefined
          ? 'n/a'
          : `${peerOverOurs.toFixed(2)}×${paired(pairedPeer, 'round by round')}`,
      limit: `≥ ${PEER_OVER_OURS.toFixed(2)}×`,
      pass: peerPass,
      verdict: verdictOf(peerPass, straddles(pairedPeer, PEER_OVER_OURS)),
    });
    targets.push(...wholeRunTargets(cold[shape], SHAPE_SHORT[shape], fmtX, paired, straddles));
  }
  const loadVsPeer = load.find((l) => l.key === 'ours')?.vsPeer;
  const pairedLoad = pairedByRun(
    results.load.ours?.samplesMs ?? [],
    results.load.peer?.samplesMs ?? [],
  );
  const loadPass = check(loadVsPeer, (v) => v <= LOAD_VS_PEER);
  targets.push({
    name: "handler module load ≤ 0.25× the peer's",
    measured: fmtX(loadVsPeer) + paired(pairedLoad, 'run by run'),
    limit: `≤ ${LOAD_VS_PEER.toFixed(2)}×`,
    pass: loadPass,
    verdict: verdictOf(loadPass, straddles(pairedLoad, LOAD_VS_PEER)),
  });
  const packaged = results.ours.source === 'packaged';
  const zipPass = packaged ? check(sizes.zipBytes, (v) => v <= ZIP_LIMIT_BYTES) : undefined;
  targets.push({
    name: 'packaged zip ≤ 512 KiB',
    measured: sizes.zipBytes === undefined ? 'n/a (esbuild fallback)' : kib(sizes.zipBytes),
    limit: `≤ ${kib(ZIP_LIMIT_BYTES)}`,
    pass: zipPass,
    verdict: verdictOf(zipPass, false),
  });
  const oursRss = rss.find((r) => r.id === 'ours');
  const pairedRss = pairedByRun(
    (results.rss.ours ?? []).map((s) => s.peakRssBytes),
    (results.rss['lean-floor'] ?? []).map((s) => s.peakRssBytes),
  );
  const rssPass = check(oursRss?.vsLeanFloor, (v) => v <= RSS_VS_FLOOR);
  targets.push({
    name: "peak RSS for the 6 MB batch ≤ 2× the lean floor's",
    measured:
      fmtX(oursRss?.vsLeanFloor) +
      (oursRss?.vsFloor === undefined ? '' : ` (previous floor: ${fmtX(oursRss.vsFloor)})`),
    limit: `≤ ${RSS_VS_FLOOR.toFixed(2)}×`,
    pass: rssPass,
    verdict: verdictOf(rssPass, straddles(pairedRss, RSS_VS_FLOOR)),
  });
  const jitDiagnostic = results.jitDiagnostic
    ? throughputRows(results.jitDiagnostic.samples, labels)
    : undefined;
  return { throughput, cold, jitDiagnostic, load, rss, sizes, targets };
}

/** The limits of issue 12 ("Targets"). */
/**
 * The same two CPU targets taken over fresh processes' whole runs (the cold runs: warm-up, JIT
 * and GC of the first batches included), the way a benchmark that runs a few batches per fresh
 * process sees them. Paired run by run: run i of every contender ran back to back.
 */
function wholeRunTargets(
  rows: ColdRow[] | undefined,
  shape: string,
  fmtX: (x: number | undefined) => string,
  paired: (v: Spread | undefined, what: string) => string,
  straddles: (v: Spread | undefined, limit: number) => boolean,
): Target[] {
  const of = (id: ContenderId): ColdRow | undefined => rows?.find((r) => r.id === id);
  const ours = of('ours');
  const lean = of('lean-floor');
  const peer = of('peer');
  if (ours === undefined) return [];
  const calls = ours.batchUsPerRecord.length;
  const where = `${shape}, fresh process, first ${calls} batches`;
  const out: Target[] = [];
  if (lean !== undefined) {
    const vsLean = ratio(ours.runUsPerRecord, lean.runUsPerRecord);
    const pairedLean = pairedByRun(ours.runUsPerRecordByRun, lean.runUsPerRecordByRun);
    const pass = vsLean === undefined ? undefined : vsLean <= CPU_VS_LEAN_FLOOR;
    out.push({
      name: `CPU per record ≤ ${CPU_VS_LEAN_FLOOR}× the lean floor's, ${where}`,
      measured: fmtX(vsLean) + paired(pairedLean, 'run by run'),
      limit: `≤ ${CPU_VS_LEAN_FLOOR.toFixed(2)}×`,
      pass,
      verdict: verdictOf(pass, straddles(pairedLean, CPU_VS_LEAN_FLOOR)),
    });
  }
  if (peer !== undefined) {
    const peerOverOurs = ratio(peer.runUsPerRecord, ours.runUsPerRecord);
    const pairedPeer = pairedByRun(peer.runUsPerRecordByRun, ours.runUsPerRecordByRun);
    const pass = peerOverOurs === undefined ? undefined : peerOverOurs >= PEER_OVER_OURS;
    out.push({
      name: `the peer uses ≥ ${PEER_OVER_OURS}× our CPU per record, ${where}`,
      measured: fmtX(peerOverOurs) + paired(pairedPeer, 'run by run'),
      limit: `≥ ${PEER_OVER_OURS.toFixed(2)}×`,
      pass,
      verdict: verdictOf(pass, straddles(pairedPeer, PEER_OVER_OURS)),
    });
  }
  return out;
}

/** The cold table shows the first batches one by one up to this many. */
const COLD_BATCHES_SHOWN = 6;
const CPU_VS_LEAN_FLOOR = 1.25;
const PEER_OVER_OURS = 1.5;
const LOAD_VS_PEER = 0.25;
const ZIP_LIMIT_BYTES = 512 * 1024;
const RSS_VS_FLOOR = 2;

// ---------------------------------------------------------------------------------------------
// Formatting

const kib = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KiB`;
const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`;
const x = (value: number | undefined): string =>
  value === undefined ? '–' : `${value.toFixed(2)}×`;
const int = (value: number): string => Math.round(value).toLocaleString('en-US');
const num = (value: number, digits: number): string => value.toFixed(digits);
/** µs per record: two decimals below 10 µs, where the article's figures live. */
const us = (value: number | undefined): string =>
  value === undefined || !Number.isFinite(value) ? '–' : value.toFixed(value < 10 ? 2 : 1);

function batchTitle(results: Results, shape: ShapeName, batch: BatchName): string {
  const set = results.workload.shapes[shape].batches[batch];
  if (set === undefined) return `${shape} ${batch}`;
  const records = median(set.recordsPerBatch);
  const bytes = median(set.eventBytes);
  return `${SHAPE_TITLE[shape]}, ${set.label}: ${int(records)} records, event ${bytes >= MiB ? mib(bytes) : kib(bytes)} (${bytes.toLocaleString('en-US')} B), item ${set.meanItemBytes} B, document ${set.meanDocumentBytes} B`;
}

const SHAPE_TITLE: Record<ShapeName, string> = { article: 'Article items', rich: 'Rich items' };

export interface Table {
  /** Stable key, used to choose the README's tables. */
  key: string;
  title: string;
  headers: string[];
  rows: string[][];
  /** Columns aligned left (others right). */
  left: number[];
}

export function tables(results: Results, summary: Summary): Table[] {
  const out: Table[] = [];
  out.push({
    key: 'targets',
    title: `Targets of issue 12 (default configuration, batch of 1,000)${results.mode === 'short' ? ' — SHORT MODE: figures are not meaningful' : ''}`,
    headers: ['target', 'measured', 'limit', 'result'],
    left: [0, 1],
    rows: summary.targets.map((t) => [t.name, t.measured, t.limit, t.verdict]),
  });
  for (const shape of SHAPE_ORDER) {
    for (const batch of BATCH_ORDER) {
      const rows = summary.throughput[shape]?.[batch];
      if (!rows) continue;
      out.push({
        key: `throughput-${shape}-${batch}`,
        title: batchTitle(results, shape, batch),
        headers: [
          'contender',
          'records/s',
          'CPU µs/rec',
          '±',
          '×lean floor',
          '×prev. floor',
          '×peer',
          'of it other threads µs/rec',
          'ms/invocation',
          'bytes sent/rec',
          'requests/inv',
        ],
        left: [0],
        rows: rows.map((r) => [
          r.label,
          int(r.recordsPerSec),
          us(r.cpuUsPerRecord),
          `±${((r.cpuSpread * 100) / 2).toFixed(0)}%`,
          x(r.ratios.cpuVsLeanFloor),
          x(r.ratios.cpuVsFloor),
          x(r.ratios.cpuVsPeer),
          r.otherThreadsUsPerRecord === undefined
            ? '–'
            : `${us(r.otherThreadsUsPerRecord)} (${((r.otherThreadsUsPerRecord / r.cpuUsPerRecord) * 100).toFixed(0)}%)`,
          num(r.medianInvocationMs, 1),
          r.wireBytesPerRecord === r.bodyBytesPerRecord
            ? int(r.wireBytesPerRecord)
            : `${int(r.wireBytesPerRecord)} (of ${int(r.bodyBytesPerRecord)})`,
          num(r.requestsPerInvocation, 1),
        ]),
      });
    }
    const rows = summary.throughput[shape]?.b1000;
    const lean = rows?.find((r) => r.id === 'lean-floor');
    if (rows && rows.some((r) => r.otherThreadsUsPerRecord !== undefined)) {
      out.push({
        key: `threads-${shape}`,
        title: `${SHAPE_TITLE[shape]}, batch of 1,000, steady state: CPU on the main thread and on other threads (V8's background compiler and GC helpers, libuv's pool)`,
        headers: [
          'contender',
          'CPU µs/rec',
          'main thread µs/rec',
          'other threads µs/rec',
          'other threads share',
          'other threads − lean floor’s',
        ],
        left: [0],
        rows: rows
          .filter((r) => r.otherThreadsUsPerRecord !== undefined)
          .map((r) => {
            const other = r.otherThreadsUsPerRecord as number;
            const leanOther = lean?.otherThreadsUsPerRecord;
            return [
              r.label,
              us(r.cpuUsPerRecord),
              us(r.cpuUsPerRecord - other),
              us(other),
              `${((other / r.cpuUsPerRecord) * 100).toFixed(0)}%`,
              leanOther === undefined
                ? '–'
                : `${other - leanOther >= 0 ? '+' : ''}${us(other - leanOther)}`,
            ];
          }),
      });
    }
    const jit = results.jitDiagnostic;
    if (jit && jit.shape === shape && summary.jitDiagnostic && summary.jitDiagnostic.length > 0) {
      const lean = summary.jitDiagnostic.find((r) => r.id === 'lean-floor');
      out.push({
        key: `jit-${shape}`,
        title: `${SHAPE_TITLE[shape]}, batch of 1,000, diagnostic run with ${jit.flags.join(' ')}: GC stays on the main thread, so the other threads' CPU is V8's background compiler`,
        headers: [
          'contender',
          'CPU µs/rec',
          'background compile µs/rec',
          'share',
          '− lean floor’s',
        ],
        left: [0],
        rows: summary.jitDiagnostic.map((r) => {
          const other = r.otherThreadsUsPerRecord;
          const leanOther = lean?.otherThreadsUsPerRecord;
          return [
            r.label,
            us(r.cpuUsPerRecord),
            us(other),
            other === undefined ? '–' : `${((other / r.cpuUsPerRecord) * 100).toFixed(0)}%`,
            other === undefined || leanOther === undefined
              ? '–'
              : `${other - leanOther >= 0 ? '+' : ''}${us(other - leanOther)}`,
          ];
        }),
      });
    }
    const cold = summary.cold[shape];
    if (cold && cold.length > 0) {
      const allCalls = Math.max(...cold.map((r) => r.batchUsPerRecord.length));
      const calls = Math.min(allCalls, COLD_BATCHES_SHOWN);
      const leanRun = cold.find((r) => r.id === 'lean-floor')?.runUsPerRecord;
      const peerRun = cold.find((r) => r.id === 'peer')?.runUsPerRecord;
      out.push({
        key: `cold-${shape}`,
        title: `${SHAPE_TITLE[shape]}: a cold container's first batches of 1,000 (fresh process each run, median of ${cold[0]?.runs ?? 0} runs), CPU µs/rec, of it other threads in brackets; then the whole run of ${allCalls} batches, warm-up included`,
        headers: [
          'contender',
          'module load ms',
          ...Array.from({ length: calls }, (_, i) => `batch ${i + 1}`),
          'steady state',
          'batch 1 ÷ steady',
          `${allCalls} batches µs/rec`,
          '×lean floor',
          'peer ÷ this',
        ],
        left: [0],
        rows: cold.map((r) => [
          r.label,
          num(r.loadMs, 1),
          ...Array.from({ length: calls }, (_, i) => {
            const all = r.batchUsPerRecord[i];
            const other = r.batchOtherUsPerRecord[i];
            return all === undefined
              ? '–'
              : `${us(all)}${other === undefined || Number.isNaN(other) ? '' : ` (${us(other)})`}`;
          }),
          us(r.steadyUsPerRecord),
          x(ratio(r.batchUsPerRecord[0], r.steadyUsPerRecord)),
          us(r.runUsPerRecord),
          x(ratio(r.runUsPerRecord, leanRun)),
          x(ratio(peerRun, r.runUsPerRecord)),
        ]),
      });
    }
  }
  out.push({
    key: 'load',
    title: 'Handler module load, fresh node process (require() timed with process.hrtime)',
    headers: ['module', 'load ms', '×lean floor', '×peer'],
    left: [0],
    rows: summary.load.map((l) => [
      l.context ? `${l.label} (context)` : l.label,
      num(l.medianMs, 1),
      x(l.vsLeanFloor),
      x(l.vsPeer),
    ]),
  });
  out.push({
    key: 'rss',
    title: 'Peak RSS, fresh process, rich 6 MB batch run once (resourceUsage().maxRSS)',
    headers: [
      'contender',
      'peak RSS',
      '×lean floor',
      '×prev. floor',
      '×peer',
      'RSS after load',
      'max RSS after parsing event',
    ],
    left: [0],
    rows: summary.rss.map((r) => [
      r.label,
      `${num(r.peakMiB, 1)} MiB`,
      x(r.vsLeanFloor),
      x(r.vsFloor),
      x(r.vsPeer),
      `${num(r.baselineMiB, 1)} MiB`,
      `${num(r.beforeRunMiB, 1)} MiB`,
    ]),
  });
  const s = summary.sizes;
  out.push({
    key: 'sizes',
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
  for (const [id, profile] of Object.entries(results.profiles ?? {}) as [
    ContenderId,
    ProfileSummary,
  ][]) {
    const label = results.contenders.find((c) => c.id === id)?.label ?? id;
    out.push({
      key: `profile-${id}`,
      title: `CPU profile of ${label}, ${SHAPE_TITLE[results.profileShape].toLowerCase()}, batch of 1,000 (measured calls only, ${profile.totalMs} ms of samples over ${int(profile.records)} records; a separate process): top self time`,
      headers: ['self ms', 'share', 'µs/rec', 'function', 'where'],
      left: [3, 4],
      rows: profile.top.map((e) => [
        num(e.selfMs, 1),
        `${(e.selfShare * 100).toFixed(1)}%`,
        e.usPerRecord === undefined ? '–' : e.usPerRecord.toFixed(3),
        e.name,
        e.location,
      ]),
    });
    out.push({
      key: `profile-origin-${id}`,
      title: `CPU profile of ${label}: self time by origin`,
      headers: ['self ms', 'share', 'µs/rec', 'origin'],
      left: [3],
      rows: profile.byOrigin.map((e) => [
        num(e.selfMs, 1),
        `${(e.selfShare * 100).toFixed(1)}%`,
        e.usPerRecord === undefined ? '–' : e.usPerRecord.toFixed(3),
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

export function markdownTable(t: Table): string {
  const esc = (c: string): string => c.replace(/\|/g, '\\|');
  return [
    `**${esc(t.title)}**`,
    '',
    `| ${t.headers.map(esc).join(' | ')} |`,
    `| ${t.headers.map((_, i) => (t.left.includes(i) ? '---' : '---:')).join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
  ].join('\n');
}

export function machineNote(results: Results): string {
  const m = results.machine;
  const loads = m.loadAverage.map((l) => `${l.phase} ${l.load1.toFixed(2)}`).join(', ');
  return `${m.cpuModel}, ${m.cores} cores, ${m.memoryGiB.toFixed(0)} GiB, Node ${m.node} (${m.platform}); 1-min load average: ${loads}`;
}

const ZIP_NAME = (path: string): string =>
  path.replace(/^.*?\/(\.bench-tmp|\.serverless)\//, '$1/');

export function oursNote(results: Results): string {
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
  lines.push(
    'lean floor: bench/lean-floor.ts, the least any indexer must do, as cheaply as we can write it: one typed pass of DynamoDB JSON to plain values, JSON.stringify, one unsigned POST per batch over a kept-alive raw socket. Previous floor: bench/floor.ts (for-in conversion, http.request), kept for comparison with earlier runs.',
  );
  return lines.join('\n');
}

/** How the figures were taken: shared by latest.md and the README section. */
export function methodNote(results: Results): string {
  const w = results.plan;
  const shapes = SHAPE_ORDER.map((shape) => {
    const b = results.workload.shapes[shape].batches.b1000;
    return `${results.workload.shapes[shape].label}: about ${b?.meanItemBytes ?? '?'} B per item as DynamoDB counts, ${b?.meanDocumentBytes ?? '?'} B as a document`;
  }).join('; ');
  return (
    `Workloads: seeded stream batches of the article's \`UsersTransactions\` table, INSERT/MODIFY/REMOVE mixed, NEW_AND_OLD_IMAGES — ${shapes}. ` +
    `Each contender runs in its own fresh Node process against the same loopback \`_bulk\` sink (a separate process whose CPU is not counted); ` +
    `figures are medians of ${w.reps} repetitions after warm-up (± = half the interquartile range of the CPU figure); CPU is \`process.cpuUsage()\` (user+system, all threads) of the contender's process around the handler calls, and "other threads" the part of it off the main thread (/proc/<pid>/task/*/schedstat). ` +
    `A cold container's first batches are ${w.coldInvocations} calls in each of ${w.coldRuns} fresh processes per contender; the whole run's CPU ÷ its records (warm-up, JIT and GC included) is what a benchmark of a few batches per fresh process measures, so the CPU targets are also taken that way. "peer" is dynamodb-stream-elasticsearch@3.3.1.`
  );
}

export function commitNote(results: Results): string {
  return `Measured with \`${results.command}\` on ${machineNote(results)}. Commit \`${results.git.commit.slice(0, 12)}\`${results.git.dirtyPaths.length > 0 ? ' (with uncommitted changes)' : ''}.`;
}

export function renderText(results: Results, summary: Summary): string {
  const parts = [
    `dynamodb-opensearch-indexer bench — ${results.mode} mode, ${results.date}`,
    `machine: ${machineNote(results)}`,
    `commit: ${results.git.commit}${results.git.dirtyPaths.length > 0 ? ` (+ uncommitted changes in ${results.git.dirtyPaths.join(', ')})` : ''}`,
    oursNote(results),
    `medians of ${results.plan.reps} measured repetition(s) after warm-up; ratios are contender CPU ÷ lean floor, previous floor and peer (lower is better); ± is half the interquartile range of the repetitions' CPU µs/rec, relative to the median`,
    '',
    ...tables(results, summary).flatMap((t) => [textTable(t), '']),
  ];
  for (const w of results.warnings) parts.push(`WARNING: ${w}`);
  for (const p of results.problems) parts.push(`PROBLEM: ${p}`);
  parts.push(`took ${results.durationS.toFixed(1)} s`);
  return parts.join('\n');
}

export function renderMarkdown(results: Results, summary: Summary): string {
  const parts = [
    `### Benchmark (${results.date.slice(0, 10)})`,
    '',
    commitNote(results),
    '',
    methodNote(results),
    '',
    oursNote(results)
      .split('\n')
      .map((l) => `- ${l}`)
      .join('\n'),
    '',
    ...tables(results, summary).flatMap((t) => [markdownTable(t), '']),
  ];
  if (results.warnings.length > 0)
    parts.push(...results.warnings.map((wn) => `> warning: ${wn}`), '');
  parts.push(
    `Reproduce: \`npm ci && npm run bench\` (full; \`npm run bench -- --short\` only checks that it works; \`--cpu-prof\` adds CPU profiles of ours and the lean floor). Raw samples: \`bench/results/latest.json\`.`,
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
