import { createProgress } from '../../lib/redrive/progress';

/** ANSI: carriage return, then "erase entire line" (ECMA-48 EL with parameter 2). */
const ERASE = '\r\x1b[2K';

function terminal(columns?: number) {
  const out: string[] = [];
  let now = 0;
  return {
    out,
    at: (ms: number) => (now = ms),
    stream: {
      write: (text: string) => out.push(text),
      ...(columns === undefined ? {} : { columns }),
    },
    clock: () => now,
  };
}

describe('redrive progress line', () => {
  it('rewrites the line in place, at most once per interval, and erases it when done', () => {
    // Prepare
    const t = terminal(80);
    const progress = createProgress(t.stream, t.clock, 100);

    // Act
    t.at(1000);
    progress.update('a');
    t.at(1099);
    progress.update('b'); // within the interval: not drawn yet
    t.at(1100);
    progress.update('c');
    progress.done();

    // Assert
    expect(t.out).toEqual([`${ERASE}a`, `${ERASE}c`, ERASE]);
  });

  it('draws the last update it skipped before erasing the line', () => {
    const t = terminal(80);
    const progress = createProgress(t.stream, t.clock, 100);

    t.at(1000);
    progress.update('a');
    progress.update('b');
    progress.done();

    expect(t.out).toEqual([`${ERASE}a`, `${ERASE}b`, ERASE]);
  });

  it('writes nothing when nothing was shown', () => {
    const t = terminal(80);

    createProgress(t.stream, t.clock, 100).done();

    expect(t.out).toEqual([]);
  });

  it('erases a line only once', () => {
    const t = terminal(80);
    const progress = createProgress(t.stream, t.clock, 100);

    progress.update('a');
    progress.done();
    progress.done();

    expect(t.out).toEqual([`${ERASE}a`, ERASE]);
  });

  it.each([
    // One column is kept free so the cursor never wraps to a new line.
    ['fits a terminal of 31 columns in 30 characters', 31, 'x'.repeat(30), 'x'.repeat(30)],
    ['cuts a longer text with an ellipsis', 31, 'x'.repeat(31), 'x'.repeat(29) + '…'],
    ['never draws narrower than 20 characters', 5, 'y'.repeat(25), 'y'.repeat(19) + '…'],
    [
      'assumes 80 columns when the stream does not say',
      undefined,
      'z'.repeat(100),
      'z'.repeat(78) + '…',
    ],
    ['leaves a text of exactly the width alone', undefined, 'w'.repeat(79), 'w'.repeat(79)],
  ])('%s', (_label, columns, text, drawn) => {
    const t = terminal(columns);

    createProgress(t.stream, t.clock, 100).update(text);

    expect(t.out).toEqual([`${ERASE}${drawn}`]);
  });

  it('draws at once on the first update, and by default ten times a second', () => {
    const t = terminal(80);
    const progress = createProgress(t.stream, t.clock);

    t.at(0);
    progress.update('a');
    t.at(99);
    progress.update('b');
    t.at(100);
    progress.update('c');

    expect(t.out).toEqual([`${ERASE}a`, `${ERASE}c`]);
  });
});
