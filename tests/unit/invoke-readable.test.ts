import { readableLine } from '../../scripts/invoke-local';

const dryRunLine = (body: string): string =>
  JSON.stringify({
    level: 'info',
    msg: 'dry run: bulk request not sent',
    method: 'POST',
    path: '/transactions/_bulk',
    operations: 2,
    body,
  });

describe('readableLine (npm start on a terminal)', () => {
  it('shows a dry-run bulk request as its request line and NDJSON lines, documents indented', () => {
    // Prepare
    const body =
      '{"index":{"_id":"3|51","version":1,"version_type":"external"}}\n' +
      '{"userId":3,"amount":11}\n' +
      '{"delete":{"_id":"4|1"}}\n';

    // Act
    const text = readableLine(dryRunLine(body), false);

    // Assert
    expect(text.split('\n')).toEqual([
      'POST /transactions/_bulk  (dry run: not sent)',
      '{"index":{"_id":"3|51","version":1,"version_type":"external"}}',
      '    {',
      '      "userId": 3,',
      '      "amount": 11',
      '    }',
      '{"delete":{"_id":"4|1"}}',
    ]);
  });

  it('never re-prints a document through a double: exact numbers stay as sent', () => {
    const body = '{"index":{"_id":"1"}}\n{"amount":3.14159265358979323846}\n';

    const text = readableLine(dryRunLine(body), false);

    expect(text).toContain('    {"amount":3.14159265358979323846}');
  });

  it('colours only when asked', () => {
    const body = '{"delete":{"_id":"1"}}\n';

    expect(readableLine(dryRunLine(body), true)).toContain('\u001b[');
    expect(readableLine(dryRunLine(body), false)).not.toContain('\u001b[');
  });

  it.each([
    ['a log line that is not a dry run', JSON.stringify({ msg: 'indexer configured' })],
    ['a line that is not JSON', 'Serverless: Bundling with esbuild...'],
  ])('leaves %s unchanged', (_label, line) => {
    expect(readableLine(line, true)).toBe(line);
  });
});
