import { Ledger } from '../../lib/ledger';

describe('Ledger', () => {
  it('starts with every record not done and all counters at zero', () => {
    const ledger = new Ledger(3);

    expect(ledger.closeFailed()).toEqual([0, 1, 2]);
    expect(ledger.summary).toMatchObject({ records: 3, indexed: 0, failed: 3, deadLettered: 0 });
  });

  it('counts a settled record under its counter and clears its error', () => {
    // Prepare
    const ledger = new Ledger(2);
    ledger.setError(0, 'es_rejected_execution_exception');

    // Act
    ledger.settle(0, 'indexed');

    // Assert
    expect(ledger.isDone(0)).toBe(true);
    expect(ledger.errorType(0)).toBeUndefined();
    expect(ledger.summary.indexed).toBe(1);
    expect(ledger.closeFailed()).toEqual([1]);
  });

  it('keeps the reason of a dead-lettered record and counts it', () => {
    const ledger = new Ledger(1);
    ledger.setError(0, 'mapper_parsing_exception');

    ledger.deadLettered(0);

    expect(ledger.isDone(0)).toBe(true);
    expect(ledger.errorType(0)).toBe('mapper_parsing_exception');
    expect(ledger.summary.deadLettered).toBe(1);
  });

  it('marks a shown (dry-run) record done without counting it', () => {
    const ledger = new Ledger(1);

    ledger.shown(0);

    expect(ledger.closeFailed()).toEqual([]);
    expect(ledger.summary).toMatchObject({ indexed: 0, deleted: 0, deadLettered: 0, failed: 0 });
  });

  it('keeps document ids and errors per position', () => {
    const ledger = new Ledger(2);

    ledger.setDocumentId(1, '3|51');
    ledger.setError(1, 'HTTP 503');

    expect(ledger.documentId(0)).toBeUndefined();
    expect(ledger.documentId(1)).toBe('3|51');
    expect(ledger.errorType(1)).toBe('HTTP 503');
    expect(ledger.isDone(1)).toBe(false);
  });
});
