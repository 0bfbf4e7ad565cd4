/**
 * One retry policy for every loop that waits and tries again (bulk requests, dead-letter writes,
 * the backfill's scans): exponential backoff with "equal jitter", i.e. half the ceiling plus a
 * random half, so retries of many shards spread out but never retry at once.
 */
export interface RetryPolicy {
  /** The ceiling of the first wait; it doubles per attempt. */
  readonly baseMs: number;
  /** The largest ceiling. */
  readonly maxMs: number;
}

/** The wait before attempt `attempt + 1`, for `attempt` = 1, 2, ... */
export function backoffMs(attempt: number, policy: RetryPolicy, random: () => number): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** (attempt - 1));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Runs at most `limit` tasks at once, in the order they were queued. */
export function limiter(limit: number): <T>(task: () => Promise<T>) => Promise<T> {
  let running = 0;
  const waiting: (() => void)[] = [];
  return async (task) => {
    // A finishing task hands its slot straight to the next waiter, so `running` never overshoots.
    if (running >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    else running++;
    try {
      return await task();
    } finally {
      const next = waiting.shift();
      if (next) next();
      else running--;
    }
  };
}

export const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));
