import { defaultCredentials, environmentCredentials } from '../../lib/credentials';
import type { AwsCredentials, CredentialProvider } from '../../lib/credentials';

const KEYS = { AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'secret-env' };

describe('environmentCredentials', () => {
  it.each<[string, Record<string, string | undefined>, AwsCredentials | undefined]>([
    ['static keys', KEYS, { accessKeyId: 'AKIDENV', secretAccessKey: 'secret-env' }],
    [
      'keys with a session token',
      { ...KEYS, AWS_SESSION_TOKEN: 'tok' },
      { accessKeyId: 'AKIDENV', secretAccessKey: 'secret-env', sessionToken: 'tok' },
    ],
    [
      'keys with an expiration',
      { ...KEYS, AWS_CREDENTIAL_EXPIRATION: '2030-01-01T00:00:00Z' },
      {
        accessKeyId: 'AKIDENV',
        secretAccessKey: 'secret-env',
        expiration: new Date('2030-01-01T00:00:00Z'),
      },
    ],
    [
      'keys with an unparseable expiration (ignored)',
      { ...KEYS, AWS_CREDENTIAL_EXPIRATION: 'someday' },
      { accessKeyId: 'AKIDENV', secretAccessKey: 'secret-env' },
    ],
    [
      'an empty session token (ignored)',
      { ...KEYS, AWS_SESSION_TOKEN: '' },
      { accessKeyId: 'AKIDENV', secretAccessKey: 'secret-env' },
    ],
    ['no access key', { AWS_SECRET_ACCESS_KEY: 'secret-env' }, undefined],
    ['no secret key', { AWS_ACCESS_KEY_ID: 'AKIDENV' }, undefined],
    ['an empty access key', { ...KEYS, AWS_ACCESS_KEY_ID: '' }, undefined],
    ['AWS_PROFILE set (the SDK skips fromEnv then)', { ...KEYS, AWS_PROFILE: 'dev' }, undefined],
    ['nothing', {}, undefined],
  ])('reads %s', (_label, env, expected) => {
    expect(environmentCredentials(env)).toEqual(expected);
  });
});

describe('defaultCredentials', () => {
  it('answers from the environment without loading the SDK chain', async () => {
    // Prepare
    const loadChain = jest.fn<Promise<CredentialProvider>, []>();

    // Act
    const credentials = await defaultCredentials(KEYS, loadChain)();

    // Assert
    expect(credentials).toEqual({ accessKeyId: 'AKIDENV', secretAccessKey: 'secret-env' });
    expect(loadChain).not.toHaveBeenCalled();
  });

  it('loads the SDK chain once, on first use, when the environment has no keys', async () => {
    // Prepare
    const chain = jest.fn(async (): Promise<AwsCredentials> => ({
      accessKeyId: 'AKIDCHAIN',
      secretAccessKey: 's',
    }));
    const loadChain = jest.fn(async () => chain);
    const provider = defaultCredentials({}, loadChain);

    // Act
    const first = await provider();
    const second = await provider();

    // Assert
    expect(first.accessKeyId).toBe('AKIDCHAIN');
    expect(second.accessKeyId).toBe('AKIDCHAIN');
    expect(loadChain).toHaveBeenCalledTimes(1);
    expect(chain).toHaveBeenCalledTimes(2);
  });

  it('tries to load the chain again after a failed load', async () => {
    // Prepare
    const loadChain = jest
      .fn<Promise<CredentialProvider>, []>()
      .mockRejectedValueOnce(new Error('module not found'))
      .mockResolvedValueOnce(async () => ({ accessKeyId: 'AKIDLATER', secretAccessKey: 's' }));
    const provider = defaultCredentials({}, loadChain);

    // Act
    const first = provider();
    await expect(first).rejects.toThrow('module not found');
    const second = await provider();

    // Assert
    expect(second.accessKeyId).toBe('AKIDLATER');
    expect(loadChain).toHaveBeenCalledTimes(2);
  });

  it('re-reads the environment on every call (Lambda may rotate the keys)', async () => {
    const env: Record<string, string | undefined> = { ...KEYS };
    const provider = defaultCredentials(env, jest.fn());

    const before = await provider();
    env.AWS_ACCESS_KEY_ID = 'AKIDROTATED';
    const after = await provider();

    expect(before.accessKeyId).toBe('AKIDENV');
    expect(after.accessKeyId).toBe('AKIDROTATED');
  });

  it("falls back to the AWS SDK's default chain (here answered from process.env, no network)", async () => {
    // Prepare: the SDK chain's own fromEnv link answers; IMDS and config files are switched off.
    const saved = process.env;
    process.env = {
      ...saved,
      AWS_ACCESS_KEY_ID: 'AKIDSDK',
      AWS_SECRET_ACCESS_KEY: 'secret-sdk',
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/nonexistent/config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
    };
    delete process.env.AWS_PROFILE;
    try {
      // Act: an empty env given to the indexer, so the inline link does not answer.
      const credentials = await defaultCredentials({})();

      // Assert
      expect(credentials).toMatchObject({ accessKeyId: 'AKIDSDK', secretAccessKey: 'secret-sdk' });
      expect(await defaultCredentials()()).toEqual({
        accessKeyId: 'AKIDSDK',
        secretAccessKey: 'secret-sdk',
      });
    } finally {
      process.env = saved;
    }
  });
});
