/**
 * `npm run bench` — runs every contender against the loopback sink and reports.
 *
 *   npm run bench                     full run (a few minutes): writes bench/results/latest.{json,md}
 *   npm run bench -- --short          CI smoke run (BENCH_SHORT=1 too): tiny repetitions, every
 *                                     contender exercised, results in .bench-tmp/results/
 *   npm run bench -- --cpu-prof       also profiles our handler and the lean floor on the article
 *                                     batch of 1,000 (extra processes with --cpu-prof
 *                                     --cpu-prof-dir=.bench-tmp/prof) and prints the top self-time
 *                                     functions per record
 *   --reps=N  --repackage  --zip=PATH  --no-peer
 *   --render-only                     re-renders bench/results/latest.md and README.md's
 *                                     benchmark section from latest.json, without measuring
 *
 * Exit status is non-zero only when something is broken (a contender throws or reports failed
 * records, the sink is not reached, a process dies). Targets are reported, never enforced.
 */
import { execFileSync, fork, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
import { summarizeProfile, type ProfileSummary } from './profile';
import { spliceReadme } from './readme';
import {
  BATCH_ORDER,
  renderText,
  summarize,
  writeOutputs,
  type ColdSample,
  type LoadResult,
  type Plan,
  type Results,
  type Summary,
  type ThroughputSample,
} from './report';
import type { SinkMessage, SinkStats } from './sink';
import {
  generateWorkload,
  SHAPE_ORDER,
  type BatchName,
  type ShapeName,
  type Workload,
} from './workload';

const ROOT = resolve(__dirname, '..', '..');
const TMP = join(ROOT, '.bench-tmp');
const JS = __dirname; // the esbuild output folder: runner.js, driver.js, sink.js and the floors
const README = join(ROOT, 'README.md');

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
      coldRuns: 1,
      coldInvocations: 2,
    };
  }
  return {
    reps: options.reps ?? 11,
    warmupInvocations: { b100: 60, b1000: 16, b6mb: 4 },
    invocationsPerRep: { b100: 50, b1000: 12, b6mb: 3 },
    loadRuns: 9,
    rssRuns: 3,
    coldRuns: 5,
    // 20 batches of 1,000 per fresh process: 20,000 records, the size of the outside benchmark
    // issue 12 describes, so its whole-run figure is measured here too.
    coldInvocations: 20,
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
  shape: ShapeName,
  batch: BatchName,
  files: string[],
  list: Contender[],
  plan: Plan,
  sink: Sink,
  env: Env,
  problems: string[],
  execArgv: string[] = [],
): Promise<Partial<Record<ContenderId, ThroughputSample[]>>> {
  const where = `${shape} ${batch}${execArgv.length > 0 ? ` ${execArgv.join(' ')}` : ''}`;
  const out: Partial<Record<ContenderId, ThroughputSample[]>> = {};
  const drivers = new Map<ContenderId, Channel<DriverMessage>>();
  const check = (c: Contender, sample: RunSample, what: string): void => {
    if (sample.failures > 0)
      problems.push(`${c.id} ${where} ${what}: ${sample.failures} batchItemFailures reported`);
  };
  try {
    for (const c of list) {
      const channel = startDriver(
        c,
        { id: c.id, mode: 'throughput', invoker: c.invoker },
        env,
        execArgv,
      );
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
          problems.push(`${c.id} ${where}: the sink received no bulk request`);
        out[c.id]?.push({ ...sample, rep, sink: received });
      }
    }
  } catch (error) {
    problems.push(`${where}: ${(error as Error).message}`);
  } finally {
    await Promise.all([...drivers.values()].map((d) => d.close()));
  }
  return out;
}

/**
 * A cold container's first batches: a fresh process per contender and run, whose first
 * `coldInvocations` calls are kept one by one (module load is timed by the driver).
 */
