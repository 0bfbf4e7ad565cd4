/**
 * `npm run index:setup [-- --dry-run]`: creates the index the indexer writes to, with the
 * settings and mappings of lib/index-setup.ts, or checks an existing one. On a fresh cluster the
 * name (OPENSEARCH_INDEX, `transactions`) becomes an alias over the physical index
 * `transactions-000001`; a concrete index of that name (from before aliases) is checked and the
 * reindex that moves it behind an alias is named.
 *
 * It reads the same environment as the Lambda (lib/config.ts: OPENSEARCH_ENDPOINT,
 * OPENSEARCH_INDEX, OPENSEARCH_AUTH, OPENSEARCH_SIGV4_SERVICE, AWS_REGION, REQUEST_TIMEOUT_MS,
 * INDEXER_DRY_RUN) plus INDEX_SHARDS, INDEX_REPLICAS and INDEX_GC_DELETES, and talks to OpenSearch
 * through the same client and SigV4 signer, with credentials found the way the handler finds
 * them (lib/credentials.ts: the environment's keys, else the AWS SDK's default chain: SSO/profile,
 * container or instance role).
 *
 * --dry-run (or INDEXER_DRY_RUN=true) prints the exact requests and sends nothing.
 *
 * --fgac (or FGAC_INDEXER_ROLE_ARN set): on a domain with fine-grained access control, first maps
 * the indexer's IAM role to an OpenSearch role that may only write and delete documents in the
 * index, and FGAC_ADMIN_ROLE_ARN (optional) to all_access and security_manager
 * (lib/security-setup.ts; FGAC_INDEXER_ROLE, FGAC_INDEX_PATTERNS). With OPENSEARCH_USERNAME and
 * OPENSEARCH_PASSWORD set, every request uses HTTP basic authentication instead of SigV4: the
 * first run, as the domain's internal master user, before any IAM role is mapped.
 * Exit codes: 0 done (differences that need a reindex are reported, not fatal), 1 error.
 */
import { physicalName } from '../lib/aliases';
import { loadConfig } from '../lib/config';
import { defaultCredentials } from '../lib/credentials';
import { describeError } from '../lib/errors';
import {
  indexBody,
  indexOptionsFromEnv,
  setupAliasedIndex,
  setupRequests,
  type SetupRequest,
} from '../lib/index-setup';
import { createSearchClient } from '../lib/search-client';
import {
  basicAuthRequester,
  securityOptionsFromEnv,
  securityRequests,
  setupSecurity,
  type SecurityOptions,
} from '../lib/security-setup';

const USAGE = 'usage: npm run index:setup [-- --dry-run] [-- --fgac]';
const FLAGS = ['--dry-run', '--fgac'];

/** FGAC options when asked for (--fgac, or FGAC_INDEXER_ROLE_ARN set); throws on bad ones. */
function fgacOptions(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  index: string,
): SecurityOptions | undefined {
  const asked = argv.includes('--fgac') || (env.FGAC_INDEXER_ROLE_ARN ?? '').trim() !== '';
  return asked ? securityOptionsFromEnv(env, index) : undefined;
}

function show(request: SetupRequest): string {
  return `${request.method} ${request.path}\n${JSON.stringify(request.body, null, 2)}`;
}

export async function main(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  err: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
): Promise<number> {
  const unknown = argv.filter((arg) => !FLAGS.includes(arg));
  if (unknown.length > 0) {
    err(`unknown argument ${JSON.stringify(unknown[0])}\n${USAGE}`);
    return 1;
  }
  let config;
  let body;
  let security;
  try {
    config = loadConfig(argv.includes('--dry-run') ? { ...env, INDEXER_DRY_RUN: 'true' } : env);
    body = indexBody(indexOptionsFromEnv(env, config.service));
    security = fgacOptions(argv, env, config.index);
  } catch (error) {
    err(describeError(error));
    return 1;
  }

  const physical = physicalName(config.index, 1);
  const { create, applySettings } = setupRequests(physical, {
    ...body,
    aliases: { [config.index]: { is_write_index: true } },
  });
  if (config.dryRun || config.endpoint === undefined) {
    if (security !== undefined) {
      const { role, mapping } = securityRequests(security);
      out(`dry run: nothing is sent. For fine-grained access control, setup sends:`);
      out(`${show(role)}\n${show(mapping)}`);
      if (security.adminRoleArn !== undefined) {
        out(`and adds ${security.adminRoleArn} to the all_access and security_manager mappings`);
      }
    }
    out(
      `dry run: nothing is sent. On a fresh cluster, setup creates ${physical} behind the alias ${config.index}:\n${show(create)}`,
    );
    if (applySettings !== undefined) {
      out(
        `If the index already exists and its gc_deletes differs, setup sends:\n${show(applySettings)}`,
      );
    }
    return 0;
  }

  const client = createSearchClient({
    endpoint: config.endpoint,
    index: config.index,
    auth: config.auth,
    service: config.service,
    region: config.searchRegion,
    compression: false,
    getCredentials: defaultCredentials(env),
  });
  const origin = config.endpoint.origin;
  let target = `${origin}/${config.index}`;
  const username = env.OPENSEARCH_USERNAME ?? '';
  const password = env.OPENSEARCH_PASSWORD ?? '';
  try {
    const requester =
      username !== '' && password !== ''
        ? basicAuthRequester(config.endpoint, username, password)
        : client;
    if (security !== undefined) {
      const applied = await setupSecurity(requester, security, config.requestTimeoutMs);
      for (const line of applied.applied) out(`applied ${line}`);
    }
    const result = await setupAliasedIndex(requester, config.index, body, config.requestTimeoutMs);
    for (const warning of result.warnings) err(`warning: ${warning}`);
    const gcDeletes = body.settings?.index.gc_deletes;
    if (gcDeletes !== undefined) {
      err(
        `note: index.gc_deletes=${gcDeletes}: a backfill or reindex must finish within it, or an item ` +
          'deleted while it runs may come back (raise INDEX_GC_DELETES for a longer run)',
      );
    }
    if (result.layout === 'alias') target = `${origin}/${result.physical} (alias ${config.index})`;
    if (result.created) {
      out(`created ${target}`);
      return 0;
    }
    out(`${target} already exists`);
    for (const applied of result.applied) out(`applied ${applied}`);
    if (result.differences.length === 0) {
      out('its settings and mappings match');
      return 0;
    }
    out('it differs from the expected settings/mappings:');
    for (const d of result.differences) {
      const how =
        d.fix === 'settings'
          ? `PUT /${result.physical}/_settings`
          : d.fix === 'mapping'
            ? `PUT /${result.physical}/_mapping`
            : 'npm run reindex -- --table <table>';
      out(
        `  ${d.path}: expected ${JSON.stringify(d.expected)}, index has ${JSON.stringify(d.actual)} (fix: ${how})`,
      );
    }
    return 0;
  } catch (error) {
    err(`index setup failed for ${target}: ${describeError(error)}`);
    return 1;
  } finally {
    await client.close();
  }
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`${describeError(error)}\n`);
      process.exitCode = 1;
    },
  );
}
