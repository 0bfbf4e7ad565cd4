import { createLogger, type LogLevel } from '../../lib/logger';

function captured(level?: LogLevel): { lines: string[]; logger: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, logger: createLogger(level, (line) => lines.push(line)) };
}

describe('createLogger', () => {
  it('writes one JSON line per call with level, time, msg and fields', () => {
    // Prepare
    const { lines, logger } = captured('debug');

    // Act
    logger.info('batch processed', { records: 3, key: '3|51' });

    // Assert
    expect(lines).toHaveLength(1);
    expect(lines[0]?.endsWith('\n')).toBe(true);
    expect(lines[0]?.slice(0, -1)).not.toContain('\n');
    const entry = JSON.parse(lines[0] as string) as Record<string, unknown>;
    expect(entry).toEqual({
      level: 'info',
      time: expect.any(String),
      msg: 'batch processed',
      records: 3,
      key: '3|51',
    });
    expect(new Date(entry.time as string).toISOString()).toBe(entry.time);
  });

  it.each<LogLevel>(['debug', 'info', 'warn', 'error'])(
    'at level %s still writes the summary line, as info',
    (level) => {
      const { lines, logger } = captured(level);

      logger.child({ requestId: 'r1' }).summary('batch processed', { records: 1 });

      expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual([
        expect.objectContaining({
          level: 'info',
          msg: 'batch processed',
          requestId: 'r1',
          records: 1,
        }),
      ]);
    },
  );

  it.each<[LogLevel, LogLevel[]]>([
    ['debug', ['debug', 'info', 'warn', 'error']],
    ['info', ['info', 'warn', 'error']],
    ['warn', ['warn', 'error']],
    ['error', ['error']],
  ])('at level %s writes only %j', (level, expected) => {
    // Prepare
    const { lines, logger } = captured(level);

    // Act
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');

    // Assert
    expect(lines.map((l) => (JSON.parse(l) as { level: string }).level)).toEqual(expected);
  });

  it('defaults to info', () => {
    const { lines, logger } = captured();

    logger.debug('hidden');
    logger.info('shown');

    expect(lines).toHaveLength(1);
  });

  it('adds a child context to every line, and nests children', () => {
    // Prepare
    const { lines, logger } = captured('info');
    const child = logger.child({ requestId: 'req-1' }).child({ shard: 's-1' });

    // Act
    child.warn('retrying', { attempt: 2 });
    logger.info('parent');

    // Assert
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      msg: 'retrying',
      requestId: 'req-1',
      shard: 's-1',
      attempt: 2,
    });
    expect(JSON.parse(lines[1] as string)).not.toHaveProperty('requestId');
  });

  it('keeps the level filter in children', () => {
    const { lines, logger } = captured('warn');

    logger.child({ a: 1 }).info('hidden');

    expect(lines).toEqual([]);
  });

  it('writes BigInt fields as decimal strings instead of throwing', () => {
    const { lines, logger } = captured('info');

    logger.info('version', { version: 3650722201600000001n, nested: { n: 2n ** 70n } });

    expect(JSON.parse(lines[0] as string)).toMatchObject({
      version: '3650722201600000001',
      nested: { n: (2n ** 70n).toString() },
    });
  });

  it('writes to stderr by default', () => {
    // Prepare
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      // Act
      createLogger('info').error('to stderr');

      // Assert
      expect(write).toHaveBeenCalledWith(expect.stringContaining('"msg":"to stderr"'));
    } finally {
      write.mockRestore();
    }
  });
});
