/**
 * AWS credentials: the SDK's default provider chain (`@aws-sdk/credential-provider-node`), with
 * its first link done inline.
 *
 * The chain's first link is `fromEnv` (skipped when AWS_PROFILE is set), and on Lambda it always
 * answers: the runtime puts the function role's credentials in AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN. Reading them here gives the same credentials the
 * chain would, without loading the rest of the chain (SSO, INI, process, web identity, IMDS and
 * their nested STS/SSO clients): that is about 350 KB of bundled code, most of the handler's
 * cold-start load time. Anywhere else (a laptop with a profile, SSO, a container), the full chain
 * is loaded on first use and memoizes and refreshes credentials as usual.
 */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
  readonly expiration?: Date | undefined;
}
export type CredentialProvider = () => Promise<AwsCredentials>;

type Env = Readonly<Record<string, string | undefined>>;

const loadDefaultChain = async (): Promise<CredentialProvider> => {
  const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
  return defaultProvider() as CredentialProvider;
};

/** The chain's `fromEnv` link: static keys from the environment, or undefined. */
export function environmentCredentials(env: Env): AwsCredentials | undefined {
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (env.AWS_PROFILE || !accessKeyId || !secretAccessKey) return undefined;
  const expiry = env.AWS_CREDENTIAL_EXPIRATION
    ? new Date(env.AWS_CREDENTIAL_EXPIRATION)
    : undefined;
  return {
    accessKeyId,
    secretAccessKey,
    ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
    ...(expiry && !Number.isNaN(expiry.getTime()) ? { expiration: expiry } : {}),
  };
}

/** A provider that answers from the environment, else from the SDK's default chain. */
export function defaultCredentials(
  env: Env = process.env,
  loadChain: () => Promise<CredentialProvider> = loadDefaultChain,
): CredentialProvider {
  let chain: Promise<CredentialProvider> | undefined;
  return async () => {
    const fromEnv = environmentCredentials(env);
    if (fromEnv !== undefined) return fromEnv;
    chain ??= loadChain().catch((error: unknown) => {
      chain = undefined; // let the next call try again
      throw error;
    });
    return (await chain)();
  };
}
