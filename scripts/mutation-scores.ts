/**
 * `npm run test:mutation:scores`: the README's table of mutation scores per file, read from the
 * committed incremental results (stryker-incremental.json), so the table can be checked against
 * what Stryker recorded. Score = (killed + timed out) / (killed + timed out + survived + no
 * coverage), as Stryker computes it: mutants that do not compile or crash at load, and mutants
 * marked equivalent (`// Stryker disable ...`, status Ignored), are not counted.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

interface Counts {
  killed: number;
  timeout: number;
  survived: number;
  noCoverage: number;
  ignored: number;
}

const FIELD: Record<string, keyof Counts | undefined> = {
  Killed: 'killed',
  Timeout: 'timeout',
  Survived: 'survived',
  NoCoverage: 'noCoverage',
  Ignored: 'ignored',
};

export function countsByFile(report: {
  files: Record<string, { mutants: readonly { status: string }[] }>;
}): Map<string, Counts> {
  const result = new Map<string, Counts>();
  for (const [file, { mutants }] of Object.entries(report.files).sort(([a], [b]) =>
    a.localeCompare(b),
  )) {
    const counts: Counts = { killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 0 };
    for (const mutant of mutants) {
      const field = FIELD[mutant.status];
      if (field !== undefined) counts[field]++;
    }
    result.set(file, counts);
  }
  return result;
}

export function score(c: Counts): string {
  const valid = c.killed + c.timeout + c.survived + c.noCoverage;
  return valid === 0 ? 'n/a' : `${((100 * (c.killed + c.timeout)) / valid).toFixed(1)} %`;
}

export function scoreTable(byFile: Map<string, Counts>): string {
  const rows = ['| File | Killed | Timeout | Survived | No coverage | Marked equivalent | Score |'];
  rows.push('|---|---:|---:|---:|---:|---:|---:|');
  const total: Counts = { killed: 0, timeout: 0, survived: 0, noCoverage: 0, ignored: 0 };
  const row = (name: string, c: Counts): string =>
    `| ${name} | ${c.killed} | ${c.timeout} | ${c.survived} | ${c.noCoverage} | ${c.ignored} | ${score(c)} |`;
  for (const [file, c] of byFile) {
    rows.push(row(`\`${file}\``, c));
    for (const key of Object.keys(total) as (keyof Counts)[]) total[key] += c[key];
  }
  rows.push(row('**measured files**', total));
  return rows.join('\n');
}

if (require.main === module) {
  const file = path.resolve(__dirname, '..', 'stryker-incremental.json');
  console.log(scoreTable(countsByFile(JSON.parse(readFileSync(file, 'utf8')))));
}
