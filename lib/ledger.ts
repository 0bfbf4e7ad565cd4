/**
 * The ledger of one batch: each record's state (done or not, why not, its document id) and the
 * batch's counters. Every phase of processing writes here and nowhere else, so where a record's
 * fate is decided is one method call, and the answer to Lambda is read from one place.
 *
 * States are kept in parallel arrays of fixed length rather than one object per record: the
 * shapes never change while a batch runs, which keeps the per-record path monomorphic.
 */

/** The batch's counters, logged once per invocation (and published as metrics). */
export interface BatchSummary {
  records: number;
  indexed: number;
  deleted: number;
  notFound: number;
  stale: number;
  /** Same-second changes re-sent past a wrapped tiebreak (see lib/versions.ts). */
  wrapped: number;
  superseded: number;
  skipped: number;
  retried: number;
  deadLettered: number;
  failed: number;
  requests: number;
  bytes: number;
  ms: number;
}

/** The counters that name how a record became done. */
export type DoneCounter = 'indexed' | 'deleted' | 'notFound' | 'stale' | 'superseded' | 'skipped';

export function emptySummary(records: number): BatchSummary {
  return {
    records,
    indexed: 0,
    deleted: 0,
    notFound: 0,
    stale: 0,
    wrapped: 0,
    superseded: 0,
    skipped: 0,
    retried: 0,
    deadLettered: 0,
    failed: 0,
    requests: 0,
    bytes: 0,
    ms: 0,
  };
}

export class Ledger {
  readonly summary: BatchSummary;
  private readonly done: Uint8Array;
  private readonly errorTypes: (string | undefined)[];
  private readonly documentIds: (string | undefined)[];

  constructor(readonly size: number) {
    this.summary = emptySummary(size);
    this.done = new Uint8Array(size);
    // Stryker disable next-line ArrayDeclaration: `new Array()` is equivalent: an unset position reads as undefined either way; the sized fill only keeps the array packed.
    this.errorTypes = new Array<string | undefined>(size).fill(undefined);
    // Stryker disable next-line ArrayDeclaration: `new Array()` is equivalent: an unset position reads as undefined either way; the sized fill only keeps the array packed.
    this.documentIds = new Array<string | undefined>(size).fill(undefined);
  }

  /** The record is done, counted under `counter` (dead letters count through `deadLettered`). */
  settle(position: number, counter: DoneCounter): void {
    this.done[position] = 1;
    this.errorTypes[position] = undefined;
    this.summary[counter]++;
  }

  /** The record is kept in the dead-letter store: done, with the reason it was set aside. */
  deadLettered(position: number): void {
    this.done[position] = 1;
    this.summary.deadLettered++;
  }

  /** Done without a counter: a dry run that only showed what it would send. */
  shown(position: number): void {
    this.done[position] = 1;
  }

  /** Why the record is not done (yet); it stays not done until settled. */
  setError(position: number, errorType: string): void {
    this.errorTypes[position] = errorType;
  }

  setDocumentId(position: number, id: string): void {
    this.documentIds[position] = id;
  }

  isDone(position: number): boolean {
    return this.done[position] === 1;
  }

  errorType(position: number): string | undefined {
    return this.errorTypes[position];
  }

  documentId(position: number): string | undefined {
    return this.documentIds[position];
  }

  /** Positions of the records that are not done, in batch order; counts them as failed. */
  closeFailed(): number[] {
    const failed: number[] = [];
    for (let position = 0; position < this.size; position++) {
      if (this.done[position] !== 1) failed.push(position);
    }
    this.summary.failed = failed.length;
    return failed;
  }
}
