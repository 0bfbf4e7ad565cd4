/**
 * Read pacing shared by every segment of a run, so a backfill does not drain a provisioned table's
 * read capacity:
 * - `maxRate`: items (or read capacity units) per second at most, over all segments together;
 * - adaptive: every throttling answer doubles a pause all segments take before their next Scan
 *   (up to `maxPauseMs`), and every successful page halves it again, so a throttled table is
 *   read more slowly until it stops throttling.
 */
export interface PacerOptions {
  /** Units per second over all segments; undefined = no fixed limit. */
  readonly maxRate?: number | undefined;
  readonly clock: () => number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly minPauseMs?: number;
  readonly maxPauseMs?: number;
}

export interface Pacer {
  /** Waits until the next Scan may be sent. */
  before(): Promise<void>;
  /** A page of `units` items (or read units) was read. */
  after(units: number): void;
  /** DynamoDB throttled a Scan. */
  throttled(): void;
  /** The current adaptive pause, for progress output. */
  readonly pauseMs: number;
}

export function createPacer(options: PacerOptions): Pacer {
  const minPause = options.minPauseMs ?? 50;
  const maxPause = options.maxPauseMs ?? 5_000;
  let nextAt = 0; // when the rate limit lets the next Scan go
  let pause = 0;
  return {
    async before() {
      const wait = Math.max(nextAt - options.clock(), 0) + pause;
      if (wait > 0) await options.sleep(wait);
    },
    after(units) {
      if (options.maxRate !== undefined && options.maxRate > 0) {
        nextAt = Math.max(nextAt, options.clock()) + (units / options.maxRate) * 1000;
      }
      pause = pause <= minPause ? 0 : Math.floor(pause / 2);
    },
    throttled() {
      pause = Math.min(maxPause, Math.max(minPause, pause * 2));
    },
    get pauseMs() {
      return pause;
    },
  };
}
