/**
 * Driver: the child process that hosts ONE contender and invokes it. Forked by the runner with an
 * IPC channel; stdout and stderr go to /dev/null (the contender's logs are written, not kept).
 *
 * Every contender is driven the same way: Lambda-style `(event, context)` calls, one at a time,
 * each on a freshly parsed event (parsed just before the call, outside the measured window, as
 * the Lambda runtime parses the payload before calling the handler). `process.cpuUsage()` and
 * `process.hrtime` are read around each call, in this process only, and summed. The CPU of the
 * process's other threads (V8's background compiler and GC helpers, libuv's pool) is read from
 * /proc around each call too, outside the measured window, so the JIT's share can be told apart.
 *
 * argv[2] is a JSON DriverSpec. Modes:
 * - throughput: sends {type:'ready'}, then answers each {cmd:'run'} with {type:'result'};
 *   {cmd:'exit'} (or the runner going away) ends it.
 * - rss: loads the contender, parses the given event, invokes it once, reports peak RSS, exits.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export type Invoker =
  /** A Lambda handler module: `require(modulePath)[exportName](event, context)`. */
  | { kind: 'lambda'; modulePath: string; exportName: string; expectBatchResponse: boolean }
  /** dynamodb-stream-elasticsearch: `pushStream({ event, endpoint, index, ... })`. */
  | { kind: 'peer'; modulePath: string; index: string };

export interface DriverSpec {
  id: string;
  mode: 'throughput' | 'rss';
  invoker: Invoker;
  /** rss mode: the event file to run once. */
  file?: string;
}

export interface RunCommand {
  cmd: 'run';
  files: string[];
  invocations: number;
  /** Rotates which file comes first, so every repetition covers the same set in a new order. */
  offset: number;
  /** Report each call's time window (for reading a CPU profile). */
  windows?: boolean;
}

export interface RunSample {
  invocations: number;
  records: number;
  wallNs: number;
  cpuUserUs: number;
  cpuSystemUs: number;
  /**
   * CPU of every thread but the main one during the calls (µs), from /proc/<pid>/task/<tid>/
   * schedstat: the part of cpuUser+cpuSystem that ran off the main thread. Undefined without /proc.
   */
  otherThreadsCpuUs: number | undefined;
  invocationWallNs: number[];
  /** Process CPU (user+system, µs) of each call, in order. */
  invocationCpuUs: number[];
  /** Other threads' CPU (µs) of each call, in order (empty without /proc). */
  invocationOtherThreadsCpuUs: number[];
  /** Records reported back to Lambda as failed (our handler's batchItemFailures). */
  failures: number;
  /** With `windows`: each call's [start, end] on the monotonic clock (µs), as CPU profiles use. */
  windowsUs?: [number, number][];
}

export interface RssSample {
  loadMs: number;
  /** process.memoryUsage().rss right after the contender module was loaded. */
  baselineRssBytes: number;
  /** resourceUsage().maxRSS after the event was read and parsed, before the invocation. */
  maxRssBeforeRunBytes: number;
  /** resourceUsage().maxRSS after the single invocation: the figure reported. */
  peakRssBytes: number;
  records: number;
  wallNs: number;
  failures: number;
}

export type DriverMessage =
  | { type: 'ready'; loadMs: number; rssAfterLoadBytes: number }
  | { type: 'result'; sample: RunSample }
  | { type: 'rss'; sample: RssSample }
  | { type: 'error'; message: string };

type Invoke = (event: unknown) => Promise<number>;

const requireFromCwd = createRequire(join(process.cwd(), 'bench-driver.js'));

function load(invoker: Invoker): Invoke {
  const mod = requireFromCwd(invoker.modulePath) as Record<string, unknown>;
  if (invoker.kind === 'peer') {
    const pushStream = mod.pushStream as (options: Record<string, unknown>) => Promise<unknown>;
    if (typeof pushStream !== 'function') throw new Error('peer module has no pushStream');
    const endpoint = process.env.OPENSEARCH_ENDPOINT;
    return async (event) => {
      // keepAlive stays at its default (false): the peer makes a new http.Agent per request,
      // so keep-alive would only leave one idle socket behind per request.
      await pushStream({ event, endpoint, index: invoker.index, refresh: false, useBulk: true });
      return 0;
    };
  }
  const handler = mod[invoker.exportName] as (event: unknown, context: unknown) => Promise<unknown>;
  if (typeof handler !== 'function') {
    throw new Error(`${invoker.modulePath} exports no function "${invoker.exportName}"`);
  }
  let requests = 0;
  return async (event) => {
    const deadline = Date.now() + 60_000;
    const context = {
      awsRequestId: `bench-${process.pid}-${++requests}`,
      functionName: 'dynamodb-opensearch-indexer-bench-indexer',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:eu-central-1:123456789012:function:bench-indexer',
      memoryLimitInMB: '512',
      logGroupName: '/aws/lambda/bench-indexer',
      logStreamName: 'bench',
      callbackWaitsForEmptyEventLoop: true,
      getRemainingTimeInMillis: () => deadline - Date.now(),
    };
    const response = await handler(event, context);
    if (!invoker.expectBatchResponse) return 0;
    const failures = (response as { batchItemFailures?: unknown } | undefined)?.batchItemFailures;
    if (!Array.isArray(failures)) throw new Error('handler returned no batchItemFailures array');
    return failures.length;
  };
}

