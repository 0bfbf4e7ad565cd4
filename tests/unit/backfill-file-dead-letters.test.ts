import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createFileDeadLetterSink } from '../../lib/backfill/file-dead-letters';
import { DeadLetterWriteError } from '../../lib/errors';

describe('file dead letters', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'fdl-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('stores every field of the S3 object format, a letter without a source being a scan', async () => {
    // Prepare
    const sink = createFileDeadLetterSink(
      dir,
      'transactions',
      () => new Date('2026-12-02T10:20:30Z'),
    );
    const record = { table: 'T', keys: { id: { N: '7' } }, version: '5' };

    // Act
    const key = await sink.write(
      { record, errorType: 'mapper_parsing_exception', reason: 'bad amount', documentId: '7' },
      1000,
    );

    // Assert
    expect(JSON.parse(readFileSync(sink.uri(key), 'utf8'))).toEqual({
      errorType: 'mapper_parsing_exception',
      reason: 'bad amount',
      index: 'transactions',
      documentId: '7',
      failedAt: '2026-12-02T10:20:30.000Z',
      source: 'scan',
      record,
    });
    // The S3 key without a prefix (lib/dead-letter.ts): dated by the write, named by the record.
    expect(key).toMatch(/^2026\/12\/02\/10\/no-sequence-[0-9a-f]{32}\.json$/);
    expect(readdirSync(dirname(sink.uri(key)))).toEqual([key.split('/').at(-1)]);
  });

  it('is rooted at the absolute directory', () => {
    const sink = createFileDeadLetterSink('relative/dir', 'i');

    expect(sink.location).toBe(resolve('relative/dir'));
    expect(sink.uri('a/b.json')).toBe(join(resolve('relative/dir'), 'a/b.json'));
  });

  it('keeps the cause of a failed write', async () => {
    const sink = createFileDeadLetterSink(join('/dev/null', 'x'), 'i');

    const error = await sink
      .write({ record: {}, errorType: 'x', reason: 'y' }, 1000)
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(DeadLetterWriteError);
    expect((error as DeadLetterWriteError).cause).toMatchObject({ code: 'ENOTDIR' });
    expect((error as DeadLetterWriteError).status).toBeUndefined();
  });
});
