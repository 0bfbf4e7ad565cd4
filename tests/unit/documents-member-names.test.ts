/**
 * The cache of `"name":` texts is bounded, so a table whose attribute names never repeat (names
 * made from ids, say) cannot grow the Lambda's memory without end.
 */
describe('member-name cache', () => {
  const load = (): typeof import('../../lib/documents') => {
    let loaded: typeof import('../../lib/documents') | undefined;
    jest.isolateModules(() => {
      loaded = jest.requireActual<typeof import('../../lib/documents')>('../../lib/documents');
    });
    return loaded as typeof import('../../lib/documents');
  };

  it('keeps the texts of at most 10,000 distinct names and still writes later names exactly', () => {
    // Prepare: a fresh module, so no other test's names are kept.
    const { itemToJson, keptMemberNames } = load();
    const item = (i: number): Record<string, unknown> => ({ [`attr_${i}`]: { N: String(i) } });

    // Act
    for (let i = 0; i < 10_050; i++) itemToJson(item(i));
    const late = itemToJson({ ...item(10_100), 'a"b': { S: 'x' } });

    // Assert
    expect(keptMemberNames()).toBe(10_000);
    expect(late).toBe('{"attr_10100":10100,"a\\"b":"x"}');
  });

  it('keeps a name the first time it is written', () => {
    // Prepare
    const { itemToJson, keptMemberNames } = load();

    // Act
    itemToJson({ userId: { N: '1' }, amount: { N: '2' } });
    itemToJson({ userId: { N: '3' } });

    // Assert
    expect(keptMemberNames()).toBe(2);
  });
});