function recordsOf(event: unknown): number {
  const records = (event as { Records?: unknown[] }).Records;
  return Array.isArray(records) ? records.length : 0;
}

const texts = new Map<string, string>();
function eventText(file: string): string {
  let text = texts.get(file);
  if (text === undefined) {
    text = readFileSync(file, 'utf8');
    texts.set(file, text);
  }
  return text;
}

const TASKS = `/proc/${process.pid}/task`;

/**
 * Nanoseconds on CPU of every thread of this process except the main one (whose thread id is
 * the process id): the first field of /proc/<pid>/task/<tid>/schedstat (Linux,
 * Documentation/scheduler/sched-stats.rst). Undefined where /proc is not there.
 */
function otherThreadsNs(): number | undefined {
  let tids: string[];
  try {
    tids = readdirSync(TASKS);
  } catch {
    return undefined;
  }
  let ns = 0;
  const main = String(process.pid);
  for (const tid of tids) {
    if (tid === main) continue;
    try {
      ns += Number.parseInt(readFileSync(`${TASKS}/${tid}/schedstat`, 'latin1'), 10);
    } catch {
      // The thread ended between listing and reading: its time is lost, which is rare and small.
    }
  }
  return ns;
}

async function run(invoke: Invoke, command: RunCommand): Promise<RunSample> {
  const invocationWallNs: number[] = [];
  const invocationCpuUs: number[] = [];
  const invocationOtherThreadsCpuUs: number[] = [];
  const windowsUs: [number, number][] = [];
  let records = 0;
  let failures = 0;
  let wallNs = 0;
  let cpuUserUs = 0;
  let cpuSystemUs = 0;
  let otherNs: number | undefined = 0;
  for (let i = 0; i < command.invocations; i++) {
    const file = command.files[(i + command.offset) % command.files.length] as string;
    // Parsed right before the call and outside the measured window, as the Lambda runtime
    // parses the payload before calling the handler: one event alive at a time.
    const event: unknown = JSON.parse(eventText(file));
    records += recordsOf(event);
    // Read outside the CPU window: reading /proc costs the main thread, not the others.
    const other0 = otherThreadsNs();
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    failures += await invoke(event);
    const t1 = process.hrtime.bigint();
    const cpu = process.cpuUsage(cpu0);
    const other1 = otherThreadsNs();
    cpuUserUs += cpu.user;
    cpuSystemUs += cpu.system;
    wallNs += Number(t1 - t0);
    invocationWallNs.push(Number(t1 - t0));
    invocationCpuUs.push(cpu.user + cpu.system);
    if (other0 === undefined || other1 === undefined || otherNs === undefined) {
      otherNs = undefined;
    } else {
      // A thread that ended inside the window takes its time with it: never count below zero.
      const delta = Math.max(0, other1 - other0);
      otherNs += delta;
      invocationOtherThreadsCpuUs.push(delta / 1000);
    }
    if (command.windows) windowsUs.push([Number(t0 / 1000n), Number(t1 / 1000n)]);
  }
  return {
    invocations: command.invocations,
    records,
    wallNs,
    cpuUserUs,
    cpuSystemUs,
    otherThreadsCpuUs: otherNs === undefined ? undefined : otherNs / 1000,
    invocationWallNs,
    invocationCpuUs,
    invocationOtherThreadsCpuUs,
    failures,
    ...(command.windows ? { windowsUs } : {}),
  };
}

function send(message: DriverMessage): Promise<void> {
  return new Promise((resolve) => {
    if (process.send) process.send(message, undefined, undefined, () => resolve());
    else resolve();
  });
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as DriverSpec;
  const t0 = process.hrtime.bigint();
  const invoke = load(spec.invoker);
  const loadMs = Number(process.hrtime.bigint() - t0) / 1e6;

  if (spec.mode === 'rss') {
    const baselineRssBytes = process.memoryUsage().rss;
    const event: unknown = JSON.parse(readFileSync(spec.file as string, 'utf8'));
    const maxRssBeforeRunBytes = process.resourceUsage().maxRSS * 1024;
    const started = process.hrtime.bigint();
    const failures = await invoke(event);
    const wallNs = Number(process.hrtime.bigint() - started);
    const peakRssBytes = process.resourceUsage().maxRSS * 1024;
    await send({
      type: 'rss',
      sample: {
        loadMs,
        baselineRssBytes,
        maxRssBeforeRunBytes,
        peakRssBytes,
        records: recordsOf(event),
        wallNs,
        failures,
      },
    });
    process.exit(0);
  }

  process.on('message', (message: RunCommand | { cmd: 'exit' }) => {
    if (message.cmd === 'exit') {
      process.exit(0);
    }
    run(invoke, message).then(
      (sample) => send({ type: 'result', sample }),
      (error: unknown) => fail(error),
    );
  });
  process.on('disconnect', () => process.exit(0));
  await send({ type: 'ready', loadMs, rssAfterLoadBytes: process.memoryUsage().rss });
}

function fail(error: unknown): void {
  const message = error instanceof Error ? `${error.message}\n${error.stack ?? ''}` : String(error);
  void send({ type: 'error', message }).then(() => process.exit(1));
}

process.on('uncaughtException', fail);
process.on('unhandledRejection', fail);
main().catch(fail);
