/**
 * Rows as an aligned plain-text table: a header of the column names, numbers right-aligned,
 * everything else left-aligned, no quotes and no index column. `(none)` for no rows.
 */
export function formatTable(table: readonly object[]): string {
  if (table.length === 0) return '(none)';
  const rows = table as ReadonlyArray<Record<string, unknown>>;
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const text = (value: unknown): string => {
    if (value === undefined || value === null) return '';
    if (value instanceof Date) return value.toISOString();
    if (typeof value === 'string') return value;
    if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return value.toString();
    return JSON.stringify(value);
  };
  const numeric = columns.map((column) =>
    rows.every((row) => row[column] === undefined || row[column] === null || typeof row[column] === 'number'),
  );
  const cells = rows.map((row) => columns.map((column) => text(row[column])));
  const widths = columns.map((column, i) => Math.max(column.length, ...cells.map((line) => line[i].length)));
  const line = (values: string[], header = false): string =>
    values
      .map((value, i) => (numeric[i] && !header ? value.padStart(widths[i]) : value.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(columns, true), line(widths.map((w) => '-'.repeat(w))), ...cells.map((values) => line(values))].join(
    '\n',
  );
}
