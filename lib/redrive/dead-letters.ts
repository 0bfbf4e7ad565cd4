/**
 * Re-drive of dead letters: every stored record under a prefix goes through the same core as the
 * stream (`processRecords`) with the adapter named by its `source`, so it gets the version it had
 * the first time and a replay never overwrites a newer document (OpenSearch answers 409, which
 * counts as done: the index already holds that change or a newer one).
 *
 * Each letter ends in one of:
 *   done      indexed, deleted, already absent, refused as stale, or superseded by a newer letter
 *             of the same item in this run -> moved to `replayed/<key after the dead-letter
 *             prefix>` (or deleted with --delete);
 *   rejected  set aside again -> the SAME object, rewritten with the new reason (the core's
 *             dead-letter phase is pointed at a sink that only captures, so no second object is
 *             ever written);
 *   not done  the cluster did not take it in time -> left as it is, for the next run;
 *   unreadable / malformed / no adapter -> left as it is, and reported.
 * Running it twice is safe: done letters have left the prefix, the rest replays idempotently.
 */
import type { DeadLetter, DeadLetterSink } from '../dead-letter';
import { describeError } from '../errors';
import { processRecords, type BatchDependencies } from '../process-batch';
import { planRecord, type ChangeSource, type SourceName } from '../records';
import { limiter } from '../retry';
import { dynamodbSource } from '../sources/dynamodb';
import { kinesisSource } from '../sources/kinesis';
import { scanSource } from '../sources/scan';
import type { DeadLetterStore } from './store';

/** Where done letters go, beside the dead-letter prefix. */
export const REPLAYED_PREFIX = 'replayed/';
/** Letters per core call: one or a few bulk requests, and a bounded loss of work on a crash. */
export const REDRIVE_BATCH = 100;
/** Objects read at once. */
export const READ_CONCURRENCY = 8;
/** Time one core call may take, retries included (a Lambda invocation gets 60 s in our stack). */
export const BATCH_BUDGET_MS = 60_000;
/**
 * index.gc_deletes as `npm run index:setup` sets it (25 h): a delete's tombstone is kept that long,
 * so an older write replayed after that could bring back an item deleted since.
 */
export const TOMBSTONE_SECONDS = 25 * 3600;

/** The adapters a letter's `source` can name. Kinesis and scan letters need their adapters here. */
export const ADAPTERS: Partial<Record<SourceName, ChangeSource>> = {
  dynamodb: dynamodbSource,
  kinesis: kinesisSource,
  scan: scanSource,
};

export type LetterOutcome =
  | 'replayed'
  | 'deleted'
  | 'rejected'
  | 'not-done'
  | 'unreadable'
  | 'malformed'
  | 'move-failed'
  | 'would-replay'
  | 'would-stay';

/** Outcomes after which the object no longer sits under the prefix. */
const GONE: ReadonlySet<LetterOutcome> = new Set(['replayed', 'deleted']);

export interface LetterResult {
  readonly key: string;
  readonly outcome: LetterOutcome;
  readonly detail?: string;
}

export interface DeadLetterRedriveOptions {
  /** Full key prefix to re-drive, e.g. `dead-letter/2026/12/02/`; must start with deadLetterPrefix. */
  readonly prefix: string;
  /** DEAD_LETTER_PREFIX: replaced by `replayed/` when a done letter is moved. */
  readonly deadLetterPrefix: string;
  /** Reads and plans, writes nothing anywhere (neither the index nor the bucket). */
  readonly dryRun: boolean;
  /** At most this many letters. */
  readonly limit: number | undefined;
  /** Delete done letters instead of moving them to `replayed/`. */
  readonly deleteDone: boolean;
  readonly batchSize?: number;
}

export interface DeadLetterRedriveDeps {
  readonly store: DeadLetterStore;
  /** The core's dependencies, without a dead-letter sink (the re-drive brings its own). */
  readonly core: Omit<BatchDependencies, 'deadLetters' | 'remainingMs'>;
  readonly now?: () => number;
  /** Called after each letter (a progress line). */
  readonly onLetter?: (result: LetterResult, report: RedriveReport) => void;
}

export interface RedriveReport {
  readonly counts: Record<LetterOutcome, number>;
  /** Every letter that is not gone, with why. */
  readonly left: LetterResult[];
  /** The limit stopped the listing before its end. */
  more: boolean;
  seen: number;
  /** Done letters whose change is older than the tombstone window (see TOMBSTONE_SECONDS). */
  olderThanTombstones: number;
}

export function emptyReport(): RedriveReport {
  return {
    counts: {
      replayed: 0,
      deleted: 0,
      rejected: 0,
      'not-done': 0,
      unreadable: 0,
      malformed: 0,
      'move-failed': 0,
      'would-replay': 0,
      'would-stay': 0,
    },
    left: [],
    more: false,
    seen: 0,
    olderThanTombstones: 0,
  };
}

/** True when something is still under the prefix after the run (what the exit code says). */
export function anythingLeft(report: RedriveReport): boolean {
  return report.more || report.left.length > 0;
}

