/**
 * Where encoded lines live (lib/bulk.ts, `encodeOperations`, `encodeLines`, `bulkBody`): a batch
 * encoded together is one contiguous region of one slab, so its request body is a view of that
 * memory rather than a copy, and operations encoded one after another share a slab instead of
 * taking a buffer each. The bytes are tested in bulk.test.ts; these tests pin the memory layout
 * the no-copy body depends on, through the public `slab`, `start` and `bytes` of each operation.
 */
import { bulkBody, encodeOperation, encodeOperations, type EncodedOperation } from '../../lib/bulk';
import type { Operation } from '../../lib/records';

/** The largest version an external version can be (2^64 - 1): 20 digits, the longest action. */
const LONGEST_VERSION = '18446744073709551615';

const indexOp = (id: string, source: string, version?: string): Operation => ({
  kind: 'index',
  position: 0,
  id,
  version,
  source,
  order: 0,
});
const deleteOp = (id: string, version?: string): Operation => ({
  kind: 'delete',
  position: 0,
  id,
  version,
  order: 0,
});

/** An ASCII operation of exactly `bytes` encoded bytes (at least FILLER_MIN). */
const FILLER_MIN = encodeOperation(indexOp('f', '')).bytes;
const filler = (bytes: number): Operation => indexOp('f', 'x'.repeat(bytes - FILLER_MIN));

/** Room left in the slab an operation was just written to. */
const roomAfter = (e: EncodedOperation): number => e.slab.length - (e.start + e.bytes);

/**
 * Writes filler operations until the current slab has exactly `room` bytes left (room >= 3 ×
 * FILLER_MIN), reading the slab's state from what each filler reports. A filler of f bytes stays
 * in the current slab only when 3 f bytes are left (its worst case), so the room shrinks by at
 * most a third per filler: it descends to `room + FILLER_MIN`, never landing closer than that,
 * and the smallest filler takes the rest. From a slab too full to descend, a filler too big for
 * it starts a fresh slab first.
 */
function leaveRoom(room: number): void {
  const target = room + FILLER_MIN;
  let left = roomAfter(encodeOperation(filler(FILLER_MIN)));
  for (let step = 0; left !== target; step++) {
    if (step > 100) throw new Error(`could not leave ${room} bytes of room`);
    const rest = left - target;
    let size: number;
    if (rest >= FILLER_MIN && 3 * rest <= left) size = rest;
    else if (rest >= 2 * FILLER_MIN) size = Math.min(Math.floor(left / 3), rest - FILLER_MIN);
    else size = Math.floor(left / 3) + 1 + FILLER_MIN; // too big for the room: a fresh slab
    left = roomAfter(encodeOperation(filler(size)));
  }
  if (roomAfter(encodeOperation(filler(FILLER_MIN))) !== room) throw new Error('room not left');
}

/** True when each operation's lines follow the previous one's in the same slab. */
function contiguous(encoded: readonly EncodedOperation[]): boolean {
  return encoded.every((e, i) => {
    const before = encoded[i - 1];
    return (
      before === undefined || (e.slab === before.slab && e.start === before.start + before.bytes)
    );
  });
}

const totalBytes = (encoded: readonly EncodedOperation[]): number =>
  encoded.reduce((n, e) => n + e.bytes, 0);

// ASCII batches of different shapes: the longest operation first or last; deletes with the
// longest action line; index operations with and without versions.
const batches: [string, Operation[]][] = [
  [
    'longest first',
    [
      indexOp('a-long-one', JSON.stringify({ s: 'x'.repeat(150) }), LONGEST_VERSION),
      indexOp('b', JSON.stringify({ s: 'y'.repeat(90) }), LONGEST_VERSION),
      deleteOp('c', LONGEST_VERSION),
    ],
  ],
  [
    'deletes with the longest action line, the longest last (the room estimate has no slack)',
    [
      indexOp('d0', '{"n":1}', LONGEST_VERSION),
      deleteOp('d1', LONGEST_VERSION),
      deleteOp('d2', LONGEST_VERSION),
      deleteOp('d3-with-a-longer-id-than-the-others', LONGEST_VERSION),
    ],
  ],
  [
    'growing, index and delete, some without versions',
    [
      deleteOp('e1'),
      indexOp('e2', '{"n":1}', LONGEST_VERSION),
      deleteOp('e3', LONGEST_VERSION),
      indexOp('e4', JSON.stringify({ s: 'z'.repeat(120) })),
      indexOp('e5', JSON.stringify({ s: 'w'.repeat(200) }), LONGEST_VERSION),
    ],
  ],
];

