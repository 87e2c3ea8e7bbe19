// Writes deploy/k8s/monitoring/prometheus-rules.yaml from deploy/prometheus/alerts.yml: the same
// groups, as a Prometheus Operator PrometheusRule. Run after editing the rules:
//   node deploy/prometheus/sync-k8s-rules.mjs
// (test/architecture/observability.spec.ts fails while the two differ.)
import { readFileSync, writeFileSync } from 'node:fs';
import { parse, stringify } from 'yaml';

const here = new URL('./', import.meta.url);
const rules = parse(readFileSync(new URL('alerts.yml', here), 'utf8'));
const manifest = {
  apiVersion: 'monitoring.coreos.com/v1',
  kind: 'PrometheusRule',
  metadata: {
    name: 'emporium',
    labels: { 'app.kubernetes.io/part-of': 'emporium', 'app.kubernetes.io/name': 'emporium-alerts' },
  },
  spec: { groups: rules.groups },
};
const header =
  '# Generated from deploy/prometheus/alerts.yml by `node deploy/prometheus/sync-k8s-rules.mjs`: edit\n' +
  '# that file, not this one. Needs the Prometheus Operator (its ruleSelector must match these labels).\n';
writeFileSync(
  new URL('../k8s/monitoring/prometheus-rules.yaml', here),
  header + stringify(manifest, { lineWidth: 0, singleQuote: true }),
);
