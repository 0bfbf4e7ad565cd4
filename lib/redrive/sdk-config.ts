/**
 * Configuration shared by the re-drive's AWS SDK clients (SQS, DynamoDB Streams, Kinesis): region,
 * a local endpoint, and the project's credential provider (lib/credentials.ts) in the SDK's form.
 */
import type { CredentialProvider } from '../credentials';

export interface SdkClientOptions {
  readonly region: string;
  /** AWS_ENDPOINT_URL_<SERVICE>: a local endpoint. */
  readonly endpoint: URL | undefined;
  /** Absent: the SDK's default chain. */
  readonly credentials?: CredentialProvider | undefined;
}

interface SdkCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}

export function sdkClientConfig(
  region: string,
  options: Omit<SdkClientOptions, 'region'>,
): {
  region: string;
  endpoint?: string;
  credentials?: () => Promise<SdkCredentials>;
} {
  const provider = options.credentials;
  return {
    region,
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint.origin }),
    ...(provider === undefined
      ? {}
      : {
          credentials: async () => {
            const c = await provider();
            return {
              accessKeyId: c.accessKeyId,
              secretAccessKey: c.secretAccessKey,
              ...(c.sessionToken === undefined ? {} : { sessionToken: c.sessionToken }),
              ...(c.expiration === undefined ? {} : { expiration: c.expiration }),
            };
          },
        }),
  };
}
