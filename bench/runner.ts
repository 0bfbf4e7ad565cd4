/**
 * `npm run bench` — runs every contender against the loopback sink and reports.
 *
 *   npm run bench                     full run (a few minutes): writes bench/results/latest.{json,md}
 *   npm run bench -- --short          CI smoke run (BENCH_SHORT=1 too): tiny repetitions, every
 *                                     contender exercised, results in .bench-tmp/results/
 *   npm run bench -- --cpu-prof       also profiles our handler (an extra process with
 *                                     --cpu-prof --cpu-prof-dir=.bench-tmp/prof) and prints the
 *                                     top self-time functions
 *   --reps=N  --repackage  --zip=PATH  --no-peer
 *   --render-only                     re-renders bench/results/latest.md from latest.json
 *
 * Exit status is non-zero only when something is broken (a contender throws or reports failed
 * records, the sink is not reached, a process dies). Targets are reported, never enforced.
 */
import { execFileSync, fork, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import {
  contenders as makeContenders,
  prepareOurs,
  preparePeer,
  type Contender,
  type ContenderId,
  type PeerArtifact,
} from './contenders';
import type { DriverMessage, DriverSpec, RssSample, RunCommand, RunSample } from './driver';
import { summarizeProfile } from './profile';
import {
  BATCH_ORDER,
  renderText,
  summarize,
  writeOutputs,
  type LoadResult,
  type Plan,
  type Results,
  type ThroughputSample,
} from './report';
import type { SinkMessage, SinkStats } from './sink';
import { generateWorkload, type BatchName, type Workload } from './workload';

const ROOT = resolve(__dirname, '..', '..');
const TMP = join(ROOT, '.bench-tmp');
const JS = __dirname; // the esbuild output folder holding runner.js, driver.js, sink.js, floor.js

interface Options {
  short: boolean;
  cpuProf: boolean;
  reps: number | undefined;
  repackage: boolean;
  zip: string | undefined;
  peer: boolean;
  /** Re-render latest.md (and the table) from latest.json without measuring. */
  renderOnly: boolean;
}

function parseOptions(argv: string[]): Options {
  const options: Options = {
    short: process.env.BENCH_SHORT === '1' || process.env.BENCH_SHORT === 'true',
    cpuProf: false,
    reps: undefined,
    repackage: false,
    zip: undefined,
    peer: true,
    renderOnly: false,
  };
  for (const arg of argv) {
    const [name, value] = arg.split('=', 2) as [string, string | undefined];
    if (name === '--short') options.short = true;
    else if (name === '--cpu-prof') options.cpuProf = true;
    else if (name === '--repackage') options.repackage = true;
    else if (name === '--no-peer') options.peer = false;
    else if (name === '--render-only') options.renderOnly = true;
    else if (name === '--reps' && value) options.reps = Math.max(1, Number.parseInt(value, 10));
    else if (name === '--zip' && value) options.zip = resolve(value);
    else {
      console.error(
        `unknown option ${arg}\nusage: npm run bench -- [--short] [--cpu-prof] [--reps=N] [--repackage] [--zip=PATH] [--no-peer] [--render-only]`,
      );
      process.exit(2);
    }
  }
  return options;
}

function planFor(options: Options): Plan {
  if (options.short) {
    return {
      reps: options.reps ?? 1,
      warmupInvocations: { b100: 2, b1000: 1, b6mb: 0 },
      invocationsPerRep: { b100: 3, b1000: 1, b6mb: 1 },
      loadRuns: 2,
      rssRuns: 1,
    };
  }
  return {
    reps: options.reps ?? 11,
    warmupInvocations: { b100: 60, b1000: 16, b6mb: 4 },
    invocationsPerRep: { b100: 50, b1000: 12, b6mb: 3 },
    loadRuns: 9,
    rssRuns: 3,
  };
}

const log = (line: string): void => {
  process.stdout.write(`[bench] ${line}\n`);
};

// ---------------------------------------------------------------------------------------------
// Child processes

/** Messages from a child, awaited in order; a dying child rejects everything pending. */
class Channel<M extends { type: string }> {
  private readonly queue: M[] = [];
  private readonly waiting: { resolve: (m: M) => void; reject: (e: Error) => void }[] = [];
  private dead: Error | undefined;

  constructor(
    readonly child: ChildProcess,
    readonly name: string,
  ) {
    child.on('message', (message: M) => {
      const waiter = this.waiting.shift();
      if (waiter) waiter.resolve(message);
      else this.queue.push(message);
    });
    child.on('exit', (code, signal) => {
      this.dead = new Error(`${name} exited (${signal ?? `code ${code}`})`);
      for (const w of this.waiting.splice(0)) w.reject(this.dead);
    });
  }

  next(timeoutMs: number): Promise<M> {
    const queued = this.queue.shift();
    if (queued) return Promise.resolve(queued);
    if (this.dead) return Promise.reject(this.dead);
    return new Promise<M>((resolvePromise, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`${this.name}: no answer in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiting.push({
        resolve: (m) => {
          clearTimeout(timer);
          resolvePromise(m);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  async expect<T extends M['type']>(type: T, timeoutMs: number): Promise<Extract<M, { type: T }>> {
    const message = await this.next(timeoutMs);
    if (message.type === 'error')
      throw new Error(`${this.name}: ${(message as unknown as { message: string }).message}`);
    if (message.type !== type)
      throw new Error(`${this.name}: expected ${type}, got ${message.type}`);
    return message as Extract<M, { type: T }>;
  }

  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    if (this.child.connected) this.child.send({ cmd: 'exit' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

class Sink {
  private constructor(
    private readonly channel: Channel<SinkMessage>,
    readonly port: number,
  ) {}

  static async start(): Promise<Sink> {
    const child = fork(join(JS, 'sink.js'), [], {
      cwd: ROOT,
      execArgv: [],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const channel = new Channel<SinkMessage>(child, 'sink');
    const ready = await channel.expect('ready', 15_000);
    return new Sink(channel, ready.port);
  }

  async stats(): Promise<SinkStats> {
    this.channel.child.send({ cmd: 'stats' });
    return (await this.channel.expect('stats', 15_000)).stats;
  }

  stop(): void {
    this.channel.child.kill();
  }
}

function delta(after: SinkStats, before: SinkStats): SinkStats {
  const out = { ...after };
  for (const key of Object.keys(out) as (keyof SinkStats)[]) out[key] = after[key] - before[key];
  return out;
}

interface Env {
  common: Record<string, string>;
  forContender(c: Contender): NodeJS.ProcessEnv;
}

function startDriver(
  contender: Contender,
  spec: DriverSpec,
  env: Env,
  execArgv: string[] = [],
): Channel<DriverMessage> {
  const child = fork(join(JS, 'driver.js'), [JSON.stringify(spec)], {
    cwd: ROOT,
    env: env.forContender(contender),
    execArgv,
    // The contender's logs (JSON lines on stderr) are written to /dev/null: discarded, not disabled.
    stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
  });
  return new Channel<DriverMessage>(child, `${contender.id} (${spec.mode})`);
}

// ---------------------------------------------------------------------------------------------
// Phases

const RUN_TIMEOUT_MS = 300_000;

async function measureThroughput(
  batch: BatchName,
  list: Contender[],
  workload: Workload,
  plan: Plan,
  sink: Sink,
  env: Env,
  problems: string[],
): Promise<Partial<Record<ContenderId, ThroughputSample[]>>> {
  const files = workload.batches[batch].files;
  const out: Partial<Record<ContenderId, ThroughputSample[]>> = {};
  const drivers = new Map<ContenderId, Channel<DriverMessage>>();
  const check = (c: Contender, sample: RunSample, what: string): void => {
    if (sample.failures > 0)
      problems.push(`${c.id} ${batch} ${what}: ${sample.failures} batchItemFailures reported`);
  };
  try {
    for (const c of list) {
      const channel = startDriver(c, { id: c.id, mode: 'throughput', invoker: c.invoker }, env);
      drivers.set(c.id, channel);
      await channel.expect('ready', 60_000);
      out[c.id] = [];
    }
    for (const c of list) {
      const invocations = plan.warmupInvocations[batch];
      if (invocations === 0) continue;
      const channel = drivers.get(c.id) as Channel<DriverMessage>;
      channel.child.send({ cmd: 'run', files, invocations, offset: 0 } satisfies RunCommand);
      check(c, (await channel.expect('result', RUN_TIMEOUT_MS)).sample, 'warm-up');
    }
    // Repetitions interleave the contenders (rotating who goes first), so a change in the
    // machine's background load spreads over all of them instead of biasing one.
    for (let rep = 0; rep < plan.reps; rep++) {
      for (let k = 0; k < list.length; k++) {
        const c = list[(rep + k) % list.length] as Contender;
        const channel = drivers.get(c.id) as Channel<DriverMessage>;
        const before = await sink.stats();
        channel.child.send({
          cmd: 'run',
          files,
          invocations: plan.invocationsPerRep[batch],
          offset: rep,
        } satisfies RunCommand);
        const { sample } = await channel.expect('result', RUN_TIMEOUT_MS);
        const received = delta(await sink.stats(), before);
        check(c, sample, `rep ${rep + 1}`);
        if (received.bulkRequests === 0)
          problems.push(`${c.id} ${batch}: the sink received no bulk request`);
        out[c.id]?.push({ ...sample, rep, sink: received });
      }
    }
  } catch (error) {
    problems.push(`${batch}: ${(error as Error).message}`);
  } finally {
    await Promise.all([...drivers.values()].map((d) => d.close()));
  }
  return out;
}

const LOAD_SCRIPT =
  'const t=process.hrtime.bigint();require(process.argv[1]);' +
  'process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))';

function measureLoad(
  list: Contender[],
  ours: Results['ours'],
  plan: Plan,
  env: Env,
  problems: string[],
): Record<string, LoadResult> {
  const rows: {
    key: string;
    contender: Contender;
    module: string;
    extraEnv: Record<string, string>;
    label: string;
    context: boolean;
  }[] = [];
  for (const c of list) {
    if (c.loadModule === undefined) continue;
    rows.push({
      key: c.id,
      contender: c,
      module: c.loadModule,
      extraEnv: {},
      label: c.label.replace(' (default config)', ''),
      context: false,
    });
  }
  const oursContender = list.find((c) => c.id === 'ours');
  if (oursContender && ours.nodeOptions) {
    rows.push({
      key: 'ours-node-options',
      contender: oursContender,
      module: ours.handlerPath,
      extraEnv: { NODE_OPTIONS: ours.nodeOptions },
      label: `ours with the packaged NODE_OPTIONS=${ours.nodeOptions}`,
      context: true,
    });
  }
  const out: Record<string, LoadResult> = {};
  for (const r of rows)
    out[r.key] = { label: r.label, module: r.module, samplesMs: [], context: r.context };
  for (let i = 0; i < plan.loadRuns; i++) {
    for (let k = 0; k < rows.length; k++) {
      const r = rows[(i + k) % rows.length] as (typeof rows)[number];
      const result = spawnSync(process.execPath, ['-e', LOAD_SCRIPT, r.module], {
        cwd: ROOT,
        env: { ...env.forContender(r.contender), ...r.extraEnv },
        encoding: 'utf8',
        timeout: 60_000,
      });
      const ms = Number.parseFloat(result.stdout);
      if (result.status !== 0 || !Number.isFinite(ms)) {
        problems.push(
          `load ${r.key}: node exited ${result.status}: ${result.stderr.slice(0, 300)}`,
        );
        continue;
      }
      out[r.key]?.samplesMs.push(ms);
    }
  }
  return out;
}

async function measureRss(
  list: Contender[],
  workload: Workload,
  plan: Plan,
  env: Env,
  problems: string[],
): Promise<Partial<Record<ContenderId, RssSample[]>>> {
  const file = workload.batches.b6mb.files[0] as string;
  const out: Partial<Record<ContenderId, RssSample[]>> = {};
  for (const c of list) out[c.id] = [];
  for (let i = 0; i < plan.rssRuns; i++) {
    for (const c of list) {
      const channel = startDriver(c, { id: c.id, mode: 'rss', invoker: c.invoker, file }, env);
      try {
        const { sample } = await channel.expect('rss', RUN_TIMEOUT_MS);
        if (sample.failures > 0)
          problems.push(`${c.id} rss: ${sample.failures} batchItemFailures reported`);
        out[c.id]?.push(sample);
      } catch (error) {
        problems.push(`rss ${c.id}: ${(error as Error).message}`);
      } finally {
        await channel.close();
      }
    }
  }
  return out;
}

async function profileOurs(
  ours: Contender,
  artifact: Results['ours'],
  workload: Workload,
  plan: Plan,
  env: Env,
  problems: string[],
): Promise<Results['profile']> {
  const dir = join(TMP, 'prof');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const channel = startDriver(
    ours,
    { id: 'ours', mode: 'throughput', invoker: ours.invoker },
    env,
    ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  );
  let windows: [number, number][] | undefined;
  try {
    await channel.expect('ready', 60_000);
    const files = workload.batches.b1000.files;
    // Warm up as the measured runs do, then profile-count only the measured window: event
    // parsing, module load and warm-up are in the .cpuprofile but not in the summary.
    if (plan.warmupInvocations.b1000 > 0) {
      channel.child.send({
        cmd: 'run',
        files,
        invocations: plan.warmupInvocations.b1000,
        offset: 0,
      } satisfies RunCommand);
      await channel.expect('result', RUN_TIMEOUT_MS);
    }
    const invocations = plan.reps * plan.invocationsPerRep.b1000;
    channel.child.send({
      cmd: 'run',
      files,
      invocations,
      offset: 0,
      windows: true,
    } satisfies RunCommand);
    const { sample } = await channel.expect('result', RUN_TIMEOUT_MS);
    windows = sample.windowsUs;
  } catch (error) {
    problems.push(`profile: ${(error as Error).message}`);
  } finally {
    await channel.close();
  }
  const profiles = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (profiles.length === 0) {
    problems.push('profile: no .cpuprofile written');
    return undefined;
  }
  return summarizeProfile(
    join(dir, profiles[0] as string),
    artifact.handlerPath,
    artifact.sourceMapPath,
    ROOT,
    windows,
  );
}

// ---------------------------------------------------------------------------------------------

function git(args: string[]): string {
  try {
    return execFileSync('git', args, {
      cwd: ROOT,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trimEnd();
  } catch {
    return '';
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const options = parseOptions(process.argv.slice(2));
  if (options.renderOnly) {
    const json = join(ROOT, 'bench', 'results', 'latest.json');
    const saved = JSON.parse(readFileSync(json, 'utf8')) as Results;
    delete saved.summary;
    const summary = summarize(saved);
    console.log(renderText(saved, summary));
    writeOutputs(saved, summary, json, join(ROOT, 'bench', 'results', 'latest.md'));
    return;
  }
  const plan = planFor(options);
  const mode = options.short ? 'short' : 'full';
  const warnings: string[] = [];
  const problems: string[] = [];
  const loadAverage: Results['machine']['loadAverage'] = [];
  const noteLoad = (phase: string): void => {
    const [load1, load5, load15] = loadavg() as [number, number, number];
    loadAverage.push({ phase, at: new Date().toISOString(), load1, load5, load15 });
  };
  noteLoad('start');
  log(
    `${mode} mode; ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  mkdirSync(TMP, { recursive: true });
  const workload = generateWorkload(join(TMP, 'events'));
  for (const batch of BATCH_ORDER) {
    const b = workload.batches[batch];
    log(
      `workload ${b.label}: ${b.files.length} distinct batch(es), ${b.eventBytes[0]?.toLocaleString('en-US')} B event, mix ${JSON.stringify(b.mix)}`,
    );
  }

  const ours = prepareOurs({
    root: ROOT,
    tmp: TMP,
    repackage: options.repackage,
    zip: options.zip,
    packageTimeoutMs: options.short ? 60_000 : 240_000,
    log,
  });
  warnings.push(...ours.warnings);
  log(
    `ours: ${ours.origin}${ours.zipBytes ? `, zip ${ours.zipBytes.toLocaleString('en-US')} B` : ''}`,
  );

  let peer: PeerArtifact | { skipped: string } = { skipped: 'disabled with --no-peer' };
  if (options.peer) peer = preparePeer(TMP, options.short ? 60_000 : 300_000, log);
  if ('skipped' in peer) {
    const message = `peer ${'dynamodb-stream-elasticsearch'} SKIPPED: ${peer.skipped}`;
    log(message);
    warnings.push(message);
  } else {
    log(`peer: ${peer.modulePath} (${peer.reused ? 'reused' : 'installed'})`);
  }

  const list = makeContenders(ours, join(JS, 'floor.js'), 'skipped' in peer ? undefined : peer);
  const sink = await Sink.start();
  const common: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    LANG: 'C.UTF-8',
    TZ: 'UTC',
    AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_SESSION_TOKEN: 'bench-fake-session-token',
    AWS_REGION: 'eu-central-1',
    AWS_DEFAULT_REGION: 'eu-central-1',
    // Belt and braces: no credential provider may ever leave the loopback interface.
    AWS_EC2_METADATA_DISABLED: 'true',
    OPENSEARCH_ENDPOINT: `http://127.0.0.1:${sink.port}`,
    ...ours.functionEnv,
  };
  const env: Env = { common, forContender: (c) => ({ ...common, ...c.env }) };
  log(`sink on 127.0.0.1:${sink.port}; contenders: ${list.map((c) => c.id).join(', ')}`);

  const throughput: Results['throughput'] = {};
  let load: Results['load'];
  let rss: Results['rss'];
  let profile: Results['profile'];
  try {
    for (const batch of BATCH_ORDER) {
      noteLoad(batch);
      log(
        `throughput ${workload.batches[batch].label}: ${plan.reps} rep(s) × ${plan.invocationsPerRep[batch]} invocation(s) per contender ...`,
      );
      throughput[batch] = await measureThroughput(batch, list, workload, plan, sink, env, problems);
    }
    noteLoad('module load');
    log(`module load: ${plan.loadRuns} fresh process(es) per module ...`);
    load = measureLoad(list, ours, plan, env, problems);
    noteLoad('rss');
    log(`peak RSS, 6 MB batch: ${plan.rssRuns} fresh process(es) per contender ...`);
    rss = await measureRss(list, workload, plan, env, problems);
    if (options.cpuProf) {
      noteLoad('profile');
      log('profiling ours (--cpu-prof) on the batch of 1,000 ...');
      profile = await profileOurs(list[0] as Contender, ours, workload, plan, env, problems);
      if (profile)
        log(`profile: ${profile.file.slice(ROOT.length + 1)} (opens in Chrome DevTools)`);
    }
  } finally {
    sink.stop();
  }
  noteLoad('end');
  const busiest = Math.max(...loadAverage.map((l) => l.load1));
  if (busiest > cpus().length * 0.75) {
    warnings.push(
      `the machine was busy (1-min load average up to ${busiest.toFixed(2)} on ${cpus().length} cores): ` +
        'CPU times inflate under contention and the ratios move by tens of percent between runs; ' +
        'rerun on a quiet machine before deciding on a target near its limit',
    );
  }

  const dirty = git([
    'status',
    '--porcelain',
    '--',
    'handler.ts',
    'lib',
    'serverless.yml',
    'package.json',
    'package-lock.json',
  ]);
  const results: Results = {
    schema: 1,
    mode,
    date: new Date().toISOString(),
    durationS: (Date.now() - started) / 1000,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: {
      node: process.version,
      platform: `${process.platform}-${process.arch}`,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      cores: cpus().length,
      memoryGiB: totalmem() / 1024 ** 3,
      loadAverage,
    },
    git: {
      commit: git(['rev-parse', 'HEAD']) || 'unknown',
      branch: git(['rev-parse', '--abbrev-ref', 'HEAD']),
      dirtyPaths: dirty
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => l.slice(3)),
    },
    workload: {
      ...workload,
      batches: Object.fromEntries(
        Object.entries(workload.batches).map(([k, b]) => [
          k,
          { ...b, files: b.files.map((f) => f.slice(ROOT.length + 1)) },
        ]),
      ) as Workload['batches'],
    },
    plan,
    ours,
    peer,
    contenders: list.map((c) => ({ id: c.id, label: c.label })),
    throughput,
    load,
    rss,
    profile,
    warnings,
    problems,
  };
  const summary = summarize(results);
  console.log('');
  console.log(renderText(results, summary));
  const outDir = options.short ? join(TMP, 'results') : join(ROOT, 'bench', 'results');
  const name = options.short ? 'short' : 'latest';
  writeOutputs(results, summary, join(outDir, `${name}.json`), join(outDir, `${name}.md`));
  log(`wrote ${join(outDir, `${name}.json`).slice(ROOT.length + 1)} and ${name}.md`);
  if (problems.length > 0) {
    log(`${problems.length} problem(s): the bench is broken`);
    process.exitCode = 1;
  }
}

if (!existsSync(join(JS, 'driver.js'))) {
  console.error('run the bench with `npm run bench` (it bundles bench/*.ts first)');
  process.exit(2);
}
main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
