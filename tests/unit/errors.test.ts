import {
  BulkRequestError,
  ConfigError,
  DeadLetterWriteError,
  describeError,
  IndexerError,
  MalformedRecordError,
  UnreportableFailureError,
} from '../../lib/errors';

describe('errors', () => {
  it.each([
    [
      'BulkRequestError with a status',
      () => new BulkRequestError(503, 'unavailable'),
      'bulk request failed with HTTP 503: unavailable',
    ],
    [
      'BulkRequestError without a status',
      () => new BulkRequestError(undefined, 'socket hang up'),
      'bulk request failed: socket hang up',
    ],
    [
      'DeadLetterWriteError with a status',
      () => new DeadLetterWriteError(403, 'denied'),
      'dead-letter write failed with HTTP 403: denied',
    ],
    [
      'DeadLetterWriteError without a status',
      () => new DeadLetterWriteError(undefined, 'timeout'),
      'dead-letter write failed: timeout',
    ],
    [
      'ConfigError',
      () => new ConfigError(['A is bad', 'B is bad']),
      'invalid configuration: A is bad; B is bad',
    ],
    ['MalformedRecordError', () => new MalformedRecordError('MissingKeys', 'no keys'), 'no keys'],
  ])('builds the %s message from data', (_label, create, message) => {
    // Errors are built inside the test, so a changed constructor is what the test runs.
    const error = create();
    expect(error.message).toBe(message);
    expect(error).toBeInstanceOf(IndexerError);
    expect(error).toBeInstanceOf(Error);
  });

  it('carries data and cause', () => {
    // Prepare
    const cause = new Error('ECONNRESET');

    // Act
    const error = new BulkRequestError(undefined, 'dropped', { cause });

    // Assert
    expect(error.status).toBeUndefined();
    expect(error.cause).toBe(cause);
    expect(error.name).toBe('BulkRequestError');
    expect(new ConfigError(['x']).problems).toEqual(['x']);
    expect(new MalformedRecordError('MissingKeys', 'r').errorType).toBe('MissingKeys');
    expect(new DeadLetterWriteError(500, 'x').status).toBe(500);
  });

  it.each([
    [new TypeError('bad'), 'TypeError: bad'],
    [new MalformedRecordError('X', 'why'), 'MalformedRecordError: why'],
    ['a string', 'a string'],
    [42, '42'],
    [undefined, 'undefined'],
  ])('describes %p as %j', (error, text) => {
    expect(describeError(error)).toBe(text);
  });

  // Logs and dead letters identify a failure by `name` (describeError), never by its message.
  it.each<[string, () => Error]>([
    ['IndexerError', () => new IndexerError('x')],
    ['ConfigError', () => new ConfigError(['x'])],
    ['MalformedRecordError', () => new MalformedRecordError('MissingKeys', 'x')],
    ['BulkRequestError', () => new BulkRequestError(500, 'x')],
    ['DeadLetterWriteError', () => new DeadLetterWriteError(500, 'x')],
    ['UnreportableFailureError', () => new UnreportableFailureError(3)],
  ])('names a %s by its class', (name, create) => {
    const error = create();

    expect(error.name).toBe(name);
    expect(describeError(error)).toBe(`${name}: ${error.message}`);
  });

  it('keeps the position and cause of the failures that carry them', () => {
    // Prepare
    const cause = new Error('EACCES');

    // Act
    const write = new DeadLetterWriteError(undefined, 'denied', { cause });
    const unreportable = new UnreportableFailureError(7);

    // Assert
    expect(write.cause).toBe(cause);
    expect(new IndexerError('x', { cause }).cause).toBe(cause);
    expect(unreportable.position).toBe(7);
    expect(unreportable.message).toBe(
      'record 7 failed and no record at or before it has a usable identifier; ' +
        'failing the whole batch so Lambda retries it',
    );
  });
});
