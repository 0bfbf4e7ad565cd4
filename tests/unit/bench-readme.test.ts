import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  README_BEGIN,
  README_END,
  readmeSection,
  renderReadmeSection,
  spliceReadme,
} from '../../bench/readme';
import { summarize, type Results } from '../../bench/report';

const ROOT = join(__dirname, '..', '..');
const committedResults = (): Results =>
  JSON.parse(readFileSync(join(ROOT, 'bench', 'results', 'latest.json'), 'utf8')) as Results;
const committedReadme = (): string => readFileSync(join(ROOT, 'README.md'), 'utf8');

describe("README.md's benchmark section", () => {
  it('is exactly what the renderer makes of the committed bench/results/latest.json', () => {
    // Prepare
    const results = committedResults();
    const expected = renderReadmeSection(results, summarize(results));

    // Act
    const section = readmeSection(committedReadme());

    // Assert: on a mismatch, run `npm run bench -- --render-only` and commit README.md
    expect(section).toBe(expected);
  });

  it.each([
    ['the targets', '| target | measured | limit | result |'],
    ['the article batch of 1,000', '**Article items, batch of 1,000:'],
    ['the rich batch of 1,000', '**Rich items, batch of 1,000:'],
    ['the cold-container batches', "a cold container's first batches of 1,000"],
    ['the CPU off the main thread', 'other threads µs/rec'],
  ])('shows %s as a table, not a heading alone', (_what, marker) => {
    // Prepare
    const section = readmeSection(committedReadme()) ?? '';
    const lines = section.split('\n');

    // Act
    const at = lines.findIndex((line) => line.includes(marker));
    const table = lines.slice(at, at + 6);

    // Assert: the marker is followed (or, for a header row, formed) by table rows
    expect(at).toBeGreaterThanOrEqual(0);
    expect(table.filter((line) => line.startsWith('| ')).length).toBeGreaterThanOrEqual(2);
  });
});

describe('spliceReadme', () => {
  it('replaces only the text between the markers', () => {
    // Prepare
    const results = committedResults();
    const readme = `# Title\n\nbefore\n\n${README_BEGIN}\nstale tables\n${README_END}\n\nafter\n`;

    // Act
    const spliced = spliceReadme(readme, results);

    // Assert
    expect(spliced.startsWith(`# Title\n\nbefore\n\n${README_BEGIN}\n`)).toBe(true);
    expect(spliced.endsWith(`\n${README_END}\n\nafter\n`)).toBe(true);
    expect(spliced).not.toContain('stale tables');
    expect(readmeSection(spliced)).toBe(renderReadmeSection(results, summarize(results)));
  });

  it.each([
    ['no markers', '# Title\n'],
    ['only the begin marker', `${README_BEGIN}\n`],
    ['the markers in the wrong order', `${README_END}\n${README_BEGIN}\n`],
  ])('refuses a README with %s', (_what, readme) => {
    // Prepare
    const results = committedResults();

    // Act
    const splice = (): string => spliceReadme(readme, results);

    // Assert
    expect(splice).toThrow(/README\.md has no/);
  });
});
