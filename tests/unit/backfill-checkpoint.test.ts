import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  defaultCheckpointPath,
  newCheckpoint,
  readCheckpoint,
  writeCheckpoint,
} from '../../lib/backfill/checkpoint';

describe('backfill checkpoint rules', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'cp-rules-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it.each([
    ['Table_1.v-2', 'tx', 'Table_1.v-2--tx.json'],
    ['a/b\\c', 'd:e*f', 'a_b_c--d_e_f.json'],
    ['AZaz09', 'äx', 'AZaz09--_x.json'],
  ])('names the file for table %j and index %j %s', (table, index, file) => {
    expect(defaultCheckpointPath(table, index, dir)).toBe(join(dir, file));
  });

  it('starts every segment from its beginning, not done', () => {
    const cp = newCheckpoint('T', 'i', 2, new Date('2026-12-02T10:00:00Z'));

    expect(cp).toEqual({
      format: 1,
      table: 'T',
      index: 'i',
      totalSegments: 2,
      startedAt: '2026-12-02T10:00:00.000Z',
      updatedAt: '2026-12-02T10:00:00.000Z',
      segments: [
        { lastKey: null, done: false, items: 0 },
        { lastKey: null, done: false, items: 0 },
      ],
    });
    expect(cp.segments[0]).not.toBe(cp.segments[1]);
  });

  const valid = { format: 1, table: 'T', index: 'i', totalSegments: 1, segments: [{}] };
  it.each([
    ['another format', { ...valid, format: 2 }],
    ['no table', { ...valid, table: 5 }],
    ['no index', { ...valid, index: null }],
    ['segments that are not a list', { ...valid, segments: { length: 1 } }],
    ['fewer segments than the total', { ...valid, totalSegments: 2 }],
  ])('refuses a file with %s', (_label, content) => {
    const path = join(dir, 'cp.json');
    writeFileSync(path, JSON.stringify(content));

    expect(() => readCheckpoint(path)).toThrow(`${path} is not a backfill checkpoint`);
  });

  it('reads a valid file as it is', () => {
    const path = join(dir, 'cp.json');
    writeFileSync(path, JSON.stringify(valid));

    expect(readCheckpoint(path)).toEqual(valid);
  });

  it('stamps the write time and leaves no temporary file behind', () => {
    // Prepare
    const path = join(dir, 'deep', 'er', 'cp.json');
    const cp = newCheckpoint('T', 'i', 1, new Date(0));

    // Act
    writeCheckpoint(path, cp, new Date('2026-12-02T11:00:00Z'));

    // Assert
    expect(cp.updatedAt).toBe('2026-12-02T11:00:00.000Z');
    expect(readdirSync(join(dir, 'deep', 'er'))).toEqual(['cp.json']);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(cp);
  });
});