/** A letter read back and checked: what the core needs to replay it. */
interface StoredLetter {
  readonly key: string;
  readonly stored: Record<string, unknown>;
  readonly record: unknown;
  readonly source: ChangeSource;
}

export async function redriveDeadLetters(
  options: DeadLetterRedriveOptions,
  deps: DeadLetterRedriveDeps,
): Promise<RedriveReport> {
  if (!options.prefix.startsWith(options.deadLetterPrefix)) {
    throw new RangeError(
      `--prefix must start with the dead-letter prefix ${options.deadLetterPrefix} (got ${options.prefix})`,
    );
  }
  const report = emptyReport();
  const batchSize = options.batchSize ?? REDRIVE_BATCH;
  const settle = (result: LetterResult): void => {
    report.counts[result.outcome]++;
    if (!GONE.has(result.outcome)) report.left.push(result);
    deps.onLetter?.(result, report);
  };
  let keys: string[] = [];
  for await (const key of deps.store.list(options.prefix)) {
    if (options.limit !== undefined && report.seen >= options.limit) {
      report.more = true;
      break;
    }
    report.seen++;
    keys.push(key);
    if (keys.length >= batchSize) {
      await redriveBatch(keys, options, deps, report, settle);
      keys = [];
    }
  }
  // Stryker disable next-line ConditionalExpression,EqualityOperator: a batch of no keys reads nothing and makes no core call, so running it (`true`, `>= 0`) changes nothing; skipping the last batch (`false`) is killed by every test with fewer letters than a batch.
  if (keys.length > 0) await redriveBatch(keys, options, deps, report, settle);
  return report;
}

async function redriveBatch(
  keys: readonly string[],
  options: DeadLetterRedriveOptions,
  deps: DeadLetterRedriveDeps,
  report: RedriveReport,
  settle: (result: LetterResult) => void,
): Promise<void> {
  const read = limiter(READ_CONCURRENCY);
  const letters: StoredLetter[] = [];
  const results = await Promise.all(keys.map((key) => read(() => readLetter(deps.store, key))));
  for (const result of results) {
    if ('outcome' in result) settle(result);
    else letters.push(result);
  }
  // One core call per adapter, records in stream order: coalescing keeps the latest change of an
  // item by position, so position must follow the changes' order, not the listing's.
  const bySource = new Map<ChangeSource, StoredLetter[]>();
  for (const letter of letters) {
    const group = bySource.get(letter.source) ?? [];
    group.push(letter);
    bySource.set(letter.source, group);
  }
  for (const [source, group] of bySource) {
    group.sort((a, b) => streamOrder(source, a.record, b.record));
    if (options.dryRun) plan(group, source, deps, settle);
    else await replay(group, source, options, deps, report, settle);
  }
}

async function readLetter(
  store: DeadLetterStore,
  key: string,
): Promise<StoredLetter | LetterResult> {
  let text: string;
  try {
    text = await store.get(key);
  } catch (error) {
    return { key, outcome: 'unreadable', detail: describeError(error) };
  }
  let stored: unknown;
  try {
    stored = JSON.parse(text);
  } catch (error) {
    return { key, outcome: 'malformed', detail: `not JSON: ${describeError(error)}` };
  }
  if (stored === null || typeof stored !== 'object' || Array.isArray(stored)) {
    return { key, outcome: 'malformed', detail: 'not a dead-letter object' };
  }
  const letter = stored as Record<string, unknown>;
  if (letter.record === undefined) {
    return { key, outcome: 'malformed', detail: 'no record' };
  }
  // Letters written before the `source` field existed came from the DynamoDB stream.
  const name = letter.source ?? 'dynamodb';
  const source = typeof name === 'string' ? ADAPTERS[name as SourceName] : undefined;
  if (source === undefined) {
    return { key, outcome: 'malformed', detail: `no adapter for source ${JSON.stringify(name)}` };
  }
  return { key, stored: letter, record: letter.record, source };
}

/** Creation time, then the identifier as a number (sequence numbers differ in length). */
function streamOrder(source: ChangeSource, a: unknown, b: unknown): number {
  const x = source.identity(a);
  const y = source.identity(b);
  if (x.createdSeconds !== y.createdSeconds) return x.createdSeconds - y.createdSeconds;
  // Stryker disable next-line StringLiteral: a letter without an identifier is malformed (its record has no sequence number), so it stays dead-lettered wherever it sorts; the text only decides where its report line appears among the letters of the same second.
  const p = x.identifier ?? '';
  // Stryker disable next-line StringLiteral: as above.
  const q = y.identifier ?? '';
  if (/^\d+$/.test(p) && /^\d+$/.test(q)) {
    const d = BigInt(p) - BigInt(q);
    // Stryker disable next-line ConditionalExpression,EqualityOperator: only the `-1` answer matters: V8's Array.prototype.sort only asks whether the comparator's answer is below 0 (src/builtins/array-sort.tq), so 1 vs 0 (`true ? 1`, `false ? 1`, `>=`/`<=` in the second test) is the same to it, and `<=` in the first only answers -1 for equal identifiers (same source, second and sequence number: the same change). The `-1` directions (`>=`, `true`/`false ? -1`) are killed by "compares sequence numbers of different lengths as numbers".
    return d < 0n ? -1 : d > 0n ? 1 : 0;
  }
  // Stryker disable next-line ConditionalExpression,EqualityOperator: as above, only the `-1` answer matters to the sort; its directions (`>=`, `true`/`false ? -1`) are killed by "orders scan letters of one item read in the same second by their version text".
  return p < q ? -1 : p > q ? 1 : 0;
}

