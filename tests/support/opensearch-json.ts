/** JSON output for the OpenSearch stand-in: bigint as JSON numbers, stored `_source` verbatim. */

/** A value serialised as the given JSON text, verbatim (used to return `_source` as it was indexed). */
export class RawJson {
  constructor(readonly text: string) {}
}

export const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  v !== null &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  Object.getPrototypeOf(v) === Object.prototype;

/** JSON.stringify that writes bigint as a JSON number and RawJson verbatim. */
export function serialize(v: unknown): string {
  if (v instanceof RawJson) return v.text;
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v))
    return `[${v.map((x) => (x === undefined ? 'null' : serialize(x))).join(',')}]`;
  if (isPlainObject(v)) {
    return `{${Object.entries(v)
      .filter(([, x]) => x !== undefined)
      .map(([k, x]) => `${JSON.stringify(k)}:${serialize(x)}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}