async function measureCold(
  shape: ShapeName,
  files: string[],
  list: Contender[],
  plan: Plan,
  env: Env,
  problems: string[],
): Promise<Partial<Record<ContenderId, ColdSample[]>>> {
  const out: Partial<Record<ContenderId, ColdSample[]>> = {};
  for (const c of list) out[c.id] = [];
  for (let i = 0; i < plan.coldRuns; i++) {
    for (let k = 0; k < list.length; k++) {
      const c = list[(i + k) % list.length] as Contender;
      const channel = startDriver(c, { id: c.id, mode: 'throughput', invoker: c.invoker }, env);
      try {
        const ready = await channel.expect('ready', 60_000);
        channel.child.send({
          cmd: 'run',
          files,
          invocations: plan.coldInvocations,
          offset: i,
        } satisfies RunCommand);
        const { sample } = await channel.expect('result', RUN_TIMEOUT_MS);
        if (sample.failures > 0)
          problems.push(`${c.id} ${shape} cold: ${sample.failures} batchItemFailures reported`);
        out[c.id]?.push({ run: i, loadMs: ready.loadMs, sample });
      } catch (error) {
        problems.push(`cold ${shape} ${c.id}: ${(error as Error).message}`);
      } finally {
        await channel.close();
      }
    }
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
  file: string,
  plan: Plan,
  env: Env,
  problems: string[],
): Promise<Partial<Record<ContenderId, RssSample[]>>> {
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

/** Profiles one contender on the given batch files, counting only the measured calls. */
async function profile(
  contender: Contender,
  bundle: { path: string; sourceMap: string | undefined },
  files: string[],
  plan: Plan,
  env: Env,
  problems: string[],
): Promise<ProfileSummary | undefined> {
  const dir = join(TMP, 'prof', contender.id);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  const channel = startDriver(
    contender,
    { id: contender.id, mode: 'throughput', invoker: contender.invoker },
    env,
    ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  );
  let windows: [number, number][] | undefined;
  let records = 0;
  try {
    await channel.expect('ready', 60_000);
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
    records = sample.records;
  } catch (error) {
    problems.push(`profile ${contender.id}: ${(error as Error).message}`);
  } finally {
    await channel.close();
  }
  const profiles = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  if (profiles.length === 0) {
    problems.push(`profile ${contender.id}: no .cpuprofile written`);
    return undefined;
  }
  return summarizeProfile(
    join(dir, profiles[0] as string),
    bundle.path,
    bundle.sourceMap,
    ROOT,
    windows,
    records,
  );
}

// ---------------------------------------------------------------------------------------------

/** V8 flags of the JIT diagnostic run (`node --v8-options`: "disable the use of background gc tasks"). */
const JIT_DIAGNOSTIC = { shape: 'article' as ShapeName, flags: ['--single-threaded-gc'] };

/** The workload the CPU profiles run on: the article's small items show fixed costs best. */
const PROFILE_SHAPE: ShapeName = 'article';

/** Rewrites the README's generated benchmark section (between its markers) from the results. */
function writeReadme(results: Results, summary: Summary): void {
  writeFileSync(README, spliceReadme(readFileSync(README, 'utf8'), results, summary));
}

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
    writeReadme(saved, summary);
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
  for (const shape of SHAPE_ORDER) {
    for (const batch of BATCH_ORDER) {
      const b = workload.shapes[shape].batches[batch];
      if (b === undefined) continue;
      log(
        `workload ${shape} ${b.label}: ${b.files.length} distinct batch(es), ${b.eventBytes[0]?.toLocaleString('en-US')} B event, item ${b.meanItemBytes} B, document ${b.meanDocumentBytes} B, mix ${JSON.stringify(b.mix)}`,
      );
    }
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

  const list = makeContenders(
    ours,
    { lean: join(JS, 'lean-floor.js'), previous: join(JS, 'floor.js') },
    'skipped' in peer ? undefined : peer,
  );
  // Compression is a question about bytes on the wire, answered on the rich items alone.
  const listFor = (shape: ShapeName): Contender[] =>
    shape === 'rich' ? list : list.filter((c) => c.id !== 'ours-gzip');
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
  const cold: Results['cold'] = {};
  let load: Results['load'];
  let rss: Results['rss'];
  const profiles: Results['profiles'] = {};
  let jitDiagnostic: Results['jitDiagnostic'];
  try {
    for (const shape of SHAPE_ORDER) {
      const batches = workload.shapes[shape].batches;
      const byBatch: NonNullable<Results['throughput'][ShapeName]> = {};
      throughput[shape] = byBatch;
      for (const batch of BATCH_ORDER) {
        const set = batches[batch];
        if (set === undefined) continue;
        noteLoad(`${shape} ${batch}`);
        log(
          `throughput ${shape} ${set.label}: ${plan.reps} rep(s) × ${plan.invocationsPerRep[batch]} invocation(s) per contender ...`,
        );
        byBatch[batch] = await measureThroughput(
          shape,
          batch,
          set.files,
          listFor(shape),
          plan,
          sink,
          env,
          problems,
        );
      }
      const b1000 = batches.b1000;
      if (b1000 !== undefined) {
        noteLoad(`${shape} cold`);
        log(
          `cold container, ${shape} batch of 1,000: ${plan.coldRuns} fresh process(es) × ${plan.coldInvocations} first invocations per contender ...`,
        );
        cold[shape] = await measureCold(shape, b1000.files, listFor(shape), plan, env, problems);
      }
    }
    // Diagnostic: with GC on the main thread, what still runs elsewhere is (almost only) V8's
    // background compiler, so the JIT's share can be told from GC helpers.
    const jitFiles = workload.shapes[JIT_DIAGNOSTIC.shape].batches.b1000?.files ?? [];
    noteLoad('jit diagnostic');
    log(
      `JIT diagnostic, ${JIT_DIAGNOSTIC.shape} batch of 1,000 with ${JIT_DIAGNOSTIC.flags.join(' ')}: ours and the lean floor ...`,
    );
    jitDiagnostic = {
      ...JIT_DIAGNOSTIC,
      samples: await measureThroughput(
        JIT_DIAGNOSTIC.shape,
        'b1000',
        jitFiles,
        list.filter((c) => c.id === 'ours' || c.id === 'lean-floor'),
        plan,
        sink,
        env,
        problems,
        JIT_DIAGNOSTIC.flags,
      ),
    };
    noteLoad('module load');
    log(`module load: ${plan.loadRuns} fresh process(es) per module ...`);
    load = measureLoad(list, ours, plan, env, problems);
    noteLoad('rss');
    log(`peak RSS, rich 6 MB batch: ${plan.rssRuns} fresh process(es) per contender ...`);
    const sixMb = workload.shapes.rich.batches.b6mb?.files[0] as string;
    rss = await measureRss(list, sixMb, plan, env, problems);
    if (options.cpuProf) {
      noteLoad('profile');
      const files = workload.shapes[PROFILE_SHAPE].batches.b1000?.files ?? [];
      for (const c of list.filter((x) => x.id === 'ours' || x.id === 'lean-floor')) {
        log(`profiling ${c.id} (--cpu-prof) on the ${PROFILE_SHAPE} batch of 1,000 ...`);
        const bundle =
          c.id === 'ours'
            ? { path: ours.handlerPath, sourceMap: ours.sourceMapPath }
            : { path: join(JS, 'lean-floor.js'), sourceMap: undefined };
        const summary = await profile(c, bundle, files, plan, env, problems);
        if (summary) {
          profiles[c.id] = summary;
          log(`profile: ${summary.file.slice(ROOT.length + 1)} (opens in Chrome DevTools)`);
        }
      }
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
    schema: 2,
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
      shapes: Object.fromEntries(
        Object.entries(workload.shapes).map(([name, shape]) => [
          name,
          {
            ...shape,
            batches: Object.fromEntries(
              Object.entries(shape.batches).map(([k, b]) => [
                k,
                { ...b, files: b.files.map((f) => f.slice(ROOT.length + 1)) },
              ]),
            ),
          },
        ]),
      ) as Workload['shapes'],
    },
    plan,
    ours,
    peer,
    contenders: list.map((c) => ({ id: c.id, label: c.label })),
    throughput,
    cold,
    load,
    rss,
    jitDiagnostic,
    profileShape: PROFILE_SHAPE,
    profiles,
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
  if (!options.short) {
    writeReadme(results, summary);
    log("rewrote README.md's benchmark section");
  }
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
