/**
 * The four end-to-end properties, as functions returning a list of problems (empty = holds), so
 * a failing scenario prints every violation with its evidence:
 *  1. index == table (except dead-lettered items), compared losslessly;
 *  2. every rejected or malformed record is in the dead-letter bucket with its full content, and
 *     nothing is dead-lettered without a cause;
 *  3. no invocation ran past its deadline;
 *  4. nothing went to the simulator's on-failure destination (nothing lost).
 */
import type { DynamoDBRecord, KinesisStreamRecord } from 'aws-lambda';
import { documentId } from '../../lib/ids';
import type { EsmSimulator, OnFailureEntry } from './esm-simulator';
import type { DeadLetterView, IndexedDoc } from './harness';
import type { KinesisShard } from './kinesis-shard';
import type { ItemOutcome } from './opensearch-stand-in';
import { compareDocument, type Item } from './table-model';

export interface CheckInput {
  /** The shard, in order (everything the simulator was given). */
  readonly records: readonly DynamoDBRecord[];
  /** Records that are malformed on purpose (they must be dead-lettered). */
  readonly malformed: readonly DynamoDBRecord[];
  readonly index: ReadonlyMap<string, IndexedDoc>;
  readonly indexName: string;
  readonly deadLetters: readonly DeadLetterView[];
  readonly ttlDeletes: 'delete' | 'ignore';
  readonly keyOrder?: readonly string[];
  /** Item outcomes seen by the OpenSearch stand-in (absent on the real target). */
  readonly standInItems?: readonly ItemOutcome[];
  /** Sequence numbers the scenario expects to be dead-lettered for reasons the stand-in cannot see. */
  readonly expectedDeadLetters?: readonly string[];
  readonly sim: SimulatorView;
}

/** What the run-level checks read of a simulator, whatever its records (stream or Kinesis). */
export type SimulatorView = Pick<
  EsmSimulator<unknown>,
  'stats' | 'invocations' | 'done' | 'checkpoint'
> & {
  readonly records: readonly unknown[];
  readonly onFailure: readonly OnFailureEntry<unknown>[];
};

/** Deep equality of JSON values, object member order ignored. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => jsonEqual(ao[k], bo[k]));
}

const seqOf = (r: DynamoDBRecord): string | undefined => r.dynamodb?.SequenceNumber;
const isTtl = (r: DynamoDBRecord): boolean =>
  r.userIdentity?.type === 'Service' && r.userIdentity?.principalId === 'dynamodb.amazonaws.com';

function wellFormed(r: DynamoDBRecord, malformed: ReadonlySet<DynamoDBRecord>): boolean {
  if (malformed.has(r)) return false;
  const d = r.dynamodb;
  if (!d?.Keys) return false;
  if (r.eventName === 'INSERT' || r.eventName === 'MODIFY') return d.NewImage !== undefined;
  return r.eventName === 'REMOVE';
}

function short(s: string, n = 300): string {
  return s.length > n ? `${s.slice(0, n)}...` : s;
}

export function docIdOf(r: DynamoDBRecord, keyOrder: readonly string[] = []): string {
  return documentId(r.dynamodb?.Keys, keyOrder);
}

/** Records found in dead letters, matched to shard records by content. */
export function deadLetteredRecords(input: Pick<CheckInput, 'records' | 'deadLetters'>): {
  matched: Set<DynamoDBRecord>;
  problems: string[];
} {
  const matched = new Set<DynamoDBRecord>();
  const problems: string[] = [];
  const bySeq = new Map<string, DynamoDBRecord[]>();
  for (const r of input.records) {
    const k = seqOf(r) ?? `eventID:${r.eventID}`;
    bySeq.set(k, [...(bySeq.get(k) ?? []), r]);
  }
  for (const dl of input.deadLetters) {
    if (dl.parseError) {
      problems.push(`dead letter ${dl.key} is not JSON: ${dl.parseError}: ${short(dl.body)}`);
      continue;
    }
    for (const letter of dl.letters) {
      const rec = letter.record as DynamoDBRecord | undefined;
      if (!rec || typeof rec !== 'object') {
        problems.push(`dead letter ${dl.key} has no record object: ${short(dl.body)}`);
        continue;
      }
      const candidates = bySeq.get(rec.dynamodb?.SequenceNumber ?? `eventID:${rec.eventID}`) ?? [];
      const same = candidates.find((c) => jsonEqual(JSON.parse(JSON.stringify(c)), rec));
      if (!same)
        problems.push(
          `dead letter ${dl.key} holds a record that is not, byte for byte, one of the delivered records: ${short(JSON.stringify(rec))}`,
        );
      else matched.add(same);
    }
  }
  return { matched, problems };
}

