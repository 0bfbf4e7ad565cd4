/**
 * Zero-downtime reindex: a new physical index with index:setup's current settings and mappings,
 * filled from the table (the source of truth, not a copy of the old index), with the alias moved
 * atomically. Every step is one request whose effect OpenSearch applies at once (lib/aliases.ts).
 *
 * Alias over exactly one index `old`:
 *   1. PUT /<new>                                          (not yet in the alias: invisible)
 *   2. POST /_aliases  add new (is_write_index: true) + old (is_write_index: false)
 *        from here the stream handler's `/<alias>/_bulk` writes go to <new>; searches read both
 *   3. backfill the table into <new>                        (the physical name)
 *   4. POST /_aliases  remove old from the alias            (searches read <new> only)
 *   5. --delete-old: DELETE /<old>
 *
 * A concrete index named like the alias (a deployment from before aliases) is upgraded:
 *   1. PUT /<alias>-000001
 *   2. backfill pass 1 into it                              (the stream still writes the old index)
 *   3. POST /_aliases  remove_index <alias> + add <alias>-000001 as <alias> (is_write_index)
 *   4. backfill pass 2 into it: catches every change pass 1 could not see, since the stream's
 *      writes only reach the new index from step 3 on
 *   5. versioned deletes (version = (pass-2 start - margin) * 2^31) of the ids pass 1 wrote that
 *      pass 2 did not see: items deleted while pass 1 ran, whose deletes went to the old index.
 */
import {
  createIndex,
  deleteIndex,
  inspectName,
  nextPhysicalName,
  physicalName,
  updateAliases,
} from '../aliases';
import type { IndexBody } from '../index-setup';
import { documentId } from '../ids';
import type { SearchClient } from '../search-client';
import { scanVersion, type ScanRecord } from '../sources/scan';
import type { DeliverResult } from './deliver';
import { BackfillError, preflight, type BackfillContext, type BackfillReport } from './run';

export interface ReindexOptions {
  readonly table: string;
  /** The alias the indexer writes to (OPENSEARCH_INDEX). */
  readonly alias: string;
  readonly deleteOld: boolean;
  /** Continue an interrupted reindex (alias over <old> and <new>, <new> the write index). */
  readonly resume: boolean;
  readonly marginSeconds: number;
}

export interface ReindexSteps {
  /** Backfills the table into `index` (a physical index or the alias). */
  readonly backfill: (
    index: string,
    pass: string,
    options: { resume: boolean; onRecords?: (records: readonly ScanRecord[]) => void },
  ) => Promise<BackfillReport>;
  /** Delivers versioned deletes through the core, until done. */
  readonly deliver: (index: string, records: readonly ScanRecord[]) => Promise<DeliverResult>;
}

export interface ReindexReport {
  readonly from: string | undefined;
  readonly to: string;
  readonly upgraded: boolean;
  readonly deletedOld: boolean;
  readonly passes: readonly BackfillReport[];
  readonly deletes: number;
}