describe('encodeOperations (slab layout)', () => {
  it.each(batches)(
    'writes an ASCII batch as one contiguous region of one slab, whatever room the current slab has left (%s)',
    (_label, operations) => {
      // Prepare: every room from just too little for the first operation's worst case (3 bytes
      // a character: below that, every room is the same, a fresh slab) to more than the whole
      // batch's worst case.
      const sizes = operations.map((op) => encodeOperation(op).bytes);
      const chars = sizes.reduce((n, bytes) => n + bytes, 0);
      const split: number[] = [];

      for (let room = 3 * (sizes[0] ?? 0) - 1; room <= 3 * chars + 10; room++) {
        // Act
        leaveRoom(room);
        const encoded = encodeOperations(operations);

        // Assert (collected: one expectation per room would take far longer than the check)
        if (!contiguous(encoded)) split.push(room);
      }
      expect(split).toEqual([]);
    },
  );

  it('writes a batch into the current slab when the slab has room for its worst case', () => {
    // Prepare: room for 3 bytes per character of every line, plus some.
    const operations = batches[0]?.[1] ?? [];
    const chars = operations.reduce((n, op) => n + encodeOperation(op).bytes, 0);
    leaveRoom(3 * chars + 100);
    const last = encodeOperation(filler(FILLER_MIN));

    // Act
    const [first] = encodeOperations(operations);

    // Assert
    expect(first?.slab).toBe(last.slab);
    expect(first?.start).toBe(last.start + last.bytes);
  });
});

describe('encodeOperation (slab layout)', () => {
  it('puts operations encoded one after another into one slab, not a buffer each', () => {
    // Prepare: a current slab too full for the next operation, so it starts a new one.
    leaveRoom(3 * FILLER_MIN);
    const operation = indexOp('k', JSON.stringify({ s: 'x'.repeat(500) }), LONGEST_VERSION);

    // Act
    const first = encodeOperation(operation);
    const second = encodeOperation(operation);
    const third = encodeOperation(operation);

    // Assert
    expect(contiguous([first, second, third])).toBe(true);
  });

  it.each([
    ['ASCII', 'x'],
    ['three bytes a character', '€'],
  ])('encodes an operation larger than a slab whole (%s)', (_label, character) => {
    // Prepare: 300,000 characters, over a 256 KiB slab even as ASCII.
    const source = JSON.stringify({ s: character.repeat(300_000) });
    const operation = indexOp('big', source, LONGEST_VERSION);

    // Act
    const encoded = encodeOperation(operation);

    // Assert
    const expected = `{"index":{"_id":"big","version":${LONGEST_VERSION},"version_type":"external"}}\n${source}\n`;
    expect(encoded.lines).toBe(expected);
    expect(encoded.bytes).toBe(Buffer.byteLength(expected));
  });
});

describe('bulkBody (no copy)', () => {
  it.each([
    ['the whole batch', 0, 3],
    ['a chunk from the middle of it', 1, 3],
    ['one operation', 2, 3],
  ])(
    'is a view of the slab, not a copy, for operations encoded together (%s)',
    (_label, from, to) => {
      // Prepare
      const operations = batches[0]?.[1] ?? [];
      const chunk = encodeOperations(operations).slice(from, to);
      const first = chunk[0] as EncodedOperation;

      // Act
      const body = bulkBody(chunk);

      // Assert: the same memory, from the first operation's lines on, for the chunk's bytes.
      expect(body.buffer).toBe(first.slab.buffer);
      expect(body.byteOffset).toBe(first.slab.byteOffset + first.start);
      expect(body.length).toBe(totalBytes(chunk));
    },
  );

  it('copies operations that do not follow one another into a new buffer', () => {
    // Prepare: a retry of two operations, out of their encoded order.
    const encoded = encodeOperations(batches[0]?.[1] ?? []);
    const chunk = [encoded[2], encoded[0]] as EncodedOperation[];

    // Act
    const body = bulkBody(chunk);

    // Assert
    expect(body.buffer).not.toBe(encoded[0]?.slab.buffer);
    expect(body.toString('utf8')).toBe(chunk.map((e) => e.lines).join(''));
  });
});