/** --dry-run: what each letter would become, from the same planning step, with nothing sent. */
function plan(
  group: readonly StoredLetter[],
  source: ChangeSource,
  deps: DeadLetterRedriveDeps,
  settle: (result: LetterResult) => void,
): void {
  group.forEach((letter, position) => {
    const planned = planRecord(letter.record, position, deps.core.config, source);
    if (planned.kind === 'operation') {
      const { kind, id, version } = planned.operation;
      settle({
        key: letter.key,
        outcome: 'would-replay',
        detail: `${kind} ${id}${version === undefined ? '' : ` version ${version}`}`,
      });
    } else if (planned.kind === 'skip') {
      settle({ key: letter.key, outcome: 'would-replay', detail: `skip (${planned.reason})` });
    } else {
      settle({
        key: letter.key,
        outcome: 'would-stay',
        detail: `${planned.error.errorType}: ${planned.error.message}`,
      });
    }
  });
}

async function replay(
  group: readonly StoredLetter[],
  source: ChangeSource,
  options: DeadLetterRedriveOptions,
  deps: DeadLetterRedriveDeps,
  report: RedriveReport,
  settle: (result: LetterResult) => void,
): Promise<void> {
  const now = deps.now ?? Date.now;
  const records = group.map((letter) => letter.record);
  // The core's dead-letter phase writes here: nothing is stored, the letter is kept for the
  // rewrite below, and the record counts as done for the core (it is, once rewritten).
  const rejected = new Map<unknown, DeadLetter>();
  const keyOf = new Map<unknown, string>(group.map((letter) => [letter.record, letter.key]));
  const capture: DeadLetterSink = {
    location: deps.store.location,
    write: async (letter) => {
      rejected.set(letter.record, letter);
      // Stryker disable next-line StringLiteral: the core hands back the very record objects of this group, so the key is always found and the fallback text is never used.
      return keyOf.get(letter.record) ?? '';
    },
    uri: (key) => `${deps.store.location}${key}`,
  };
  const started = now();
  const { failed } = await processRecords(records, source, {
    ...deps.core,
    deadLetters: capture,
    remainingMs: () => started + BATCH_BUDGET_MS - now(),
  });
  const notDone = new Set(failed);
  const write = limiter(READ_CONCURRENCY);
  await Promise.all(
    group.map((letter, position) =>
      write(async () => {
        const again = rejected.get(letter.record);
        if (notDone.has(position)) {
          settle({
            key: letter.key,
            outcome: 'not-done',
            detail: 'not taken by the cluster in time',
          });
        } else if (again !== undefined) {
          settle(await rewrite(letter, again, deps.store, now()));
        } else {
          const created = source.identity(letter.record).createdSeconds;
          if (created > 0 && now() / 1000 - created > TOMBSTONE_SECONDS) {
            report.olderThanTombstones++;
          }
          settle(await retire(letter.key, options, deps.store));
        }
      }),
    ),
  );
}

/** Rejected again: the same object, with the new reason. */
async function rewrite(
  letter: StoredLetter,
  again: DeadLetter,
  store: DeadLetterStore,
  nowMs: number,
): Promise<LetterResult> {
  const body = JSON.stringify({
    ...letter.stored,
    errorType: again.errorType,
    reason: again.reason,
    documentId: again.documentId ?? letter.stored.documentId,
    failedAt: new Date(nowMs).toISOString(),
    record: letter.record,
  });
  const detail = `${again.errorType}: ${again.reason}`;
  try {
    await store.put(letter.key, body);
    return { key: letter.key, outcome: 'rejected', detail };
  } catch (error) {
    return {
      key: letter.key,
      outcome: 'rejected',
      detail: `${detail} (the object keeps its old reason: ${describeError(error)})`,
    };
  }
}

/** Done: out of the dead-letter prefix. */
async function retire(
  key: string,
  options: DeadLetterRedriveOptions,
  store: DeadLetterStore,
): Promise<LetterResult> {
  try {
    if (options.deleteDone) {
      await store.delete(key);
      return { key, outcome: 'deleted' };
    }
    const to = REPLAYED_PREFIX + key.slice(options.deadLetterPrefix.length);
    await store.move(key, to);
    return { key, outcome: 'replayed', detail: to };
  } catch (error) {
    // The change is in the index; the object stays, and a second run replays it idempotently.
    return { key, outcome: 'move-failed', detail: `done, but ${describeError(error)}` };
  }
}
