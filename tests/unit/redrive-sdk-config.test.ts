import { sdkClientConfig } from '../../lib/redrive/sdk-config';

describe('sdkClientConfig', () => {
  it('names the region only, so the SDK uses its default endpoint and credential chain', () => {
    // Act
    const config = sdkClientConfig('eu-west-1', { endpoint: undefined });

    // Assert
    expect(config).toEqual({ region: 'eu-west-1' });
  });

  it('points the client at the origin of a local endpoint (AWS_ENDPOINT_URL_<SERVICE>)', () => {
    // Act
    const config = sdkClientConfig('eu-west-1', {
      endpoint: new URL('http://127.0.0.1:4566/some/path?x=1'),
    });

    // Assert
    expect(config).toEqual({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:4566' });
  });

  it.each([
    [
      'keys only',
      { accessKeyId: 'AKID', secretAccessKey: 'secret' },
      { accessKeyId: 'AKID', secretAccessKey: 'secret' },
    ],
    [
      'a session token and an expiry',
      {
        accessKeyId: 'ASIA',
        secretAccessKey: 'secret',
        sessionToken: 'token',
        expiration: new Date('2026-12-02T13:00:00Z'),
      },
      {
        accessKeyId: 'ASIA',
        secretAccessKey: 'secret',
        sessionToken: 'token',
        expiration: new Date('2026-12-02T13:00:00Z'),
      },
    ],
    [
      'members present but undefined (left out for the SDK)',
      {
        accessKeyId: 'AKID',
        secretAccessKey: 'secret',
        sessionToken: undefined,
        expiration: undefined,
      },
      { accessKeyId: 'AKID', secretAccessKey: 'secret' },
    ],
  ])('hands the project credential provider to the SDK: %s', async (_, given, expected) => {
    // Prepare
    const config = sdkClientConfig('eu-west-1', {
      endpoint: undefined,
      credentials: async () => given,
    });

    // Act
    const credentials = await config.credentials?.();

    // Assert
    expect(Object.keys(config)).toEqual(['region', 'credentials']);
    expect(credentials).toStrictEqual(expected);
  });
});
