import {
  createProgress,
  formatDuration,
  rates,
  type ProgressState,
} from '../../lib/backfill/progress';

const STATE: ProgressState = {
  read: 300,
  indexed: 300,
  deadLettered: 0,
  estimatedTotal: 1000,
  segmentsDone: 1,
  totalSegments: 4,
  readBefore: 100,
};

describe('backfill progress rules', () => {
  it.each<[string, Partial<ProgressState>, number, ReturnType<typeof rates>]>([
    // 200 items read in this run over 4 s; 700 left.
    [
      'counts only items read in this run in the rate',
      {},
      4000,
      { perSecond: 50, etaSeconds: 14, fraction: 0.3 },
    ],
    [
      'has no rate before any time passed',
      {},
      0,
      { perSecond: 0, etaSeconds: undefined, fraction: 0.3 },
    ],
    [
      'never shows more than 99 % or a negative ETA while segments remain',
      { read: 1500 },
      1000,
      { perSecond: 1400, etaSeconds: 0, fraction: 0.99 },
    ],
    [
      'shows exactly 99 % at the total',
      { read: 1000, readBefore: 0 },
      1000,
      { perSecond: 1000, etaSeconds: 0, fraction: 0.99 },
    ],
    [
      'is done when every segment is',
      { segmentsDone: 4 },
      4000,
      { perSecond: 50, etaSeconds: 0, fraction: 1 },
    ],
    [
      'has no fraction without a total',
      { estimatedTotal: -1 },
      4000,
      { perSecond: 50, etaSeconds: undefined, fraction: undefined },
    ],
  ])('%s', (_label, patch, elapsedMs, expected) => {
    expect(rates({ ...STATE, ...patch }, elapsedMs)).toEqual(expected);
  });

  it.each([
    [59.4, '0:59'],
    [59.5, '1:00'],
    [3599, '59:59'],
    [3600, '1:00:00'],
    [Infinity, '--:--'],
  ])('formats %s s as %s', (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  it.each([
    [true, 199, 1],
    [true, 200, 2],
    [false, 4999, 1],
    [false, 5000, 2],
  ])('on a terminal (%s) draws again after %i ms: %i outputs', (tty, gap, count) => {
    // Prepare
    let now = 0;
    const out: string[] = [];
    const progress = createProgress({ tty, write: (t) => out.push(t), clock: () => now });

    // Act
    progress.update(STATE);
    now = gap;
    progress.update(STATE);

    // Assert
    expect(out).toHaveLength(count);
  });

  it('always writes the final state, however soon', () => {
    let now = 0;
    const out: string[] = [];
    const progress = createProgress({ tty: false, write: (t) => out.push(t), clock: () => now });

    progress.update(STATE);
    now = 1;
    progress.update({ ...STATE, segmentsDone: 4 });

    expect(out.map((line) => JSON.parse(line).segmentsDone)).toEqual([1, 4]);
  });

  it('fills the terminal bar in proportion, to the given width', () => {
    const out: string[] = [];
    const progress = createProgress({
      tty: true,
      write: (t) => out.push(t),
      clock: () => 0,
      width: 10,
    });

    progress.update(STATE);
    progress.finish();
    progress.finish();

    expect(out[0]).toMatch(/^\r\[###\.{7}\] {2}30% 300\/~1000 items/);
    expect(out[0]?.endsWith('\x1b[K')).toBe(true);
    expect(out.slice(1)).toEqual(['\n']);
  });

  it('ends no line on finish when it drew none', () => {
    const out: string[] = [];

    createProgress({ tty: false, write: (t) => out.push(t), clock: () => 0 }).finish();

    expect(out).toEqual([]);
  });
});
