/**
 * The partial batch response, as a pure function of which records are not done. Lambda
 * checkpoints at the lowest `itemIdentifier` it is given and re-delivers every record from there
 * (REFERENCE "Partial batch response"), so exactly one identifier is reported: the lowest among
 * the records that are not done. The identifier is a DynamoDB Streams `SequenceNumber` or a
 * Kinesis `sequenceNumber`; both are decimal strings, compared as BigInt, never as numbers.
 */
import type { DynamoDBBatchResponse } from 'aws-lambda';
import { UnreportableFailureError } from './errors';

/** The identifier a source reports for the record at a position, if it has one. */
export type IdentifierOf = (position: number) => string | undefined;

const USABLE_IDENTIFIER = /^\d+$/;

/**
 * The record whose identifier stands for a failed record: itself, or the nearest earlier record
 * with a usable one. Reporting an earlier record is safe (Lambda re-delivers everything after it);
 * an empty or malformed identifier would fail the whole batch.
 */
export function reportablePosition(
  position: number,
  identifierOf: IdentifierOf,
): { readonly position: number; readonly identifier: string } | undefined {
  for (let p = position; p >= 0; p--) {
    const identifier = identifierOf(p);
    if (identifier !== undefined && USABLE_IDENTIFIER.test(identifier)) {
      return { position: p, identifier };
    }
  }
  return undefined;
}

/**
 * `{ batchItemFailures: [] }` when nothing failed, else the one lowest reportable identifier.
 * Throws UnreportableFailureError when a failed record has no reportable identifier at all.
 */
export function batchResponse(
  failed: readonly number[],
  identifierOf: IdentifierOf,
): DynamoDBBatchResponse {
  let earliest: { identifier: string; value: bigint } | undefined;
  for (const position of failed) {
    const reportable = reportablePosition(position, identifierOf);
    if (reportable === undefined) throw new UnreportableFailureError(position);
    const value = BigInt(reportable.identifier);
    if (earliest === undefined || value < earliest.value) {
      earliest = { identifier: reportable.identifier, value };
    }
  }
  return {
    batchItemFailures: earliest === undefined ? [] : [{ itemIdentifier: earliest.identifier }],
  };
}
