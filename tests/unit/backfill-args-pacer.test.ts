import { integerOption, parseArgs } from '../../lib/backfill/args';
import { createPacer } from '../../lib/backfill/pacer';

describe('parseArgs option rules', () => {
  const VALUED = ['table', 'segments'];
  const FLAGS = ['resume'];

  it.each<[string, string[], Record<string, string>, string[], string[]]>([
    ['a value after "=" that starts with --', ['--table=--x'], { table: '--x' }, [], []],
    ['an empty value after "="', ['--table='], { table: '' }, [], []],
    ['a value containing "="', ['--table=a=b'], { table: 'a=b' }, [], []],
    [
      'an option where a value should be, which is then read as an option',
      ['--table', '--resume'],
      {},
      ['resume'],
      ['--table needs a value'],
    ],
    [
      'a later value replacing an earlier one',
      ['--table', 'A', '--table', 'B'],
      { table: 'B' },
      [],
      [],
    ],
    ['a name that starts with a digit', ['--1x'], {}, [], ['unexpected argument "--1x"']],
    [
      'an upper-case name',
      ['--Table', 'T'],
      {},
      [],
      ['unexpected argument "--Table"', 'unexpected argument "T"'],
    ],
    [
      'a name with more after it',
      ['--resume_x', '--table1=T'],
      {},
      [],
      ['unexpected argument "--resume_x"', 'unexpected argument "--table1=T"'],
    ],
    ['a single dash', ['-t'], {}, [], ['unexpected argument "-t"']],
    ['text before the dashes', ['x--table'], {}, [], ['unexpected argument "x--table"']],
    ['a flag given a value', ['--resume=yes'], {}, [], ['unknown option --resume']],
    ['a hyphenated name', ['--max-rate=5'], {}, [], ['unknown option --max-rate']],
  ])('handles %s', (_label, argv, values, flags, problems) => {
    // Act
    const args = parseArgs(argv, VALUED, FLAGS);

    // Assert
    expect(args).toEqual({ values, flags: new Set(flags), problems });
  });
});

describe('integerOption bounds', () => {
  it.each<[string, number | undefined]>([
    ['2', 2],
    ['10', 10],
    ['1', undefined],
    ['11', undefined],
    ['5.0', undefined],
    ['1e1', undefined],
    [' 5', undefined],
    ['5 ', undefined],
  ])('--segments=%j in [2, 10] reads as %p', (raw, expected) => {
    // Prepare
    const problems: string[] = [];

    // Act
    const value = integerOption(
      parseArgs([`--segments=${raw}`], ['segments'], []),
      'segments',
      2,
      10,
      problems,
    );

    // Assert
    expect(value).toBe(expected);
    expect(problems).toEqual(
      expected === undefined ? [`--segments must be an integer from 2 to 10 (got "${raw}")`] : [],
    );
  });
});

describe('createPacer rules', () => {
  function paced(options: { maxRate?: number; minPauseMs?: number; maxPauseMs?: number } = {}) {
    let now = 0;
    const waits: number[] = [];
    const pacer = createPacer({
      ...options,
      clock: () => now,
      sleep: async (ms) => void waits.push(ms),
    });
    return { pacer, waits, at: (ms: number) => (now = ms) };
  }

  it('does not sleep when there is nothing to wait for', async () => {
    const { pacer, waits } = paced({ maxRate: 100 });

    await pacer.before();
    pacer.after(0);
    await pacer.before();

    expect(waits).toEqual([]);
  });

  it('adds the adaptive pause to the rate wait', async () => {
    // Prepare
    const { pacer, waits } = paced({ maxRate: 10, minPauseMs: 100 });

    // Act
    pacer.after(1); // 100 ms of the rate
    pacer.throttled(); // pause 100 ms
    await pacer.before();

    // Assert
    expect(waits).toEqual([200]);
  });

  it('counts the rate from now when the previous allowance has passed, not from the past', async () => {
    // Prepare
    const { pacer, waits, at } = paced({ maxRate: 10 });
    pacer.after(1); // next at 100
    at(5000);

    // Act
    pacer.after(1); // next at 5100, not 200
    await pacer.before();

    // Assert
    expect(waits).toEqual([100]);
  });

  it('treats a maximum rate of 0 as no limit', async () => {
    const { pacer, waits } = paced({ maxRate: 0 });

    pacer.after(1000);
    await pacer.before();

    expect(waits).toEqual([]);
  });

  it('pauses 50 ms after a first throttle and at most 5 s by default', () => {
    const { pacer } = paced();

    pacer.throttled();
    const first = pacer.pauseMs;
    for (let i = 0; i < 10; i++) pacer.throttled();

    expect([first, pacer.pauseMs]).toEqual([50, 5_000]);
  });

  it('halves the pause after a page, and drops it once it is down to the minimum', () => {
    // Prepare
    const { pacer } = paced({ minPauseMs: 100, maxPauseMs: 1000 });
    pacer.throttled();
    pacer.throttled();
    pacer.throttled(); // 400

    // Act
    const seen: number[] = [];
    for (let i = 0; i < 4; i++) {
      pacer.after(1);
      seen.push(pacer.pauseMs);
    }

    // Assert: 400 -> 200 -> 100 -> 0 (at the minimum) -> 0
    expect(seen).toEqual([200, 100, 0, 0]);
  });

  it('rounds a halved pause down to whole milliseconds', () => {
    // Prepare: 10 -> 20 -> 40 -> 75 (the cap)
    const { pacer } = paced({ minPauseMs: 10, maxPauseMs: 75 });
    for (let i = 0; i < 4; i++) pacer.throttled();

    // Act
    pacer.after(1);

    // Assert
    expect(pacer.pauseMs).toBe(37);
  });
});
