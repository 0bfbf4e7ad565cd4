import fc from 'fast-check';
import {
  bulkBody,
  chunkByBytes,
  classifyItem,
  classifyRequestFailure,
  encodeOperation,
  encodeOperations,
  ITEM_RULES,
  type ItemOutcome,
} from '../../lib/bulk';
import type { Operation } from '../../lib/records';
import { item, parseBulkBody } from './factories';

const VERSION = '3650722201600000001';
const indexOp = (id: string, source = '{"a":1}', version: string | null = VERSION): Operation => ({
  kind: 'index',
  position: 0,
  id,
  version: version ?? undefined,
  source,
  order: 0,
});
const deleteOp = (id: string, version: string | null = VERSION): Operation => ({
  kind: 'delete',
  position: 0,
  id,
  version: version ?? undefined,
  order: 0,
});

describe('encodeOperation', () => {
  it('writes an index action line and the document line, each ending in a newline', () => {
    // Act
    const encoded = encodeOperation(indexOp('3|51', '{"amount":9007199254740993}'));

    // Assert
    expect(encoded.lines).toBe(
      '{"index":{"_id":"3|51","version":3650722201600000001,"version_type":"external"}}\n{"amount":9007199254740993}\n',
    );
  });

  it('writes a delete as a single action line ending in a newline', () => {
    const encoded = encodeOperation(deleteOp('3|51'));

    expect(encoded.lines).toBe(
      '{"delete":{"_id":"3|51","version":3650722201600000001,"version_type":"external"}}\n',
    );
  });

  it.each([
    ['index', indexOp('k', '{}', null)],
    ['delete', deleteOp('k', null)],
  ])('leaves out every version field for %s when versioning is off', (_kind, op) => {
    // Act
    const [action] = parseBulkBody(encodeOperation(op).lines);

    // Assert
    expect(action?.metaKeys).toEqual(['_id']);
  });

  it('never names the index in the action (requests go to /<index>/_bulk)', () => {
    const [action] = parseBulkBody(encodeOperation(indexOp('k')).lines);

    expect(action?.metaKeys).toEqual(['_id', 'version', 'version_type']);
    expect(action?.versionType).toBe('external');
  });

  it('escapes ids in the action line', () => {
    const [action] = parseBulkBody(encodeOperation(deleteOp('a"b\\c|d')).lines);

    expect(action?.id).toBe('a"b\\c|d');
  });

  it.each([
    ['ASCII', '{"s":"abc"}'],
    ['two-byte', '{"s":"ééé"}'],
    ['four-byte', '{"s":"😀😀"}'],
  ])('counts UTF-8 bytes, not characters (%s)', (_label, source) => {
    const encoded = encodeOperation(indexOp('ü', source));

    expect(encoded.bytes).toBe(Buffer.byteLength(encoded.lines, 'utf8'));
    expect(encoded.bytes).toBeGreaterThanOrEqual(encoded.lines.length);
  });
});

describe('chunkByBytes', () => {
  const sized = (bytes: number, tag: number): { bytes: number; tag: number } => ({ bytes, tag });

  it('packs items in order into chunks of at most maxBytes', () => {
    // Prepare
    const items = [sized(40, 0), sized(40, 1), sized(30, 2), sized(100, 3), sized(1, 4)];

    // Act
    const chunks = chunkByBytes(items, 100);

    // Assert
    expect(chunks.map((c) => c.map((i) => i.tag))).toEqual([[0, 1], [2], [3], [4]]);
  });

  it('keeps items that exactly fill maxBytes in one chunk', () => {
    const chunks = chunkByBytes([sized(60, 0), sized(40, 1), sized(1, 2)], 100);

    expect(chunks.map((c) => c.map((i) => i.tag))).toEqual([[0, 1], [2]]);
  });

  it('gives an item larger than the limit a chunk of its own', () => {
    const chunks = chunkByBytes([sized(10, 0), sized(500, 1), sized(10, 2)], 100);

    expect(chunks.map((c) => c.map((i) => i.tag))).toEqual([[0], [1], [2]]);
  });

  it('returns no chunks for no items', () => {
    expect(chunkByBytes([], 100)).toEqual([]);
  });

  it('never exceeds the limit unless one item alone does, and preserves order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 60 }),
        fc.integer({ min: 1, max: 400 }),
        (sizes, max) => {
          const items = sizes.map((bytes, tag) => sized(bytes, tag));
          const chunks = chunkByBytes(items, max);
          const flat = chunks.flat().map((i) => i.tag);
          const total = (c: readonly { bytes: number }[]): number =>
            c.reduce((n, i) => n + i.bytes, 0);
          return (
            flat.join(',') === items.map((i) => i.tag).join(',') &&
            chunks.every((c) => c.length > 0 && (total(c) <= max || c.length === 1))
          );
        },
      ),
    );
  });
});