export function checkDeadLetterFormat(input: CheckInput): string[] {
  const problems: string[] = [];
  for (const dl of input.deadLetters) {
    if (!/\d{4}[/-]\d{2}[/-]\d{2}/.test(dl.key))
      problems.push(`dead letter key ${dl.key} is not under a date-partitioned prefix`);
    for (const l of dl.letters) {
      if (typeof l.errorType !== 'string' || l.errorType === '')
        problems.push(`dead letter ${dl.key}: errorType missing`);
      if (typeof l.reason !== 'string' || l.reason === '')
        problems.push(`dead letter ${dl.key}: reason missing`);
      if (l.index !== input.indexName)
        problems.push(
          `dead letter ${dl.key}: index ${JSON.stringify(l.index)} is not ${input.indexName}`,
        );
      const time = l.raw['failedAt'] ?? l.raw['time'] ?? l.raw['timestamp'];
      if (time === undefined) problems.push(`dead letter ${dl.key}: no time field`);
    }
  }
  return problems;
}

export type Expectation =
  | { readonly kind: 'present'; readonly item: Item; readonly record: DynamoDBRecord }
  | { readonly kind: 'absent'; readonly record: DynamoDBRecord }
  /** The item's last change was dead-lettered: the index may hold any earlier image, or nothing. */
  | { readonly kind: 'exempt'; readonly images: readonly Item[]; readonly record: DynamoDBRecord };

/**
 * Expected index, per document id: the last well-formed change of each item decides. When that
 * change was dead-lettered the item is exempt ("index == table except dead-lettered items"), but
 * whatever the index holds for it must still be one of the item's real images.
 */
export function expectedIndex(
  input: CheckInput,
  dead: ReadonlySet<DynamoDBRecord>,
): Map<string, Expectation> {
  const malformed = new Set(input.malformed);
  const history = new Map<string, DynamoDBRecord[]>();
  for (const r of input.records) {
    if (!wellFormed(r, malformed)) continue;
    if (r.eventName === 'REMOVE' && isTtl(r) && input.ttlDeletes === 'ignore') continue;
    const id = docIdOf(r, input.keyOrder);
    history.set(id, [...(history.get(id) ?? []), r]);
  }
  const out = new Map<string, Expectation>();
  for (const [id, recs] of history) {
    const last = recs[recs.length - 1] as DynamoDBRecord;
    if (dead.has(last)) {
      // Any image of the item, the dead-lettered ones included: a rejection by dynamic mapping
      // depends on what was mapped first, so a re-delivered record can be accepted later.
      const images = recs
        .filter((r) => r.eventName !== 'REMOVE')
        .map((r) => r.dynamodb!.NewImage as Item);
      out.set(id, { kind: 'exempt', images, record: last });
    } else if (last.eventName === 'REMOVE') {
      out.set(id, { kind: 'absent', record: last });
    } else {
      out.set(id, { kind: 'present', item: last.dynamodb!.NewImage as Item, record: last });
    }
  }
  return out;
}

export function checkIndexMatchesTable(
  input: CheckInput,
  dead: ReadonlySet<DynamoDBRecord>,
): string[] {
  const problems: string[] = [];
  const expected = expectedIndex(input, dead);
  for (const [id, want] of expected) {
    const got = input.index.get(id);
    if (want.kind === 'absent') {
      if (got)
        problems.push(
          `index holds ${JSON.stringify(id)} (version ${got.version}) but the table deleted it (seq ${seqOf(want.record)}): ${short(got.rawSource)}`,
        );
      continue;
    }
    if (want.kind === 'exempt') {
      if (got && !want.images.some((img) => compareDocument(img, got.rawSource) === null)) {
        problems.push(
          `index document ${JSON.stringify(id)} (last change dead-lettered) is none of the item's images: ${short(got.rawSource)}`,
        );
      }
      continue;
    }
    if (!got) {
      problems.push(
        `index is missing ${JSON.stringify(id)} (last change: ${want.record.eventName} seq ${seqOf(want.record)})`,
      );
      continue;
    }
    const diff = compareDocument(want.item, got.rawSource);
    if (diff)
      problems.push(
        `index document ${JSON.stringify(id)} differs from the table (last change seq ${seqOf(want.record)}): ${diff}`,
      );
  }
  for (const [id, got] of input.index) {
    if (!expected.has(id))
      problems.push(
        `index holds ${JSON.stringify(id)} which no delivered record produced: ${short(got.rawSource)}`,
      );
  }
  return problems;
}

