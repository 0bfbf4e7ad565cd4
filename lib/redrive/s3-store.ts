/**
 * The dead-letter bucket for an operator's re-drive, through @aws-sdk/client-s3 (the handler
 * itself writes with one signed PutObject and never loads this). Credentials come from the SDK's
 * default chain; AWS_ENDPOINT_URL_S3 (a local S3-compatible server) is addressed path-style, as the
 * handler does.
 */
import {
  CopyObjectCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { StoreUnavailableError, type DeadLetterStore } from './store';

export interface S3StoreOptions {
  readonly bucket: string;
  readonly region: string;
  readonly endpoint: URL | undefined;
  readonly client?: S3Client;
}

export function createS3Store(options: S3StoreOptions): DeadLetterStore & { close(): void } {
  const client =
    options.client ??
    new S3Client({
      region: options.region,
      ...(options.endpoint === undefined
        ? {}
        : { endpoint: options.endpoint.origin, forcePathStyle: true }),
    });
  const Bucket = options.bucket;
  return {
    location: `s3://${Bucket}/`,
    async *list(prefix) {
      let ContinuationToken: string | undefined;
      do {
        let page;
        try {
          page = await client.send(
            new ListObjectsV2Command({ Bucket, Prefix: prefix, ContinuationToken }),
          );
        } catch (error) {
          // NoSuchBucket, AccessDenied: nothing can be re-driven from here.
          const code = error instanceof S3ServiceException ? error.name : undefined;
          throw new StoreUnavailableError(
            `cannot list s3://${Bucket}/${prefix}: ${code ?? (error as Error).message}`,
            { cause: error },
          );
        }
        // Stryker disable next-line ArrayDeclaration: a made-up entry in place of no contents has no Key, so the check below skips it as it skips any such entry.
        for (const object of page.Contents ?? []) {
          if (object.Key !== undefined) yield object.Key;
        }
        ContinuationToken = page.IsTruncated === true ? page.NextContinuationToken : undefined;
      } while (ContinuationToken !== undefined);
    },
    async get(key) {
      const answer = await client.send(new GetObjectCommand({ Bucket, Key: key }));
      if (answer.Body === undefined) throw new Error(`GetObject ${key} returned no body`);
      return answer.Body.transformToString('utf8');
    },
    async put(key, body) {
      await client.send(
        new PutObjectCommand({ Bucket, Key: key, Body: body, ContentType: 'application/json' }),
      );
    },
    async move(from, to) {
      await client.send(
        new CopyObjectCommand({ Bucket, Key: to, CopySource: copySource(Bucket, from) }),
      );
      await client.send(new DeleteObjectCommand({ Bucket, Key: from }));
    },
    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: key }));
    },
    close: () => client.destroy(),
  };
}

/** CopySource is `bucket/key` with the key URL-encoded (S3 API reference, CopyObject). */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}
