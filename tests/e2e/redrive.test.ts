/**
 * `npm run redrive -- dead-letters` end to end: the handler (from source) fills the S3 stand-in's
 * dead-letter bucket through records the OpenSearch stand-in rejects, the cause is fixed in the
 * stand-in, and the command, run as a child process with the operator's environment, puts the
 * records back.
 * Run: npx jest tests/e2e/redrive.test.ts
 */
import { documentId } from '../../lib/ids';
import { npmRun } from '../support/npm-run';
import { E2eHarness, resolveTarget } from '../support/harness';
import { compareDocument, TableModel, USERS_TRANSACTIONS } from '../support/table-model';
import { runStream } from './scenarios';

const KEY_ATTRIBUTES = 'userId,transactionId';

const redrive = (args: readonly string[], env: Record<string, string | undefined>) =>
  npmRun('redrive', args, env);

describe('npm run redrive -- dead-letters (against the stand-ins)', () => {
  let h: E2eHarness;
  beforeAll(async () => {
    h = await E2eHarness.start({ target: resolveTarget('source') });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('puts back what was rejected once the cause is fixed, never over a newer document', async () => {
    // Prepare: 12 items; five rejected by the cluster ("poison"), one of them ("forever") for
    // good; item 8|1 is rejected first and fixed by a later change the index takes.
    await h.newScenario();
    await h.createIndex({});
    const t = new TableModel(USERS_TRANSACTIONS, { seed: 11 });
    for (let i = 0; i < 12; i++) {
      const poisoned = i % 3 === 1 ? (i === 10 ? 'poison forever' : 'poison pill') : `ok ${i}`;
      t.put({
        userId: { N: '8' },
        transactionId: { N: String(i) },
        shortDescription: { S: poisoned },
      });
    }
    t.tick();
    t.update(
      { userId: { N: '8' }, transactionId: { N: '1' } },
      { set: { shortDescription: { S: 'fixed' } } },
    );
    await runStream(h, t.records, [], {
      env: { KEY_ATTRIBUTES },
      arm: () => h.standIn.faults.poison((item) => item.rawSource?.includes('poison') ?? false),
    });
    const lettersBefore = h.s3.list(h.bucket).filter((o) => o.key.startsWith('dead-letter/'));
    expect(lettersBefore).toHaveLength(4);
    const fixedBefore = (await h.readIndex()).get('8|1');
    expect(fixedBefore && JSON.parse(fixedBefore.rawSource)).toMatchObject({
      shortDescription: 'fixed',
    });
    // The mapping is fixed, except for the "forever" document.
    h.standIn.faults.reset();
    h.standIn.faults.poison((item) => item.rawSource?.includes('poison forever') ?? false);
    h.restoreEnv();

    // Act
    const result = await redrive(['dead-letters'], {
      ...process.env,
      ...h.baseEnv(),
      KEY_ATTRIBUTES,
    });

    // Assert: exit 1 (one letter is left), and it is the "forever" one, rewritten in place.
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toMatchObject({
      code: 1,
    });
    const index = await h.readIndex();
    const forever = '8|10';
    for (const { keys, item } of t.finalItems()) {
      const id = documentId(keys, ['userId', 'transactionId']);
      if (id === forever) {
        expect(index.has(id)).toBe(false);
        continue;
      }
      const doc = index.get(id);
      expect(doc && compareDocument(item, doc.rawSource)).toBeNull();
    }
    expect(index.size).toBe(t.finalItems().length - 1);
    // The newer document of 8|1 was not overwritten by the replay of its older, rejected change.
    expect(index.get('8|1')).toEqual(fixedBefore);
    const objects = h.s3.list(h.bucket);
    const left = objects.filter((o) => o.key.startsWith('dead-letter/'));
    expect(left).toHaveLength(1);
    const letter = JSON.parse(left[0]!.body.toString('utf8')) as Record<string, unknown>;
    expect(letter).toMatchObject({ errorType: 'mapper_parsing_exception', source: 'dynamodb' });
    expect(JSON.stringify(letter.record)).toContain('poison forever');
    const replayed = objects.filter((o) => o.key.startsWith('replayed/')).map((o) => o.key);
    expect(replayed.sort()).toEqual(
      lettersBefore
        .map((o) => o.key)
        .filter((k) => k !== left[0]!.key)
        .map((k) => k.replace(/^dead-letter\//, 'replayed/'))
        .sort(),
    );
    expect(result.stdout).toContain(`rejected     ${left[0]!.key}`);

    // Running it again changes nothing but the one letter's reason.
    const again = await redrive(['dead-letters'], {
      ...process.env,
      ...h.baseEnv(),
      KEY_ATTRIBUTES,
    });
    expect(again.code).toBe(1);
    expect(h.s3.list(h.bucket).filter((o) => o.key.startsWith('replayed/'))).toHaveLength(3);
    expect(await h.readIndex()).toEqual(index);
  }, 180_000);

  it('reports a missing bucket and exits 2', async () => {
    await h.newScenario();
    h.restoreEnv();

    const result = await redrive(['dead-letters', '--bucket', 'no-such-bucket'], {
      ...process.env,
      ...h.baseEnv(),
      KEY_ATTRIBUTES,
    });

    expect(result.code).toBe(2);
    expect(result.stderr).toContain('cannot list s3://no-such-bucket/dead-letter/');
  }, 120_000);
});
