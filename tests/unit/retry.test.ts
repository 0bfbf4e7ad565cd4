import { createDeadline } from '../../lib/deadline';
import { backoffMs, limiter } from '../../lib/retry';

describe('backoffMs', () => {
  const policy = { baseMs: 100, maxMs: 1_000 };

  it.each([
    [1, 0, 50],
    [1, 1, 100],
    [2, 0, 100],
    [2, 1, 200],
    [3, 0.5, 300],
    [4, 1, 800],
    // The ceiling stops doubling at maxMs.
    [5, 1, 1_000],
    [30, 0, 500],
  ])(
    'attempt %i with random %p waits %i ms (half the ceiling plus a random half)',
    (attempt, r, expected) => {
      expect(backoffMs(attempt, policy, () => r)).toBe(expected);
    },
  );
});

describe('createDeadline', () => {
  it('gives a request its cap while the budget (remaining minus margin) allows it', () => {
    const deadline = createDeadline(() => 10_000, 1_000, 250);

    expect(deadline.timeoutFor(5_000)).toBe(5_000);
    expect(deadline.timeoutFor(20_000)).toBe(9_000);
  });

  it('starts no request when less than the minimum is left before the margin', () => {
    expect(createDeadline(() => 1_249, 1_000, 250).timeoutFor(5_000)).toBeUndefined();
    expect(createDeadline(() => 1_250, 1_000, 250).timeoutFor(5_000)).toBe(250);
  });

  it('allows a wait only if a minimum request still fits after it', () => {
    const deadline = createDeadline(() => 2_000, 1_000, 250);

    expect(deadline.canWait(750)).toBe(true);
    expect(deadline.canWait(751)).toBe(false);
  });

  it('reads the remaining time afresh on every question', () => {
    let remaining = 10_000;
    const deadline = createDeadline(() => remaining, 0, 100);

    remaining = 50;

    expect(deadline.timeoutFor(1_000)).toBeUndefined();
    expect(deadline.canWait(0)).toBe(false);
  });
});

describe('limiter', () => {
  it('never runs more than the limit at once, and runs every task', async () => {
    // Prepare
    const limit = limiter(2);
    let running = 0;
    let peak = 0;
    const task = async (): Promise<number> => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
      return 1;
    };

    // Act
    const results = await Promise.all(Array.from({ length: 7 }, () => limit(task)));

    // Assert
    expect(results).toHaveLength(7);
    expect(peak).toBe(2);
  });

  it('frees the slot of a task that throws', async () => {
    const limit = limiter(1);
    await expect(limit(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(limit(async () => 'next')).resolves.toBe('next');
  });
});
