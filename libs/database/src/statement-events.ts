import { context, trace } from '@opentelemetry/api';
import { isTracingSuppressed, suppressTracing } from '@opentelemetry/core';

/**
 * Runs a transaction traced as the active span (a command's, a delivery's or a batch's) instead
 * of a span per statement:
 * the SQL spans of `pg` are suppressed inside it, and MikroORM's statements become events of
 * that span (`statementEvent`, installed as the ORM's `onQuery` hook), so Jaeger still shows
 * when each statement started and the gaps between them. A span per statement cost more than
 * its statement's round trip (BENCHMARKS.md).
 */
export function withStatementsAsEvents<T>(work: () => Promise<T>): Promise<T> {
  return context.with(suppressTracing(context.active()), work);
}

/**
 * One event on the active span per round trip sent inside `withStatementsAsEvents`, named after
 * the statements it carries ("sql insert orders; update products; insert event_log; commit").
 * MikroORM calls this before it inlines the values, so `;` only ever separates statements.
 */
export function statementEvent(sql: string): void {
  const active = context.active();
  if (!isTracingSuppressed(active)) return;
  const span = trace.getSpan(active);
  if (span?.isRecording()) span.addEvent(`sql ${sql.split(';').map(summary).join('; ')}`);
}

const VERB = /^\s*(?:begin;\s*)?(?:with\s+(\w+)\s+as\s*\(\s*)?(select|insert\s+into|update|delete\s+from)\b/i;
const TABLE = /\b(?:from|into|update)\s+"?([a-z_][\w]*)"?/i;

/** "insert event_log", "select products", "update products": the statement's verb and table. */
export function summary(text: string): string {
  const sql = text.slice(0, 240);
  const verb = VERB.exec(sql);
  if (!verb) return sql.trim().split(/\s+/, 1)[0].toLowerCase();
  const table = TABLE.exec(sql.slice(verb.index + verb[0].length - verb[2].length));
  return `${verb[2].split(/\s+/)[0].toLowerCase()}${table ? ` ${table[1]}` : ''}`;
}
