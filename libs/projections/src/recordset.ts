import { sql, type AliasedRawBuilder } from 'kysely';

/** PostgreSQL types a recordset column can be read as. */
type ColumnSqlType = 'uuid' | 'text' | 'int' | 'bigint' | 'date' | 'timestamptz' | 'jsonb';

/**
 * A batch of rows sent as one jsonb parameter and read back as a typed relation named `alias`:
 * the input of a set-based write (`insert ... select from`, `update ... from`), one statement
 * however many rows. `columns` gives each column's SQL type; members left out of a row (or
 * `undefined`) read as null.
 */
export function recordset<R extends object, A extends string>(
  alias: A,
  rows: readonly R[],
  columns: { readonly [K in keyof R]-?: ColumnSqlType },
): AliasedRawBuilder<R, A> {
  // Names and types come from the code, never from the rows: safe to write into the statement.
  const definition = Object.entries(columns)
    .map(([name, type]) => `${name} ${type as string}`)
    .join(', ');
  return sql<R>`(select * from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(${sql.raw(definition)}))`.as(
    alias,
  );
}
