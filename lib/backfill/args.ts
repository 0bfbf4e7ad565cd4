/**
 * Command-line options of `npm run backfill` and `npm run reindex`: parsed in one place, every
 * bad option named at once.
 */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string>>;
  readonly flags: ReadonlySet<string>;
  readonly problems: readonly string[];
}

/**
 * `--name value`, `--name=value` and bare `--flag`. `valued` lists the options that take a value;
 * `flags` the ones that do not; anything else is a problem.
 */
export function parseArgs(
  argv: readonly string[],
  valued: readonly string[],
  flags: readonly string[],
): ParsedArgs {
  const values: Record<string, string> = {};
  const seen = new Set<string>();
  const problems: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    const match = /^--([a-z][a-z-]*)(?:=(.*))?$/.exec(arg);
    if (match === null) {
      problems.push(`unexpected argument ${JSON.stringify(arg)}`);
      continue;
    }
    const name = match[1] as string;
    if (valued.includes(name)) {
      const value = match[2] ?? argv[++i];
      if (value === undefined || (match[2] === undefined && value.startsWith('--'))) {
        problems.push(`--${name} needs a value`);
        // Stryker disable next-line ConditionalExpression: `true` is equivalent: value is undefined only when ++i ran past the end of argv, and stepping back there lands on the last argument, which the loop's i++ leaves at once (`false` is killed: '--table --resume' would lose --resume).
        if (value !== undefined) i--;
        continue;
      }
      values[name] = value;
    } else if (flags.includes(name) && match[2] === undefined) {
      seen.add(name);
    } else {
      problems.push(`unknown option --${name}`);
    }
  }
  return { values, flags: seen, problems };
}

/** An integer option in [min, max], or the fallback when absent; problems are collected. */
export function integerOption(
  args: ParsedArgs,
  name: string,
  min: number,
  max: number,
  problems: string[],
): number | undefined {
  const raw = args.values[name];
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > max) {
    problems.push(`--${name} must be an integer from ${min} to ${max} (got "${raw}")`);
    return undefined;
  }
  return n;
}
