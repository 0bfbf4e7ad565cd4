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
