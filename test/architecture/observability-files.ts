import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The operator's view as files: the Grafana dashboard and the Prometheus alert rules. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface Target {
  refId: string;
  expr?: string;
  datasource?: { type: string; uid: string };
  [key: string]: unknown;
}

export interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type: string; uid: string };
  targets?: Target[];
  gridPos: { x: number; y: number; w: number; h: number };
  fieldConfig?: { defaults?: { links?: Array<{ title: string; url: string }> } };
}

export interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations: Record<string, string>;
}

export const DASHBOARD_FILE = 'deploy/grafana/dashboards/emporium.json';
export const RULES_FILE = 'deploy/prometheus/alerts.yml';

export function dashboard(): { uid: string; title: string; panels: Panel[] } {
  return JSON.parse(readFileSync(`${ROOT}${DASHBOARD_FILE}`, 'utf8')) as {
    uid: string;
    title: string;
    panels: Panel[];
  };
}

export function rules(): Rule[] {
  const file = parse(readFileSync(`${ROOT}${RULES_FILE}`, 'utf8')) as { groups: Array<{ rules: Rule[] }> };
  return file.groups.flatMap((g) => g.rules);
}

/** Every PromQL expression of the dashboard's Prometheus panels, with Grafana's variables resolved. */
export function dashboardExpressions(): Array<{ panel: string; expr: string }> {
  return dashboard()
    .panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, t })))
    .filter(({ t }) => t.expr !== undefined)
    .map(({ panel, t }) => ({ panel, expr: t.expr!.replace(/\$__rate_interval|\$__interval|\$__range/g, '5m') }));
}

export function ruleExpressions(): Array<{ rule: string; expr: string }> {
  return rules().map((r) => ({ rule: r.alert, expr: r.expr }));
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'and',
  'or',
  'unless',
  'bool',
]);

/**
 * The metric names a PromQL expression selects: identifiers that are not functions, aggregation
 * operators, keywords, label names (in `{…}` or `by (…)`) or numbers/durations.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\boffset\s+\d+[smhdwy]/g, ' ');
  const names = new Set<string>();
  for (const match of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const name = match[0];
    const after = stripped.slice(match.index + name.length);
    if (/^\s*\(/.test(after) || KEYWORDS.has(name)) continue;
    if (/^\d/.test(stripped.slice(match.index - 1, match.index))) continue; // 5m, 1e3
    names.add(name);
  }
  return [...names];
}

/** Series Prometheus itself makes for each target; no app exports them. */
export const PROMETHEUS_SERIES = new Set(['up']);
