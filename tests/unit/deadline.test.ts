import { withTimeout } from '../../lib/deadline';

/** Settles `promise` into an observable state without awaiting it. */
function track<T>(promise: Promise<T>): {
  state: 'pending' | 'resolved' | 'rejected';
  value: unknown;
} {
  const tracked: { state: 'pending' | 'resolved' | 'rejected'; value: unknown } = {
    state: 'pending',
    value: undefined,
  };
  promise.then(
    (value) => Object.assign(tracked, { state: 'resolved', value }),
    (error: unknown) => Object.assign(tracked, { state: 'rejected', value: error }),
  );
  return tracked;
}

describe('withTimeout', () => {
  beforeEach(() => {
    jest.useFakeTimers();
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('resolves with the value when the promise settles in time', async () => {
    await expect(withTimeout(Promise.resolve(42), 1_000, 'lookup')).resolves.toBe(42);
  });

  it('passes a rejection through unchanged when it comes in time', async () => {
    const boom = new Error('boom');

    await expect(withTimeout(Promise.reject(boom), 1_000, 'lookup')).rejects.toBe(boom);
  });

  it('rejects naming what timed out, and calls onTimeout once, when the promise never settles', async () => {
    // Prepare
    const onTimeout = jest.fn();
    const result = track(withTimeout(new Promise(() => undefined), 500, 'request', onTimeout));

    // Act
    await jest.advanceTimersByTimeAsync(499);
    const before = result.state;
    await jest.advanceTimersByTimeAsync(1);

    // Assert
    expect(before).toBe('pending');
    expect(result.state).toBe('rejected');
    expect((result.value as Error).message).toBe('request timed out after 500 ms');
    expect(onTimeout).toHaveBeenCalledTimes(1);
  });

  it.each([
    ['resolves', Promise.resolve('ok')],
    ['rejects', Promise.reject(new Error('no'))],
  ])(
    'clears its timer when the promise %s first, so onTimeout never fires late (no stray abort)',
    async (_label, promise) => {
      // Prepare
      promise.catch(() => undefined);
      const onTimeout = jest.fn();

      // Act
      await withTimeout(promise, 500, 'request', onTimeout).catch(() => undefined);
      const timersLeft = jest.getTimerCount();
      await jest.advanceTimersByTimeAsync(10_000);

      // Assert
      expect(timersLeft).toBe(0);
      expect(onTimeout).not.toHaveBeenCalled();
    },
  );

  it.each([
    [0, 1],
    [-5, 1],
    [2.9, 2],
  ])('waits whole milliseconds, at least one: %d ms -> %d ms', async (ms, expected) => {
    // Prepare
    const result = track(withTimeout(new Promise(() => undefined), ms, 'credentials'));

    // Act
    await jest.advanceTimersByTimeAsync(expected - 1);
    const before = result.state;
    await jest.advanceTimersByTimeAsync(1);

    // Assert
    expect(before).toBe('pending');
    expect((result.value as Error).message).toBe(`credentials timed out after ${expected} ms`);
  });
});
