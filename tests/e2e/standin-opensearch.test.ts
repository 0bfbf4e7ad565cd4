import { gzipSync } from 'node:zlib';
import { OpenSearchStandIn, applyFilterPath } from '../support/opensearch-stand-in';
import { parseLossless, member, type JsonNode } from '../support/lossless-json';
import { httpRequest, sendSigned, type HttpResult } from '../support/sign';
import type { Sigv4Credentials } from '../support/sigv4-verifier';

const creds: Sigv4Credentials = {
  accessKeyId: 'AKIDSTANDIN',
  secretAccessKey: 'secret/standin',
  sessionToken: 'tok',
};
const region = 'eu-central-1';
let clock = Date.UTC(2024, 0, 1);
let os: OpenSearchStandIn;

beforeAll(async () => {
  os = await OpenSearchStandIn.start({
    credentials: creds,
    region,
    now: () => clock,
    gcDeletesMs: 60_000,
  });
});
afterAll(async () => {
  await os.close();
});
beforeEach(() => {
  os.reset();
});

function send(
  method: string,
  path: string,
  body?: string | Buffer,
  headers: Record<string, string> = {},
  query?: Record<string, string>,
): Promise<HttpResult> {
  return sendSigned(os.url, {
    method,
    path,
    ...(body !== undefined ? { body } : {}),
    headers,
    region,
    service: 'es',
    credentials: creds,
    date: new Date(clock),
    ...(query ? { query } : {}),
  });
}
function bulk(
  lines: unknown[],
  opts: {
    index?: string;
    raw?: string;
    headers?: Record<string, string>;
    query?: Record<string, string>;
  } = {},
): Promise<HttpResult> {
  const body =
    opts.raw ?? lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n';
  return send(
    'POST',
    opts.index === '' ? '/_bulk' : `/${opts.index ?? 'transactions'}/_bulk`,
    body,
    { 'content-type': 'application/x-ndjson', ...opts.headers },
    opts.query,
  );
}
function items(r: HttpResult): Array<{
  action: string;
  status: number;
  result?: string;
  type?: string;
  reason?: string;
  version?: string;
}> {
  const root = parseLossless(r.text);
  const list = member(root, 'items');
  if (!list || list.kind !== 'array') throw new Error(`no items in ${r.text}`);
  return list.items.map((it) => {
    const [[action, inner]] = (it as Extract<JsonNode, { kind: 'object' }>).members as [
      [string, JsonNode],
    ];
    const st = member(inner, 'status');
    const res = member(inner, 'result');
    const err = member(inner, 'error');
    const ver = member(inner, '_version');
    const t = member(err, 'type');
    const reason = member(err, 'reason');
    return {
      action,
      status: Number(st?.kind === 'number' ? st.raw : -1),
      ...(res?.kind === 'string' ? { result: res.value } : {}),
      ...(t?.kind === 'string' ? { type: t.value } : {}),
      ...(reason?.kind === 'string' ? { reason: reason.value } : {}),
      ...(ver?.kind === 'number' ? { version: ver.raw } : {}),
    };
  });
}
const ext = (id: string, version: number | string, type = 'external') => ({
  index: {
    _id: id,
    version: typeof version === 'string' ? Number(version) : version,
    version_type: type,
  },
});

