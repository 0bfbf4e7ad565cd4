/**
 * OpenSearch's REST error shape, shared by the stand-in's modules.
 * Source: OpenSearchException.generateFailureXContent / BytesRestResponse: `{error: {root_cause:
 * [cause], ...cause}, status}`; IndexNotFoundException carries `resource.type`, `resource.id`,
 * `index_uuid` ("_na_" when there is no index) and `index`.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    reason: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(reason);
  }
}

export function errorBody(
  status: number,
  type: string,
  reason: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const cause = { type, reason, ...extra };
  return { error: { root_cause: [cause], ...cause }, status };
}

/** IndexNotFoundException ("no such index [x]"), 404. */
export function indexNotFound(
  name: string,
  resourceType: 'index_or_alias' | 'index_expression' = 'index_or_alias',
): HttpError {
  return new HttpError(404, 'index_not_found_exception', `no such index [${name}]`, {
    'resource.type': resourceType,
    'resource.id': name,
    index_uuid: '_na_',
    index: name,
  });
}
