/**
 * README.md's benchmark results: a section between two markers, generated from
 * bench/results/latest.json so the README can never drift from the committed results.
 * `npm run bench` (full) and `npm run bench -- --render-only` rewrite it; a unit test
 * (tests/unit/bench-readme.test.ts) checks that the committed README equals the rendering.
 */
import {
  commitNote,
  markdownTable,
  methodNote,
  summarize,
  tables,
  type Results,
  type Summary,
} from './report';

export const README_BEGIN =
  '<!-- bench:begin — generated from bench/results/latest.json by `npm run bench -- --render-only`; edit bench/readme.ts, not this section -->';
export const README_END = '<!-- bench:end -->';

/** The README shows the batch of 1,000 and the targets; latest.md holds every table. */
const README_TABLES =
  /^(targets|throughput-\w+-b1000|threads-\w+|jit-\w+|cold-\w+|load|rss|sizes)$/;

export function renderReadmeSection(results: Results, summary: Summary): string {
  const parts = [
    `Run of ${results.date.slice(0, 10)}. ${commitNote(results)}`,
    '',
    methodNote(results),
    '',
    ...results.warnings.map((w) => `> warning: ${w}`),
    ...(results.warnings.length > 0 ? [''] : []),
    ...tables(results, summary)
      .filter((t) => README_TABLES.test(t.key))
      .flatMap((t) => [markdownTable(t), '']),
    'Every table (batches of 100 and 6 MB too, and the CPU profiles of a `--cpu-prof` run) is in [bench/results/latest.md](bench/results/latest.md); raw samples in `bench/results/latest.json`.',
  ];
  return parts.join('\n');
}

/** The text between the markers (without them), or undefined when the README has none. */
export function readmeSection(readme: string): string | undefined {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin === -1 || end === -1 || end < begin) return undefined;
  return readme
    .slice(begin + README_BEGIN.length, end)
    .replace(/^\n/, '')
    .replace(/\n$/, '');
}

/** The README with its section replaced by a fresh rendering; throws when a marker is missing. */
export function spliceReadme(readme: string, results: Results, summary?: Summary): string {
  const begin = readme.indexOf(README_BEGIN);
  const end = readme.indexOf(README_END);
  if (begin === -1 || end === -1 || end < begin) {
    throw new Error(`README.md has no ${README_BEGIN} … ${README_END} section to rewrite`);
  }
  const section = renderReadmeSection(results, summary ?? summarize(results));
  return `${readme.slice(0, begin + README_BEGIN.length)}\n${section}\n${readme.slice(end)}`;
}