describe('bulkBody', () => {
  it('joins the encoded lines of a chunk into NDJSON ending with a newline', () => {
    // Prepare
    const chunk = [encodeOperation(indexOp('a')), encodeOperation(deleteOp('b'))];

    // Act
    const body = bulkBody(chunk).toString('utf8');

    // Assert
    expect(body.endsWith('\n')).toBe(true);
    expect(body.split('\n')).toHaveLength(4);
    expect(parseBulkBody(body).map((a) => `${a.action}:${a.id}`)).toEqual(['index:a', 'delete:b']);
  });

  const operations = (): Operation[] => [
    indexOp('a', '{"s":"é"}'),
    deleteOp('b'),
    indexOp('c\u0001', '{"s":"😀"}', '18446744073709551615'),
    indexOp('d', '{}', null),
  ];

  it.each([
    ['every operation, encoded together', [0, 1, 2, 3]],
    ['a retry of some of them, out of their encoded order', [3, 1]],
    ['one of them', [2]],
  ])("is the chunk's lines in order, byte for byte (%s)", (_label, picked) => {
    // Prepare
    const encoded = encodeOperations(operations());
    const chunk = picked.map((i) => encoded[i] as (typeof encoded)[number]);

    // Act
    const body = bulkBody(chunk);

    // Assert
    expect(body.toString('utf8')).toBe(chunk.map((e) => e.lines).join(''));
    expect(body.length).toBe(chunk.reduce((n, e) => n + e.bytes, 0));
  });

  it('is the same for operations encoded together or one by one', () => {
    const together = bulkBody(encodeOperations(operations()));
    const oneByOne = bulkBody(operations().map(encodeOperation));

    expect(together.equals(oneByOne)).toBe(true);
  });

  it('is an empty body for an empty chunk', () => {
    expect(bulkBody([]).length).toBe(0);
  });

  it('encodes batches larger than a slab, in order (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string({ unit: 'binary', maxLength: 40 }), fc.nat(70_000)), {
          maxLength: 12,
        }),
        (specs) => {
          const ops = specs.map(([id, pad], i) =>
            i % 3 === 2
              ? deleteOp(`${id}${i}`)
              : indexOp(`${id}${i}`, JSON.stringify('x'.repeat(pad) + id)),
          );
          const encoded = encodeOperations(ops);
          const expected = ops.map((op) => encodeOperation(op).lines).join('');
          return bulkBody(encoded).toString('utf8') === expected;
        },
      ),
      { numRuns: 30 },
    );
  });
});

