/**
 * Bounds a whole asynchronous exchange. Socket timeouts only catch idleness: a server that
 * trickles bytes, or a credential provider that never answers, would outlive them.
 */

/**
 * Rejects with "<what> timed out after <ms> ms" when `promise` has not settled within `ms`,
 * calling `onTimeout` first (e.g. to abort the request behind the promise).
 */
export function withTimeout<T>(
  promise: PromiseLike<T>,
  ms: number,
  what: string,
  onTimeout?: () => void,
): Promise<T> {
  const limit = Math.max(1, Math.floor(ms));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      onTimeout?.();
      reject(new Error(`${what} timed out after ${limit} ms`));
    }, limit);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The time an invocation has left, as the two questions every I/O loop asks: how long may a
 * request started now run, and may we still wait before the next attempt. One object replaces the
 * hand-written `remaining - margin` arithmetic at each call site.
 */
export interface Deadline {
  /**
   * The timeout for a request started now: at most `capMs`, never past the deadline, or
   * undefined when less than the minimum request time is left (start nothing then).
   */
  timeoutFor(capMs: number): number | undefined;
  /** True when, after waiting `delayMs`, a request of the minimum length still fits. */
  canWait(delayMs: number): boolean;
}

/**
 * A deadline `marginMs` before the end of `remainingMs()` (Lambda's
 * `context.getRemainingTimeInMillis`), below which no request shorter than `minRequestMs` starts.
 */
export function createDeadline(
  remainingMs: () => number,
  marginMs: number,
  minRequestMs: number,
): Deadline {
  const budget = (): number => remainingMs() - marginMs;
  return {
    timeoutFor(capMs) {
      const timeout = Math.min(capMs, budget());
      return timeout < minRequestMs ? undefined : timeout;
    },
    canWait: (delayMs) => budget() - delayMs >= minRequestMs,
  };
}
