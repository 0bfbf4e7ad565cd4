/**
 * Dead letters in a local directory, for a backfill run without DEAD_LETTER_BUCKET. A Lambda
 * without a bucket reports rejected records back to Lambda, whose retry limit ends it; a backfill
 * has no such limit, so a rejected item would be retried forever. It is kept here instead, in the
 * same object format and under the same key as in S3 (lib/dead-letter.ts), so it can be replayed
 * the same way.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { deadLetterKey, type DeadLetterSink } from '../dead-letter';
import { DeadLetterWriteError, describeError } from '../errors';

export function createFileDeadLetterSink(
  directory: string,
  index: string,
  now: () => Date = () => new Date(),
): DeadLetterSink {
  const root = resolve(directory);
  return {
    location: root,
    async write(letter) {
      const failedAt = now();
      const key = deadLetterKey('', letter.record, failedAt, letter.identity);
      const path = join(root, key);
      const body = JSON.stringify({
        errorType: letter.errorType,
        reason: letter.reason,
        index,
        documentId: letter.documentId,
        failedAt: failedAt.toISOString(),
        source: letter.source ?? 'scan',
        record: letter.record,
      });
      try {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(`${path}.tmp`, body);
        await rename(`${path}.tmp`, path);
      } catch (error) {
        throw new DeadLetterWriteError(undefined, describeError(error), { cause: error });
      }
      return key;
    },
    uri: (key) => join(root, key),
  };
}
