/**
 * CloudWatch metrics in the embedded metric format (EMF): the fields that turn the 'batch
 * processed' log line into metrics. Pure: a summary in, JSON members out; the logger writes them.
 *
 * CloudWatch Logs extracts metrics from any JSON log event whose root holds an `_aws` member
 * (AWS CloudWatch guide, "Specification: Embedded metric format"):
 *
 *   { "_aws": { "Timestamp": <epoch ms>,
 *               "CloudWatchMetrics": [ { "Namespace": "...",
 *                                        "Dimensions": [ ["Service", "Index"] ],
 *                                        "Metrics": [ { "Name": "indexed", "Unit": "Count" } ] } ] },
 *     "Service": "...", "Index": "...", "indexed": 3, ... }
 *
 * Every name in a DimensionSet and every metric Name must be a member of the root (the "target
 * members"): dimension values as strings, metric values as numbers. A DimensionSet holds at most
 * 30 names, a directive at most 100 metrics. Lambda ships stderr lines to CloudWatch Logs as log
 * events, so no API call and no extra latency is needed: the summary line already exists.
 *
 * The metric names ARE the summary's field names, so a value is written once and read twice (by
 * Logs Insights as a field and by CloudWatch as a metric). Written by hand rather than with
 * @aws-lambda-powertools/metrics: the format is a dozen lines of JSON, and the handler's cold start
 * should not pay for loading a library (and its commons) to produce them.
 */
import type { BatchSummary } from './ledger';

export type MetricUnit = 'Count' | 'Bytes' | 'Milliseconds' | 'Seconds';

/** Where the metrics go: METRICS_NAMESPACE and METRICS_DIMENSIONS (lib/config.ts). */
export interface MetricsSpec {
  readonly namespace: string;
  /** Dimension name -> literal value, in order; every metric carries the whole set. */
  readonly dimensions: readonly (readonly [name: string, value: string])[];
}

/** The published metrics: summary field (= metric name) and unit. */
export const SUMMARY_METRICS: readonly (readonly [keyof BatchSummary, MetricUnit])[] = [
  ['records', 'Count'],
  ['indexed', 'Count'],
  ['deleted', 'Count'],
  ['stale', 'Count'],
  ['superseded', 'Count'],
  ['deadLettered', 'Count'],
  ['failed', 'Count'],
  ['requests', 'Count'],
  ['bytes', 'Bytes'],
  ['retried', 'Count'],
  ['ms', 'Milliseconds'],
];

/** Seconds from the newest record's creation to the end of its batch: how far behind the index is. */
export const FRESHNESS_METRIC = 'freshness';

export const DEFAULT_METRICS_NAMESPACE = 'DynamoDBOpenSearchIndexer';
export const DEFAULT_METRICS_SERVICE = 'dynamodb-opensearch-indexer';

export type EmfFields = Record<string, unknown>;

/** Summary, freshness (s) and timestamp (epoch ms) -> the members to add to the summary line. */
export type Emf = (
  summary: BatchSummary,
  freshnessSeconds: number | undefined,
  timestampMs: number,
) => EmfFields;

/**
 * Builds the EMF members for one spec. The directive (namespace, dimension names, metric list) is
 * built once per container; per invocation only the timestamp, the dimension values and, when
 * known, the freshness are added to the summary fields.
 */
export function createEmf(spec: MetricsSpec): Emf {
  const metrics = SUMMARY_METRICS.map(([name, unit]) => ({ Name: name, Unit: unit }));
  const dimensionNames = spec.dimensions.map(([name]) => name);
  const directive = (withFreshness: boolean): unknown => ({
    Namespace: spec.namespace,
    Dimensions: [dimensionNames],
    Metrics: withFreshness ? [...metrics, { Name: FRESHNESS_METRIC, Unit: 'Seconds' }] : metrics,
  });
  // A target member must exist on the line, so a batch without a creation time (empty, or a
  // source that has none) publishes everything but freshness rather than a made-up value.
  const withFreshness = [directive(true)];
  const withoutFreshness = [directive(false)];
  const dimensionValues: EmfFields = {};
  for (const [name, value] of spec.dimensions) dimensionValues[name] = value;

  return (summary, freshnessSeconds, timestampMs) => {
    const fields: EmfFields = { ...summary, ...dimensionValues };
    if (freshnessSeconds !== undefined) fields[FRESHNESS_METRIC] = freshnessSeconds;
    fields._aws = {
      Timestamp: timestampMs,
      CloudWatchMetrics: freshnessSeconds === undefined ? withoutFreshness : withFreshness,
    };
    return fields;
  };
}

/**
 * Now minus the newest creation time, in seconds (never negative: the stream rounds creation
 * times down to the second, and a clock a little behind must not read as "from the future").
 * Undefined when no record has a creation time.
 */
export function freshnessSeconds(newestCreatedSeconds: number, nowMs: number): number | undefined {
  if (newestCreatedSeconds <= 0) return undefined;
  return Math.max(0, Math.round(nowMs - newestCreatedSeconds * 1000) / 1000);
}

/** Log-line members a dimension name must not take over. */
const RESERVED = new Set(['_aws', 'level', 'time', 'msg', 'requestId', FRESHNESS_METRIC]);

/** `Name=value,Name=value` (METRICS_DIMENSIONS) -> pairs, unchecked. */
export function splitDimensions(text: string): [string, string][] {
  return text.split(',').map((pair) => {
    const at = pair.indexOf('=');
    return at < 0 ? [pair.trim(), ''] : [pair.slice(0, at).trim(), pair.slice(at + 1).trim()];
  });
}

/** Checks dimension pairs against CloudWatch's and EMF's rules; returns the problems found. */
export function checkDimensions(
  pairs: readonly (readonly [string, string])[],
  summaryFields: readonly string[],
): { dimensions: [string, string][]; problems: string[] } {
  const problems: string[] = [];
  const dimensions: [string, string][] = [];
  const seen = new Set<string>();
  for (const [name, value] of pairs) {
    // CloudWatch Dimension: name 1-255 and value 1-1024 printable ASCII, name not starting with ':'.
    if (!/^[\x20-\x7e]{1,255}$/.test(name) || name.startsWith(':')) {
      problems.push(
        `dimension name "${name}" must be 1-255 printable ASCII characters, not starting with ":"`,
      );
    } else if (!/^[\x20-\x7e]{1,1024}$/.test(value) || value.trim() === '') {
      problems.push(`dimension ${name} needs a value of 1-1024 printable ASCII characters`);
    } else if (RESERVED.has(name) || summaryFields.includes(name)) {
      problems.push(`dimension name "${name}" is a field of the log line; choose another`);
    } else if (seen.has(name)) {
      problems.push(`dimension ${name} is given twice`);
    } else {
      seen.add(name);
      dimensions.push([name, value]);
    }
  }
  // An EMF DimensionSet holds at most 30 dimension names.
  if (dimensions.length > 30) problems.push('at most 30 dimensions');
  return { dimensions, problems };
}

/** CloudWatch namespaces: 1-255 of [A-Za-z0-9 ._-/#:], and `AWS/` is reserved for AWS. */
export function isValidNamespace(namespace: string): boolean {
  return /^[A-Za-z0-9 ._\-/#:]{1,255}$/.test(namespace) && !namespace.startsWith('AWS/');
}