export async function runReindex(
  options: ReindexOptions,
  body: IndexBody,
  client: Pick<SearchClient, 'request'>,
  ctx: Pick<BackfillContext, 'dynamo' | 'config' | 'dynamoEndpoint' | 'say' | 'clock'>,
  steps: ReindexSteps,
): Promise<ReindexReport> {
  const timeout = ctx.config.requestTimeoutMs;
  const { alias } = options;
  // Table, endpoint and credentials are checked before OpenSearch is touched.
  await preflight(options, ctx);
  const state = await inspectName(client, alias, timeout);
  if (state.kind === 'missing') {
    throw new BackfillError(`${alias} does not exist: run npm run index:setup first`);
  }
  if (state.kind === 'index') return upgrade(options, body, client, ctx, steps);

  let old: string;
  let next: string;
  if (options.resume && state.indices.length === 2 && state.writeIndex !== undefined) {
    next = state.writeIndex;
    old = state.indices.find((i) => i !== next) as string;
    ctx.say(`resuming the reindex of ${alias}: ${old} -> ${next}`);
  } else {
    if (state.indices.length !== 1) {
      throw new BackfillError(
        `alias ${alias} is over ${state.indices.length} indices (${state.indices.join(', ')}); a reindex needs ` +
          `exactly one${state.indices.length === 2 ? ' (an interrupted reindex continues with --resume)' : ''}`,
      );
    }
    old = state.indices[0] as string;
    next = nextPhysicalName(alias, old);
    await createIndex(client, next, body, timeout);
    ctx.say(`created ${next}`);
    await updateAliases(
      client,
      [
        { add: { index: next, alias, is_write_index: true } },
        { add: { index: old, alias, is_write_index: false } },
      ],
      timeout,
    );
    ctx.say(`${alias} now writes to ${next}; searches read ${old} and ${next}`);
  }
  const pass = await steps.backfill(next, 'reindex', { resume: options.resume });
  if (!pass.complete) {
    throw new BackfillError(
      `the backfill into ${next} did not finish; ${alias} still writes to ${next} and reads both. ` +
        'Continue with --resume',
    );
  }
  await updateAliases(client, [{ remove: { index: old, alias } }], timeout);
  ctx.say(`${alias} now reads ${next} only`);
  if (options.deleteOld) {
    await deleteIndex(client, old, timeout);
    ctx.say(`deleted ${old}`);
  }
  return {
    from: old,
    to: next,
    upgraded: false,
    deletedOld: options.deleteOld,
    passes: [pass],
    deletes: 0,
  };
}

async function upgrade(
  options: ReindexOptions,
  body: IndexBody,
  client: Pick<SearchClient, 'request'>,
  ctx: Pick<BackfillContext, 'config' | 'say' | 'clock'>,
  steps: ReindexSteps,
): Promise<ReindexReport> {
  const timeout = ctx.config.requestTimeoutMs;
  const { alias } = options;
  const next = physicalName(alias, 1);
  const existing = await inspectName(client, next, timeout);
  if (existing.kind !== 'missing') {
    throw new BackfillError(
      `${alias} is a concrete index and ${next} already exists (an interrupted upgrade?): ` +
        `check it, delete it (DELETE /${next}) and run the reindex again`,
    );
  }
  ctx.say(`${alias} is a concrete index: upgrading it to an alias over ${next}`);
  await createIndex(client, next, body, timeout);
  const keyOrder = ctx.config.keyOrder;
  const firstPass = new Map<string, ScanRecord['keys']>();
  const pass1 = await steps.backfill(next, 'upgrade-pass-1', {
    resume: false,
    onRecords: (records) => {
      for (const r of records) firstPass.set(documentId(r.keys, keyOrder), r.keys);
    },
  });
  if (!pass1.complete) {
    throw new BackfillError(
      `pass 1 into ${next} did not finish; nothing was switched: delete ${next} and run again`,
    );
  }
  // The old concrete index goes and the alias appears in the same cluster-state update.
  await updateAliases(
    client,
    [{ remove_index: { index: alias } }, { add: { index: next, alias, is_write_index: true } }],
    timeout,
  );
  ctx.say(`${alias} is now an alias writing to ${next} (the concrete index is removed)`);
  const secondStart = ctx.clock();
  const seen = new Set<string>();
  const pass2 = await steps.backfill(next, 'upgrade-pass-2', {
    resume: false,
    onRecords: (records) => {
      for (const r of records) seen.add(documentId(r.keys, keyOrder));
    },
  });
  if (!pass2.complete) {
    throw new BackfillError(
      `pass 2 into ${next} did not finish; ${alias} is an alias already: finish with ` +
        `npm run backfill -- --table ${options.table}`,
    );
  }
  const version = scanVersion(secondStart, options.marginSeconds);
  const deletes: ScanRecord[] = [];
  for (const [id, keys] of firstPass) {
    if (!seen.has(id)) deletes.push({ table: options.table, keys, version });
  }
  if (deletes.length > 0) {
    const result = await steps.deliver(next, deletes);
    if (!result.done)
      throw new BackfillError(`${deletes.length} deletes into ${next} did not finish`);
    ctx.say(`deleted ${deletes.length} items removed from the table during pass 1`);
  }
  return {
    from: alias,
    to: next,
    upgraded: true,
    deletedOld: true,
    passes: [pass1, pass2],
    deletes: deletes.length,
  };
}