const permanent = (o: ItemOutcome): boolean =>
  o.status >= 400 &&
  o.status < 500 &&
  o.status !== 404 &&
  o.status !== 409 &&
  o.status !== 429 &&
  o.status !== 403 &&
  o.status !== 408;

export function checkDeadLettersComplete(
  input: CheckInput,
  dead: ReadonlySet<DynamoDBRecord>,
): string[] {
  const problems: string[] = [];
  const malformed = new Set(input.malformed);
  for (const m of input.malformed) {
    if (!dead.has(m))
      problems.push(
        `malformed record (seq ${seqOf(m) ?? 'none'}, eventID ${m.eventID}) is not in the dead-letter bucket`,
      );
  }
  if (!input.standInItems) return problems;
  const rejections = input.standInItems.filter(permanent);
  const expectedDl = new Set(input.expectedDeadLetters ?? []);
  // every dead-lettered well-formed record had a permanent rejection (or is expected)
  for (const r of dead) {
    if (malformed.has(r)) continue;
    const seq = seqOf(r);
    if (seq !== undefined && expectedDl.has(seq)) continue;
    const id = docIdOf(r, input.keyOrder);
    const why = rejections.find(
      (o) =>
        o.id === id &&
        (r.eventName === 'REMOVE'
          ? o.action === 'delete'
          : o.action !== 'delete' &&
            o.rawSource !== undefined &&
            compareDocument(r.dynamodb!.NewImage as Item, o.rawSource) === null),
    );
    if (!why) {
      const seen = input.standInItems
        .filter((o) => o.id === id)
        .map((o) => `${o.action} ${o.status}${o.errorType ? ` ${o.errorType}` : ''}`);
      problems.push(
        `record seq ${seq} (${r.eventName}, id ${JSON.stringify(id)}) was dead-lettered without a permanent rejection from the cluster; cluster answers for this id: [${seen.join(', ')}]`,
      );
    }
  }
  // every permanent rejection is covered by a dead letter
  for (const o of rejections) {
    const candidates = input.records.filter((r) => {
      if (!wellFormed(r, malformed) || docIdOf(r, input.keyOrder) !== o.id) return false;
      if (o.action === 'delete') return r.eventName === 'REMOVE';
      return (
        r.eventName !== 'REMOVE' &&
        o.rawSource !== undefined &&
        compareDocument(r.dynamodb!.NewImage as Item, o.rawSource) === null
      );
    });
    // A rejected change that a later record of the same item superseded need not be kept: the
    // product coalesces changes per item (in one batch, or on re-delivery from the checkpoint
    // when the retried batch reaches the later change), and index == table covers the outcome.
    const last = lastRecordOf(input, o.id, malformed);
    if (candidates.length === 0) {
      problems.push(
        `the cluster rejected ${o.action} ${JSON.stringify(o.id)} (${o.status} ${o.errorType}) for a document no record produced: ${short(o.rawSource ?? '')}`,
      );
    } else if (!candidates.some((c) => dead.has(c) || c !== last)) {
      problems.push(
        `the cluster rejected ${o.action} ${JSON.stringify(o.id)} permanently (${o.status} ${o.errorType}: ${short(o.reason ?? '', 160)}) but seq ${candidates.map(seqOf).join('/')} is not in the dead-letter bucket`,
      );
    }
  }
  return problems;
}

function lastRecordOf(
  input: CheckInput,
  id: string,
  malformed: ReadonlySet<DynamoDBRecord>,
): DynamoDBRecord | undefined {
  let last: DynamoDBRecord | undefined;
  for (const r of input.records) {
    if (!wellFormed(r, malformed)) continue;
    if (r.eventName === 'REMOVE' && isTtl(r) && input.ttlDeletes === 'ignore') continue;
    if (docIdOf(r, input.keyOrder) === id) last = r;
  }
  return last;
}

export function checkDeadlines(sim: SimulatorView): string[] {
  if (sim.stats.deadlineViolations === 0) return [];
  const bad = sim.invocations.filter((i) => i.outcome === 'timeout' || i.durationMs > i.timeoutMs);
  return [
    `${sim.stats.deadlineViolations} invocation(s) ran past the deadline: ${bad.map((i) => `#${i.n} ${i.durationMs} ms of ${i.timeoutMs} ms (${i.outcome})`).join('; ')}`,
  ];
}

