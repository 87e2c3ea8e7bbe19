import { formatTable } from './table.js';

describe('formatTable', () => {
  it('aligns columns under their names, numbers to the right, with no quotes and no index', () => {
    const table = formatTable([
      { projection: 'catalog', headPosition: '1042', lagEvents: 0, deadLetters: 3 },
      { projection: 'orders', headPosition: '7', lagEvents: 12, deadLetters: 'unknown (timeout)' },
    ]);
    expect(table.split('\n')).toEqual([
      'projection  headPosition  lagEvents  deadLetters',
      '----------  ------------  ---------  -----------------',
      'catalog     1042                  0  3',
      'orders      7                    12  unknown (timeout)',
    ]);
  });

  it('says so when there is nothing to show', () => {
    expect(formatTable([])).toBe('(none)');
  });
});
