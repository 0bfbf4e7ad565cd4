/**
 * Errors carry data and their cause, so a log line or a dead-letter object can say exactly
 * what went wrong without parsing messages.
 */
export class IndexerError extends Error {
  override name = 'IndexerError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** One error naming every bad environment variable, thrown once at cold start. */
export class ConfigError extends IndexerError {
  override name = 'ConfigError';
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
  }
}

/**
 * A stream record that cannot become an operation: no `dynamodb`, no `Keys`, an unknown
 * `eventName`, an INSERT/MODIFY without `NewImage`, or an attribute value that is not valid
 * DynamoDB JSON. Such records are dead-lettered, never retried.
 */
export class MalformedRecordError extends IndexerError {
  override name = 'MalformedRecordError';
  constructor(
    readonly errorType: string,
    reason: string,
  ) {
    super(reason);
  }
}

/** A whole `_bulk` request failed: a connection error, a timeout or a non-2xx HTTP status. */
export class BulkRequestError extends IndexerError {
  override name = 'BulkRequestError';
  constructor(
    readonly status: number | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`bulk request failed${status ? ` with HTTP ${status}` : ''}: ${detail}`, options);
  }
}

/** Writing a dead letter to S3 failed; the record stays "not done" and is reported to Lambda. */
export class DeadLetterWriteError extends IndexerError {
  override name = 'DeadLetterWriteError';
  constructor(
    readonly status: number | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`dead-letter write failed${status ? ` with HTTP ${status}` : ''}: ${detail}`, options);
  }
}

/**
 * The earliest record that is not done has no usable identifier, and neither has any record before
 * it: an empty or missing `itemIdentifier` would fail the whole batch anyway (Lambda's rule), so
 * the handler throws instead and Lambda retries (and bisects) the batch.
 */
export class UnreportableFailureError extends IndexerError {
  override name = 'UnreportableFailureError';
  constructor(readonly position: number) {
    super(
      `record ${position} failed and no record at or before it has a usable identifier; ` +
        'failing the whole batch so Lambda retries it',
    );
  }
}

/** A short, log-safe description of any thrown value (never the document, never credentials). */
export function describeError(error: unknown): string {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
