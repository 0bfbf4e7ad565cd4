import { IndexerError } from '../errors';

/**
 * What a dead-letter re-drive needs of the bucket. The S3 implementation is in s3-store.ts; tests
 * pass an in-memory one.
 */
export interface DeadLetterStore {
  /** `s3://bucket/` for reports. */
  readonly location: string;
  /** Keys under `prefix`, in the store's order (S3: UTF-8 binary order), page by page. */
  list(prefix: string): AsyncIterable<string>;
  /** The object's text; rejects when it cannot be read. */
  get(key: string): Promise<string>;
  put(key: string, body: string): Promise<void>;
  /** Copies `from` to `to`, then deletes `from`. */
  move(from: string, to: string): Promise<void>;
  delete(key: string): Promise<void>;
}

/** A store that cannot be used at all (e.g. the bucket does not exist). */
export class StoreUnavailableError extends IndexerError {
  override name = 'StoreUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}
