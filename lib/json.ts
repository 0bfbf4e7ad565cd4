/**
 * JSON text -> its value, or undefined for text that is not JSON (an error page from a proxy, a
 * cut-off body): callers then treat the answer as having no readable body.
 */
export function parseJsonOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Not JSON: no value (the empty block is deliberate, the fallback is below).
  }
  return undefined;
}
