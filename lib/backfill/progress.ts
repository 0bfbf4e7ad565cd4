/**
 * What a person sees while a backfill runs: on a terminal, one progress line redrawn in place
 * (bar, items/s, segments done, ETA); anywhere else (CI, log files), one JSON line every few
 * seconds. The total comes from DescribeTable's ItemCount, which DynamoDB refreshes about every
 * six hours: the bar is an estimate and is capped, never an extra Scan.
 */
export interface ProgressState {
  readonly read: number;
  readonly indexed: number;
  readonly deadLettered: number;
  /** DescribeTable's ItemCount (approximate). */
  readonly estimatedTotal: number;
  readonly segmentsDone: number;
  readonly totalSegments: number;
  /** Items read before this run (a resumed checkpoint): not counted in the rate. */
  readonly readBefore: number;
}

export interface ProgressReporter {
  update(state: ProgressState): void;
  /** Clears the terminal line (before a summary or a message). */
  finish(): void;
}

export interface ProgressOptions {
  readonly tty: boolean;
  readonly write: (text: string) => void;
  readonly clock: () => number;
  /** Minimum ms between two outputs: 200 on a terminal, 5000 for JSON lines by default. */
  readonly intervalMs?: number;
  readonly width?: number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${m}:${pad(s % 60)}`;
}

/** Rate (items/s since start) and ETA in seconds (undefined when unknown). */
export function rates(
  state: ProgressState,
  elapsedMs: number,
): { perSecond: number; etaSeconds: number | undefined; fraction: number | undefined } {
  const readNow = state.read - state.readBefore;
  const perSecond = elapsedMs > 0 ? (readNow * 1000) / elapsedMs : 0;
  const total = state.estimatedTotal;
  if (state.segmentsDone === state.totalSegments) {
    return { perSecond, etaSeconds: 0, fraction: 1 };
  }
  if (total <= 0) return { perSecond, etaSeconds: undefined, fraction: undefined };
  // ItemCount lags the table: never show more than 99 % before every segment is done.
  const fraction = Math.min(state.read / total, 0.99);
  const left = Math.max(total - state.read, 0);
  return { perSecond, etaSeconds: perSecond > 0 ? left / perSecond : undefined, fraction };
}

export function createProgress(options: ProgressOptions): ProgressReporter {
  const started = options.clock();
  const interval = options.intervalMs ?? (options.tty ? 200 : 5_000);
  let last = -Infinity;
  let drawn = false;
  return {
    update(state) {
      const now = options.clock();
      const final = state.segmentsDone === state.totalSegments;
      if (now - last < interval && !final) return;
      last = now;
      const { perSecond, etaSeconds, fraction } = rates(state, now - started);
      if (options.tty) {
        const width = options.width ?? 24;
        const filled = fraction === undefined ? 0 : Math.round(fraction * width);
        const bar = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}]`;
        const pct =
          fraction === undefined ? '  ?%' : `${String(Math.floor(fraction * 100)).padStart(3)}%`;
        const total = state.estimatedTotal > 0 ? `/~${state.estimatedTotal}` : '';
        options.write(
          `\r${bar} ${pct} ${state.read}${total} items  ${Math.round(perSecond)} items/s  ` +
            `segments ${state.segmentsDone}/${state.totalSegments}  ETA ${formatDuration(etaSeconds ?? NaN)}\x1b[K`,
        );
        drawn = true;
        return;
      }
      options.write(
        `${JSON.stringify({
          msg: 'backfill progress',
          read: state.read,
          estimatedTotal: state.estimatedTotal,
          indexed: state.indexed,
          deadLettered: state.deadLettered,
          itemsPerSecond: Math.round(perSecond),
          segmentsDone: state.segmentsDone,
          totalSegments: state.totalSegments,
          etaSeconds: etaSeconds === undefined ? null : Math.round(etaSeconds),
        })}\n`,
      );
    },
    finish() {
      if (drawn) options.write('\n');
      drawn = false;
    },
  };
}