describe('OpenSearch stand-in', () => {
  test('rejects unsigned requests and requests signed for another service', async () => {
    const r = await httpRequest(`${os.url}/transactions/_bulk`, {
      method: 'POST',
      body: '{"index":{}}\n{}\n',
      headers: { 'content-type': 'application/x-ndjson' },
    });
    expect(r.status).toBe(403);
    expect(JSON.parse(r.text)).toMatchObject({ check: 'authorization-header' });
    const s3 = await sendSigned(os.url, {
      method: 'GET',
      path: '/',
      region,
      service: 's3',
      credentials: creds,
      date: new Date(clock),
    });
    expect(s3.status).toBe(403);
    expect(JSON.parse(s3.text)).toMatchObject({ check: 'scope' });
    expect(os.requests.map((x) => x.status)).toEqual([403, 403]);
  });

  test('indexes losslessly and returns items in request order', async () => {
    const doc =
      '{"userId":3,"transactionId":51,"big":9007199254740993,"pi":3.14159265358979323846,"e":1E+30,"s":"x"}';
    const r = await bulk([
      ext('a', 5),
      doc,
      ext('b', 6),
      '{"n":1}',
      { delete: { _id: 'zz', version: 7, version_type: 'external' } },
    ]);
    expect(r.status).toBe(200);
    expect(items(r)).toEqual([
      { action: 'index', status: 201, result: 'created', version: '5' },
      { action: 'index', status: 201, result: 'created', version: '6' },
      { action: 'delete', status: 404, result: 'not_found', version: '7' },
    ]);
    expect(JSON.parse(r.text).errors).toBe(false);
    const got = await send('GET', '/transactions/_doc/a');
    expect(got.status).toBe(200);
    expect(got.text).toContain(`"_source":${doc}`);
    expect(os.readIndex('transactions').docs.get('a')).toMatchObject({
      version: 5n,
      rawSource: doc,
    });
    expect(os.readIndex('transactions').tombstones.get('zz')).toMatchObject({
      version: 7n,
      expired: false,
    });
    expect((await send('GET', '/transactions/_doc/nope')).status).toBe(404);
  });

  test('external and external_gte versioning follow VersionType', async () => {
    await bulk([ext('a', 10), '{"v":10}']);
    const r = await bulk([
      ext('a', 10),
      '{"v":100}',
      ext('a', 9),
      '{"v":9}',
      ext('a', 10, 'external_gte'),
      '{"v":"10"}',
      ext('a', 11),
      '{"v":11}',
    ]);
    expect(items(r).map((i) => [i.status, i.type ?? i.result])).toEqual([
      [409, 'version_conflict_engine_exception'],
      [409, 'version_conflict_engine_exception'],
      [200, 'updated'],
      [200, 'updated'],
    ]);
    expect(items(r)[0]!.reason).toBe(
      '[a]: version conflict, current version [10] is higher or equal to the one provided [10]',
    );
    expect(os.readIndex('transactions').docs.get('a')?.rawSource).toBe('{"v":11}');
    const max = await bulk([
      '{"index":{"_id":"m","version":9223372036854775807,"version_type":"external"}}',
      '{}',
    ]);
    expect(items(max)[0]).toMatchObject({ status: 201, version: '9223372036854775807' });
  });

  test('tombstones keep their version for gc_deletes, then an older write resurrects the doc', async () => {
    await bulk([
      ext('k', 5),
      '{"v":5}',
      { delete: { _id: 'k', version: 8, version_type: 'external' } },
    ]);
    expect(os.readIndex('transactions').docs.has('k')).toBe(false);
    let r = await bulk([ext('k', 6), '{"v":6}']);
    expect(items(r)[0]).toMatchObject({ status: 409, type: 'version_conflict_engine_exception' });
    r = await bulk([{ delete: { _id: 'k', version: 8, version_type: 'external' } }]);
    expect(items(r)[0]).toMatchObject({ status: 409 });
    clock += 60_001;
    r = await bulk([ext('k', 6), '{"v":6}']);
    expect(items(r)[0]).toMatchObject({ status: 201, result: 'created', version: '6' });
    // delete of a never-seen doc still records a tombstone that blocks older writes
    await bulk([{ delete: { _id: 'n', version: 100, version_type: 'external' } }]);
    expect(items(await bulk([ext('n', 99), '{}']))[0]).toMatchObject({ status: 409 });
    expect(items(await bulk([ext('n', 101), '{}']))[0]).toMatchObject({ status: 201 });
  });

  test('per-index gc_deletes setting', async () => {
    await send('PUT', '/quick', JSON.stringify({ settings: { index: { gc_deletes: '0s' } } }), {
      'content-type': 'application/json',
    });
    await bulk([{ delete: { _id: 'x', version: 9, version_type: 'external' } }], {
      index: 'quick',
    });
    clock += 1;
    expect(items(await bulk([ext('x', 1), '{}'], { index: 'quick' }))[0]).toMatchObject({
      status: 201,
    });
  });

  test('internal versioning increments and counts tombstones', async () => {
    const r = await bulk([
      { index: { _id: 'i' } },
      '{}',
      { index: { _id: 'i' } },
      '{}',
      { delete: { _id: 'i' } },
      { index: { _id: 'i' } },
      '{}',
    ]);
    expect(items(r).map((i) => [i.status, i.version])).toEqual([
      [201, '1'],
      [200, '2'],
      [200, '3'],
      [201, '4'],
    ]);
  });

  test.each([
    [
      'version beyond a long',
      '{"index":{"_id":"a","version":9223372036854775808,"version_type":"external"}}',
    ],
    ['negative version', '{"index":{"_id":"a","version":-1,"version_type":"external"}}'],
    ['fractional version', '{"index":{"_id":"a","version":1.5,"version_type":"external"}}'],
    ['string version', '{"index":{"_id":"a","version":"5","version_type":"external"}}'],
    ['external without version', '{"index":{"_id":"a","version_type":"external"}}'],
    ['internal with a version', '{"index":{"_id":"a","version":5}}'],
    ['id over 512 bytes', `{"index":{"_id":"${'é'.repeat(257)}"}}`],
  ])(
    '%s fails the whole request with 400 action_request_validation_exception',
    async (_n, action) => {
      const r = await bulk([], { raw: `${action}\n{}\n` });
      expect(r.status).toBe(400);
      expect(JSON.parse(r.text).error.type).toBe('action_request_validation_exception');
      expect(os.readIndex('transactions').docs.size).toBe(0);
    },
  );

  test('id of exactly 512 bytes is fine; over 512 is an item error with idTooLong=item', async () => {
    const ok = await bulk([{ index: { _id: 'é'.repeat(256) } }, '{}']);
    expect(items(ok)[0]).toMatchObject({ status: 201 });
    const strict = await OpenSearchStandIn.start({ auth: 'none', idTooLong: 'item' });
    try {
      const r = await httpRequest(`${strict.url}/t/_bulk`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: `{"index":{"_id":"${'x'.repeat(513)}"}}\n{}\n{"index":{"_id":"ok"}}\n{}\n`,
      });
      expect(items(r).map((i) => [i.status, i.type])).toEqual([
        [400, 'illegal_argument_exception'],
        [201, undefined],
      ]);
    } finally {
      await strict.close();
    }
  });

  test('bulk format is strict', async () => {
    expect((await bulk([], { raw: '{"index":{"_id":"a"}}\n{}' })).status).toBe(400);
    const ct = await bulk([{ index: { _id: 'a' } }, '{}'], {
      headers: { 'content-type': 'text/plain' },
    });
    expect(ct.status).toBe(406);
    expect(JSON.parse(ct.text)).toEqual({
      error: 'Content-Type header [text/plain] is not supported',
      status: 406,
    });
    const unknown = await bulk([{ index: { _id: 'a', _type: '_doc' } }, '{}']);
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('unknown parameter [_type]');
    const noIndex = await bulk([{ index: { _id: 'a' } }, '{}'], { index: '' });
    expect(noIndex.status).toBe(400);
    const badSource = await bulk([
      { index: { _id: 'a' } },
      '{"a":01}',
      { index: { _id: 'b' } },
      '{"a":1}',
    ]);
    expect(items(badSource).map((i) => [i.status, i.type])).toEqual([
      [400, 'mapper_parsing_exception'],
      [201, undefined],
    ]);
    const global = await bulk([{ index: { _index: 'other', _id: 'a' } }, '{}'], { index: '' });
    expect(items(global)[0]).toMatchObject({ status: 201 });
    expect(os.hasIndex('other')).toBe(true);
  });

  // RestController accepts JSON for _bulk as well as NDJSON (a divergence found by running
  // OpenSearch's REST API tests, whose runner sends application/json).
  test.each(['application/json', 'application/json; charset=UTF-8', 'application/x-ndjson'])(
    '_bulk accepts Content-Type %s',
    async (contentType) => {
      const r = await bulk([{ index: { _id: 'a' } }, '{}'], {
        headers: { 'content-type': contentType },
      });
      expect(r.status).toBe(200);
      expect(items(r)).toEqual([{ action: 'index', status: 201, result: 'created', version: '1' }]);
    },
  );

  // rest-api-spec bulk/10_basic.yml "Empty _id": only that item fails, the others are indexed.
  test('an empty _id is an item-level 400 illegal_argument_exception and stores nothing', async () => {
    const r = await bulk([
      { index: { _id: '' } },
      '{"f":1}',
      { index: { _id: 'id' } },
      '{"f":2}',
      { index: {} },
      '{"f":3}',
      { create: { _id: '' } },
      '{"f":4}',
    ]);
    expect(items(r).map((i) => [i.action, i.status, i.type, i.reason, i.result])).toEqual([
      [
        'index',
        400,
        'illegal_argument_exception',
        'if _id is specified it must not be empty',
        undefined,
      ],
      ['index', 201, undefined, undefined, 'created'],
      ['index', 201, undefined, undefined, 'created'],
      [
        'create',
        400,
        'illegal_argument_exception',
        'if _id is specified it must not be empty',
        undefined,
      ],
    ]);
    expect(JSON.parse(r.text).errors).toBe(true);
    expect(os.readIndex('transactions').docs.size).toBe(2);
    expect(os.readIndex('transactions').docs.has('')).toBe(false);
  });

  // DeleteRequest#validate: "id is missing" for a null or empty id fails the whole request.
  test('a delete with an empty _id fails the whole request with "id is missing"', async () => {
    const r = await bulk([{ index: { _id: 'a' } }, '{}', { delete: { _id: '' } }]);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.text).error).toMatchObject({
      type: 'action_request_validation_exception',
      reason: 'Validation Failed: 1: id is missing;',
    });
    expect(os.hasIndex('transactions')).toBe(false);
  });

  // TransportBulkAction: only index/create items and externally versioned deletes auto-create.
  test('an internally versioned delete on a missing index is item 404 index_not_found_exception and creates nothing', async () => {
    const r = await bulk([{ delete: { _id: 'x' } }], { index: 'gone' });
    expect(r.status).toBe(200);
    const item = JSON.parse(r.text).items[0].delete;
    expect(item).toMatchObject({
      _index: 'gone',
      _id: 'x',
      status: 404,
      error: {
        type: 'index_not_found_exception',
        reason: 'no such index [gone]',
        index: 'gone',
        'resource.type': 'index_expression',
        'resource.id': 'gone',
      },
    });
    expect(os.hasIndex('gone')).toBe(false);
  });

  test('an externally versioned delete on a missing index creates it and keeps a tombstone', async () => {
    const r = await bulk([{ delete: { _id: 'x', version: 7, version_type: 'external' } }], {
      index: 'gone',
    });
    expect(items(r)).toEqual([
      { action: 'delete', status: 404, result: 'not_found', version: '7' },
    ]);
    expect(os.hasIndex('gone')).toBe(true);
    expect(os.readIndex('gone').tombstones.get('x')).toMatchObject({ version: 7n, expired: false });
    const older = await bulk([ext('x', 6), '{}'], { index: 'gone' });
    expect(items(older)[0]).toMatchObject({ status: 409 });
  });

  test('an internal delete finds the index an earlier item of the same request auto-created', async () => {
    const r = await bulk([{ index: { _id: 'a' } }, '{}', { delete: { _id: 'b' } }], {
      index: 'fresh',
    });
    expect(items(r).map((i) => [i.status, i.result ?? i.type])).toEqual([
      [201, 'created'],
      [404, 'not_found'],
    ]);
  });

  test('dynamic mapping: first value fixes the type, conflicts are 400 mapper_parsing_exception', async () => {
    await bulk([
      { index: { _id: '1' } },
      '{"n":1,"f":1.5,"s":"text","b":true,"o":{"x":1},"arr":[1,2],"nul":null}',
    ]);
    const cases: Array<[string, number, string | undefined]> = [
      ['{"n":"42"}', 201, undefined],
      ['{"n":"4.7"}', 201, undefined],
      ['{"n":"abc"}', 400, 'mapper_parsing_exception'],
      ['{"n":true}', 400, 'mapper_parsing_exception'],
      ['{"n":{"a":1}}', 400, 'mapper_parsing_exception'],
      ['{"n":9223372036854775808}', 400, 'mapper_parsing_exception'],
      ['{"f":"2.5"}', 201, undefined],
      ['{"f":1e39}', 400, 'mapper_parsing_exception'],
      ['{"s":12}', 201, undefined],
      ['{"s":false}', 201, undefined],
      ['{"s":{"a":1}}', 400, 'mapper_parsing_exception'],
      ['{"o":5}', 400, 'mapper_parsing_exception'],
      ['{"o":[{"x":2},{"y":"z"}]}', 201, undefined],
      ['{"arr":["a"]}', 400, 'mapper_parsing_exception'],
      ['{"b":"false"}', 201, undefined],
      ['{"b":"yes"}', 400, 'mapper_parsing_exception'],
      ['{"b":1}', 400, 'mapper_parsing_exception'],
      ['{"nul":"now a string"}', 201, undefined],
      ['{"huge":100000000000000000000000000000}', 400, 'mapper_parsing_exception'],
      ['{"a.b":1}', 201, undefined],
      ['{"a":{"b":2}}', 201, undefined],
      ['{"a":{"b":"x"}}', 400, 'mapper_parsing_exception'],
      ['{"a":{"b":{"c":1}}}', 400, 'mapper_parsing_exception'],
      ['{"":1}', 400, 'mapper_parsing_exception'],
      ['{"d":"2024-01-02T03:04:05Z"}', 201, undefined],
      ['{"d":"not a date"}', 400, 'mapper_parsing_exception'],
    ];
    for (const [doc, status, type] of cases) {
      const r = await bulk([{ index: {} }, doc]);
      expect([doc, items(r)[0]!.status, items(r)[0]!.type]).toEqual([doc, status, type]);
    }
    const mapping = os.readIndex('transactions').mapping as {
      properties: Record<string, { type?: string; properties?: unknown }>;
    };
    expect(mapping.properties['n']).toEqual({ type: 'long' });
    expect(mapping.properties['f']).toEqual({ type: 'float' });
    expect(mapping.properties['s']).toEqual({
      type: 'text',
      fields: { keyword: { type: 'keyword', ignore_above: 256 } },
    });
    expect(mapping.properties['nul']).toMatchObject({ type: 'text' });
    expect(mapping.properties['huge']).toBeUndefined();
    expect(mapping.properties['d']).toEqual({ type: 'date' });
  });

  test('predefined mappings, PUT twice, HEAD', async () => {
    const mappings = {
      properties: {
        userId: { type: 'long' },
        transactionId: { type: 'long' },
        accountId: { type: 'long' },
        amount: { type: 'scaled_float', scaling_factor: 100 },
        shortDescription: {
          type: 'text',
          fields: { keyword: { type: 'keyword', ignore_above: 256 } },
        },
      },
    };
    expect((await send('HEAD', '/transactions')).status).toBe(404);
    const put = await send('PUT', '/transactions', JSON.stringify({ mappings }), {
      'content-type': 'application/json',
    });
    expect(put.status).toBe(200);
    expect((await send('HEAD', '/transactions')).status).toBe(200);
    const again = await send('PUT', '/transactions', JSON.stringify({ mappings }), {
      'content-type': 'application/json',
    });
    expect(again.status).toBe(400);
    expect(JSON.parse(again.text).error.type).toBe('resource_already_exists_exception');
    const r = await bulk([
      { index: { _id: '1' } },
      '{"userId":3,"transactionId":51,"accountId":3,"amount":11,"shortDescription":"Final mega test 2"}',
      { index: { _id: '2' } },
      '{"amount":"eleven"}',
      { index: { _id: '3' } },
      '{"amount":1e400}',
    ]);
    expect(items(r).map((i) => i.status)).toEqual([201, 400, 400]);
  });

  test('total fields limit', async () => {
    await send(
      'PUT',
      '/small',
      JSON.stringify({ settings: { 'index.mapping.total_fields.limit': 4 } }),
      { 'content-type': 'application/json' },
    );
    const r = await bulk(
      [
        { index: { _id: '1' } },
        '{"a":1,"b":2}',
        { index: { _id: '2' } },
        '{"c":"text"}',
        { index: { _id: '3' } },
        '{"d":1}',
        { index: { _id: '4' } },
        '{"e":1}',
      ],
      { index: 'small' },
    );
    expect(items(r).map((i) => [i.status, i.reason])).toEqual([
      [201, undefined],
      [201, undefined],
      [400, 'Limit of total fields [4] has been exceeded'],
      [400, 'Limit of total fields [4] has been exceeded'],
    ]);
    expect(items(r)[2]!.type).toBe('illegal_argument_exception');
    expect(os.readIndex('small').fieldCount).toBe(4);
  });

  test('413 over the payload limit, gzip accepted and recorded', async () => {
    const small = await OpenSearchStandIn.start({ auth: 'none', maxPayloadBytes: 100 });
    try {
      const r = await httpRequest(`${small.url}/t/_bulk`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-ndjson' },
        body: `{"index":{}}\n{"s":"${'x'.repeat(200)}"}\n`,
      });
      expect(r.status).toBe(413);
      expect(JSON.parse(r.text)).toEqual({ Message: 'Request size exceeded 100 bytes' });
    } finally {
      await small.close();
    }
    const body = gzipSync(Buffer.from('{"index":{"_id":"g"}}\n{"z":1}\n'));
    const g = await send('POST', '/transactions/_bulk', body, {
      'content-type': 'application/x-ndjson',
      'content-encoding': 'gzip',
    });
    expect(items(g)[0]).toMatchObject({ status: 201 });
    const rec = os.requests[os.requests.length - 1]!;
    expect(rec).toMatchObject({ gzip: true, rawBodyBytes: body.length, status: 200 });
  });

  test('filter_path', async () => {
    const r = await bulk([{ index: { _id: 'a' } }, '{}', { delete: { _id: 'b' } }], {
      query: { filter_path: 'errors,items.*.status,items.*.error' },
    });
    expect(JSON.parse(r.text)).toEqual({
      errors: false,
      items: [{ index: { status: 201 } }, { delete: { status: 404 } }],
    });
    expect(applyFilterPath({ a: { b: 1, c: 2 }, d: 3 }, '-a.b')).toEqual({ a: { c: 2 }, d: 3 });
    expect(applyFilterPath({ a: { b: { c: 1 } }, x: 1 }, '**.c')).toEqual({ a: { b: { c: 1 } } });
  });

  test('faults: item 429/503, whole-request 429/503, 403 window, dropped connections, delays, poison', async () => {
    os.faults
      .failItems({ ids: ['a'], status: 429, times: 2 })
      .failItems({ ids: ['b'], status: 503 });
    let r = await bulk([
      { index: { _id: 'a' } },
      '{}',
      { index: { _id: 'b' } },
      '{}',
      { index: { _id: 'c' } },
      '{}',
    ]);
    expect(items(r).map((i) => [i.status, i.type])).toEqual([
      [429, 'es_rejected_execution_exception'],
      [503, 'unavailable_shards_exception'],
      [201, undefined],
    ]);
    r = await bulk([{ index: { _id: 'a' } }, '{}', { index: { _id: 'b' } }, '{}']);
    expect(items(r).map((i) => i.status)).toEqual([429, 201]);
    r = await bulk([{ index: { _id: 'a' } }, '{}']);
    expect(items(r).map((i) => i.status)).toEqual([201]);

    os.faults.failNextRequests(1, 429).failNextRequests(1, 503);
    expect((await bulk([{ index: {} }, '{}'])).status).toBe(429);
    expect((await bulk([{ index: {} }, '{}'])).status).toBe(503);
    expect((await bulk([{ index: {} }, '{}'])).status).toBe(200);

    os.faults.forbidFor(1000);
    expect((await bulk([{ index: {} }, '{}'])).status).toBe(403);
    clock += 1001;
    expect((await bulk([{ index: {} }, '{}'])).status).toBe(200);

    const before = os.readIndex('transactions').docs.size;
    os.faults
      .dropConnections(1, 'before-body')
      .dropConnections(1, 'after-body')
      .dropConnections(1, 'after-apply');
    await expect(bulk([{ index: { _id: 'd1' } }, '{}'])).rejects.toThrow();
    await expect(bulk([{ index: { _id: 'd2' } }, '{}'])).rejects.toThrow();
    await expect(bulk([{ index: { _id: 'd3' } }, '{}'])).rejects.toThrow();
    const docs = os.readIndex('transactions').docs;
    expect([docs.has('d1'), docs.has('d2'), docs.has('d3'), docs.size]).toEqual([
      false,
      false,
      true,
      before + 1,
    ]);

    os.faults.slow(150, 1);
    const t0 = Date.now();
    expect((await bulk([{ index: {} }, '{}'])).status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(140);

    os.faults.poison((item) => item.rawSource?.includes('poison') ?? false);
    r = await bulk([
      { index: { _id: 'p' } },
      '{"x":"poison"}',
      { index: { _id: 'q' } },
      '{"x":"fine"}',
      { delete: { _id: 'p' } },
    ]);
    expect(items(r).map((i) => [i.status, i.type])).toEqual([
      [400, 'mapper_parsing_exception'],
      [201, undefined],
      [404, undefined],
    ]);
    expect(os.items.filter((i) => i.id === 'p').map((i) => i.status)).toEqual([400, 404]);
  });

  test('random item faults are deterministic given the seed', async () => {
    const run = async (): Promise<number[]> => {
      os.reset();
      os.faults.failItemsRandomly({ probability: 0.3, seed: 42, maxFailures: 1000 });
      const lines: unknown[] = [];
      for (let i = 0; i < 40; i++) lines.push({ index: { _id: String(i) } }, '{}');
      return items(await bulk(lines)).map((i) => i.status);
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    expect(a.filter((s) => s !== 201).length).toBeGreaterThan(3);
  });
});
