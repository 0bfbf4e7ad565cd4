/**
 * Structured logs: one JSON object per line on stderr, which Lambda ships to CloudWatch as is
 * (Logs Insights reads the fields directly), while stdout stays free for `serverless invoke
 * local` to print the batch response. Callers pass counts, keys, sequence numbers and error
 * types; never document contents and never credentials.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export type LogFields = Record<string, unknown>;

export interface Logger {
  debug(message: string, fields?: LogFields): void;
  info(message: string, fields?: LogFields): void;
  warn(message: string, fields?: LogFields): void;
  error(message: string, fields?: LogFields): void;
  /**
   * An info line written at every LOG_LEVEL: the invocation's summary, which carries its metrics
   * (lib/metrics.ts), must not disappear when the level is raised to warn.
   */
  summary(message: string, fields?: LogFields): void;
  /** A logger that adds `fields` (e.g. the Lambda request id) to every line. */
  child(fields: LogFields): Logger;
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export function createLogger(
  level: LogLevel = 'info',
  write: (line: string) => void = (line) => process.stderr.write(line),
  context: LogFields = {},
): Logger {
  const min = RANK[level];
  const line = (lineLevel: LogLevel, message: string, fields?: LogFields): void => {
    write(
      `${JSON.stringify({ level: lineLevel, time: new Date().toISOString(), msg: message, ...context, ...fields }, bigintSafe)}\n`,
    );
  };
  const emit = (lineLevel: LogLevel, message: string, fields?: LogFields): void => {
    if (RANK[lineLevel] >= min) line(lineLevel, message, fields);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    summary: (m, f) => line('info', m, f),
    child: (fields) => createLogger(level, write, { ...context, ...fields }),
  };
}

function bigintSafe(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