describe('classifyItem (the outcome table)', () => {
  type Row = [string, number, string | undefined, Operation['kind'], boolean, ItemOutcome];
  it.each<Row>([
    ['indexed', 200, undefined, 'index', true, 'done'],
    ['created', 201, undefined, 'index', true, 'done'],
    ['deleted', 200, undefined, 'delete', true, 'done'],
    ['delete of a missing document', 404, undefined, 'delete', true, 'done'],
    ['delete of a missing document, unversioned', 404, undefined, 'delete', false, 'done'],
    ['index answered 404', 404, undefined, 'index', true, 'reject'],
    [
      'stale version under external versioning',
      409,
      'version_conflict_engine_exception',
      'index',
      true,
      'done',
    ],
    [
      'stale delete under external versioning',
      409,
      'version_conflict_engine_exception',
      'delete',
      true,
      'done',
    ],
    ['409 without versioning', 409, 'version_conflict_engine_exception', 'index', false, 'reject'],
    ['throttled', 429, 'es_rejected_execution_exception', 'index', true, 'retry'],
    ['500', 500, undefined, 'index', true, 'retry'],
    ['502', 502, undefined, 'delete', true, 'retry'],
    ['503', 503, undefined, 'index', true, 'retry'],
    ['401', 401, undefined, 'index', true, 'retry'],
    ['403', 403, 'security_exception', 'index', true, 'retry'],
    ['408', 408, undefined, 'index', true, 'retry'],
    [
      'index_not_found_exception on index',
      404,
      'index_not_found_exception',
      'index',
      true,
      'retry',
    ],
    ['cluster_block_exception', 403, 'cluster_block_exception', 'index', true, 'retry'],
    ['cluster_block_exception with 429', 429, 'cluster_block_exception', 'delete', true, 'retry'],
    ['mapper_parsing_exception', 400, 'mapper_parsing_exception', 'index', true, 'reject'],
    ['illegal_argument_exception', 400, 'illegal_argument_exception', 'index', true, 'reject'],
    ['status 0 (missing)', 0, undefined, 'index', true, 'retry'],
    ['status 0 on delete', 0, undefined, 'delete', true, 'retry'],
    ['a 3xx', 302, undefined, 'index', true, 'retry'],
    // The edges of each status class.
    ['the last 2xx on index', 299, undefined, 'index', true, 'done'],
    ['the last 2xx on delete', 299, undefined, 'delete', true, 'done'],
    ['the first 3xx on index', 300, undefined, 'index', true, 'retry'],
    ['the first 3xx on delete', 300, undefined, 'delete', true, 'retry'],
    ['the last 1xx on index', 199, undefined, 'index', true, 'retry'],
    ['the last 1xx on delete', 199, undefined, 'delete', true, 'retry'],
    ['the last 3xx', 399, undefined, 'delete', true, 'retry'],
    ['the last 4xx', 499, undefined, 'index', true, 'reject'],
    ['the last 5xx', 599, undefined, 'index', true, 'retry'],
    ['409 on delete without versioning', 409, undefined, 'delete', false, 'reject'],
    [
      '404 on delete from a missing index',
      404,
      'index_not_found_exception',
      'delete',
      true,
      'done',
    ],
  ])(
    '%s: %d %s on %s (versioned %s) -> %s',
    (_label, status, errorType, kind, versioned, outcome) => {
      expect(classifyItem(item(status, errorType), kind, versioned).outcome).toBe(outcome);
    },
  );

  it.each([
    [200, 'index', 'indexed'],
    [201, 'index', 'indexed'],
    [200, 'delete', 'deleted'],
    [404, 'delete', 'not-found'],
    [409, 'index', 'stale'],
    [429, 'index', 'throttled'],
    [503, 'index', 'unavailable'],
    [403, 'index', 'blocked'],
    [400, 'index', 'rejected'],
    [0, 'index', 'unknown'],
  ] as const)('labels %d on %s as %s', (status, kind, label) => {
    expect(classifyItem(item(status), kind, true).label).toBe(label);
  });

  // Each row must hold on its own, so that reordering the table cannot silently turn a 5xx into
  // a rejection (dead letter) or a 4xx into a retry.
  it.each([
    ['rejected', 400, true],
    ['rejected', 499, true],
    ['rejected', 399, false],
    ['rejected', 500, false],
    ['unavailable', 500, true],
    ['unavailable', 599, true],
    ['unavailable', 499, false],
  ] as const)('the %s row, read alone, matches %d: %s', (label, status, matches) => {
    const rule = ITEM_RULES.find((r) => r.label === label);

    expect(rule?.when(item(status), 'index', true, undefined)).toBe(matches);
  });

  it('retries a cluster block whatever status carries it (the cluster state, not the record)', () => {
    // Prepare: a status the other rows would reject, so only the error type can save it.
    const blocked = item(400, 'cluster_block_exception', 'index [t] blocked by: [FORBIDDEN/8]');

    // Act
    const verdict = classifyItem(blocked, 'index', true);

    // Assert
    expect(verdict).toMatchObject({ label: 'blocked', outcome: 'retry' });
  });

  describe('the wrapped row (re-send above the stored version)', () => {
    // Same second; our tiebreak 5 is 6 ahead of the stored 2^31 - 1 modulo 2^31: a wrap.
    const second = 1_700_000_000n;
    const stored = (second << 31n) + 2n ** 31n - 1n;
    const ours = ((second << 31n) + 5n).toString();
    const quoting = `[3|51]: version conflict, current version [${stored}] is higher or equal to the one provided [${ours}]`;

    it.each<[string, number, boolean, string | undefined, string, ItemOutcome]>([
      ['a versioned 409 quoting a version ours overtakes', 409, true, ours, 'wrapped', 'resend'],
      ['the same 409 without versioning', 409, false, ours, 'rejected', 'reject'],
      [
        'the same 409 for a change whose tiebreak cannot wrap',
        409,
        true,
        undefined,
        'stale',
        'done',
      ],
      ['a 500 whose reason quotes a version', 500, true, ours, 'unavailable', 'retry'],
      ['a 400 whose reason quotes a version', 400, true, ours, 'rejected', 'reject'],
    ])('%s -> %s', (_label, status, versioned, version, label, outcome) => {
      // Act
      const verdict = classifyItem(
        item(status, 'version_conflict_engine_exception', quoting),
        'index',
        versioned,
        version,
      );

      // Assert
      expect(verdict).toMatchObject({ label, outcome });
    });
  });

  it('ends ITEM_RULES with a catch-all that retries, so no status is ever guessed done', () => {
    const last = ITEM_RULES[ITEM_RULES.length - 1];

    expect(last).toMatchObject({ label: 'unknown', outcome: 'retry' });
    expect(last?.when(item(-1), 'index', true, undefined)).toBe(true);
  });
});

describe('classifyRequestFailure', () => {
  it('splits on 413', () => {
    expect(classifyRequestFailure(413)).toBe('split');
  });

  it.each([undefined, 400, 401, 403, 404, 429, 500, 502, 503, 504])('retries on %s', (status) => {
    expect(classifyRequestFailure(status)).toBe('retry');
  });
});