export function checkNothingLost(sim: SimulatorView): string[] {
  const problems: string[] = [];
  if (sim.onFailure.length > 0) {
    problems.push(
      `records went to the on-failure destination (lost to the index): ${sim.onFailure.map((f) => `${f.records.length} records ${f.startSequenceNumber}..${f.endSequenceNumber} (${f.reason})`).join('; ')}`,
    );
  }
  if (sim.stats.hitInvocationBound)
    problems.push(
      `the simulator hit its invocation bound (${sim.stats.invocations}) before the stream was processed`,
    );
  else if (!sim.done)
    problems.push(
      `the stream was not processed to the end (checkpoint ${sim.checkpoint} of ${sim.records.length})`,
    );
  const lastErrors = sim.invocations.filter((i) => i.error).slice(-3);
  if (problems.length > 0 && lastErrors.length > 0)
    problems.push(
      `last invocation errors: ${lastErrors.map((i) => `#${i.n} ${i.outcome}: ${i.error}`).join(' | ')}`,
    );
  return problems;
}

/** Document ids whose last change was dead-lettered (exempt from index == table). */
export function exemptIds(input: CheckInput): Set<string> {
  const { matched } = deadLetteredRecords(input);
  const out = new Set<string>();
  for (const [id, e] of expectedIndex(input, matched)) if (e.kind === 'exempt') out.add(id);
  return out;
}

/** All four properties. */
export function checkAll(input: CheckInput): string[] {
  const { matched, problems } = deadLetteredRecords(input);
  return [
    ...problems,
    ...checkDeadLetterFormat(input),
    ...checkIndexMatchesTable(input, matched),
    ...checkDeadLettersComplete(input, matched),
    ...checkDeadlines(input.sim),
    ...checkNothingLost(input.sim),
  ];
}

export interface KinesisCheckInput extends Omit<CheckInput, 'records' | 'malformed'> {
  readonly shard: KinesisShard;
}

/**
 * The four properties for a Kinesis shard. Dead letters hold Kinesis records as delivered; each is
 * traced back to the table change it carries, and the index is compared with the table (changes
 * in the order they were made, whatever order they were delivered in).
 */
export function checkKinesis(input: KinesisCheckInput): string[] {
  const { shard } = input;
  const problems: string[] = [];
  const bySeq = new Map<string, KinesisStreamRecord>();
  for (const r of shard.records) bySeq.set(r.kinesis.sequenceNumber, r);
  const deadDeliveries = new Set<KinesisStreamRecord>();
  for (const dl of input.deadLetters) {
    if (dl.parseError) {
      problems.push(`dead letter ${dl.key} is not JSON: ${dl.parseError}: ${short(dl.body)}`);
      continue;
    }
    for (const letter of dl.letters) {
      const rec = letter.record as KinesisStreamRecord | undefined;
      const delivered = bySeq.get(rec?.kinesis?.sequenceNumber ?? '');
      if (delivered === undefined || !jsonEqual(JSON.parse(JSON.stringify(delivered)), rec)) {
        problems.push(
          `dead letter ${dl.key} holds a record that is not, byte for byte, one of the delivered Kinesis records: ${short(JSON.stringify(rec))}`,
        );
        continue;
      }
      if (letter.raw['source'] !== 'kinesis')
        problems.push(`dead letter ${dl.key}: source ${JSON.stringify(letter.raw['source'])}`);
      deadDeliveries.add(delivered);
    }
  }
  for (const m of shard.malformed) {
    if (!deadDeliveries.has(m))
      problems.push(
        `malformed Kinesis record ${m.kinesis.sequenceNumber} is not in the dead-letter bucket`,
      );
  }
  const dead = new Set<DynamoDBRecord>();
  for (const d of deadDeliveries) {
    const change = shard.changeOf.get(d);
    if (change !== undefined) dead.add(change);
  }
  const tableInput: CheckInput = {
    ...input,
    records: shard.table.records,
    malformed: shard.table.malformed,
  };
  return [
    ...problems,
    ...checkDeadLetterFormat(tableInput),
    ...checkIndexMatchesTable(tableInput, dead),
    ...checkDeadLettersComplete(tableInput, dead),
    ...checkDeadlines(input.sim),
    ...checkNothingLost(input.sim),
  ];
}
