/**
 * The backfill's checkpoint: per segment, the key after the last page that is fully done (every
 * item indexed or dead-lettered), so `--resume` continues after Ctrl-C, a crash or a kill without
 * re-reading what is done. Written after each finished page with write-to-temp-then-rename, which
 * is atomic on POSIX file systems: a kill at any moment leaves the old or the new file, never half
 * of one.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Item } from './dynamo';

export interface SegmentState {
  /** Key after the last finished page; null before the first page. */
  lastKey: Item | null;
  done: boolean;
  /** Items read (and done) so far in this segment. */
  items: number;
}

export interface Checkpoint {
  readonly format: 1;
  readonly table: string;
  readonly index: string;
  readonly totalSegments: number;
  readonly startedAt: string;
  updatedAt: string;
  readonly segments: SegmentState[];
}

export const CHECKPOINT_DIR = '.backfill';

/** `.backfill/<table>--<index>.json`, names made safe for a file name. */
export function defaultCheckpointPath(table: string, index: string, base = CHECKPOINT_DIR): string {
  const safe = (s: string): string => s.replace(/[^A-Za-z0-9._-]/g, '_');
  return join(base, `${safe(table)}--${safe(index)}.json`);
}

export function newCheckpoint(
  table: string,
  index: string,
  totalSegments: number,
  now: Date,
): Checkpoint {
  return {
    format: 1,
    table,
    index,
    totalSegments,
    startedAt: now.toISOString(),
    updatedAt: now.toISOString(),
    segments: Array.from({ length: totalSegments }, () => ({
      lastKey: null,
      done: false,
      items: 0,
    })),
  };
}

/** The checkpoint at `path`, or undefined when there is none. Throws on a corrupt file. */
export function readCheckpoint(path: string): Checkpoint | undefined {
  let text: string;
  try {
    // Stryker disable next-line StringLiteral: without the encoding readFileSync returns a Buffer, and JSON.parse reads a Buffer through its UTF-8 toString(), so the checkpoint parses the same.
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    throw error;
  }
  const parsed = JSON.parse(text) as Partial<Checkpoint>;
  if (
    parsed.format !== 1 ||
    typeof parsed.table !== 'string' ||
    typeof parsed.index !== 'string' ||
    !Array.isArray(parsed.segments) ||
    parsed.segments.length !== parsed.totalSegments
  ) {
    throw new Error(`${path} is not a backfill checkpoint`);
  }
  return parsed as Checkpoint;
}

export function writeCheckpoint(path: string, checkpoint: Checkpoint, now: Date): void {
  checkpoint.updatedAt = now.toISOString();
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify(checkpoint, null, 1));
  renameSync(temp, path);
}
