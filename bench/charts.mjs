// Charts of one benchmark run, written as SVG next to its results JSON:
//   <stamp>.reads-latency.svg   product reads: p50/p99 against the rate, api and bare reference
//   <stamp>.orders-latency.svg  orders: response and projection-lag p50/p99 against the offered rate
//   <stamp>.throughput.svg      throughput per variant against the bare references
// `npm run bench` writes them after each run; for an existing run:
//   node bench/charts.mjs [bench/results/<stamp>.json] [--no-doc]
// (default: the newest results file). Unless --no-doc, BENCHMARKS.md's charts section is pointed
// at the new files. Figures a run does not have (older results files) are left out.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { barChart, lineChart } from './svg-chart.mjs';

const ROOT = fileURLToPath(new URL('../', import.meta.url));

const point = (x, y) => (Number.isFinite(x) && Number.isFinite(y) && y > 0 ? [{ x, y }] : []);
const maxOf = (lags, key) => (lags ? Math.max(...Object.values(lags).map((l) => l[key])) : undefined);

/** The chart specifications for a results object (pure: used by the tests too). */
export function chartSpecs(results) {
  const r = results.runs ?? {};
  const rounds = r.productById?.rounds ?? [];
  const machine = results.machine
    ? `${results.machine.cpus} × ${results.machine.cpuModel}, Node ${results.machine.node}`
    : '';

  // Reads: closed-loop rounds sit at the rate they reached; the open-loop run at its offered rate.
  const readSeries = (pick, percentile) =>
    rounds.flatMap((round) => (round[pick] ? point(round[pick].requestsPerSecond, round[pick][percentile]) : []));
  const openRead = r.productByIdAt3000;
  const reads = {
    title: 'Product by id: latency against request rate',
    subtitle: `closed-loop rounds at the rate reached; open loop at ${openRead?.offeredPerSecond ?? '–'} req/s offered. ${machine}`,
    x: { label: 'requests per second (offered for the open-loop run, reached for closed-loop rounds)' },
    y: { label: 'latency, ms (log scale)', log: true, unit: 'ms' },
    series: [
      {
        name: 'api p50',
        points: [...readSeries('api', 'p50Ms'), ...point(openRead?.offeredPerSecond, openRead?.p50Ms)],
      },
      {
        name: 'api p99',
        points: [...readSeries('api', 'p99Ms'), ...point(openRead?.offeredPerSecond, openRead?.p99Ms)],
      },
      { name: 'api untraced p99', points: readSeries('untraced', 'p99Ms'), dashed: true },
      { name: 'bare Fastify+pg p50', points: readSeries('ref', 'p50Ms'), dashed: true },
      { name: 'bare Fastify+pg p99', points: readSeries('ref', 'p99Ms'), dashed: true },
    ],
  };

  // Orders at each offered rate: the response, and the projection lag (worst projection).
  const orderRuns = [
    [r.placeOrderWithinCapacity, r.projectionLagWithinCapacity],
    [
      r.pipelineAt100?.orders,
      r.pipelineAt100 && { p50Ms: maxOf(r.pipelineAt100.lag, 'p50Ms'), p99Ms: maxOf(r.pipelineAt100.lag, 'p99Ms') },
    ],
    [
      r.pipelineAtHigh?.orders,
      r.pipelineAtHigh && { p50Ms: maxOf(r.pipelineAtHigh.lag, 'p50Ms'), p99Ms: maxOf(r.pipelineAtHigh.lag, 'p99Ms') },
    ],
    [r.placeOrderAt300, r.projectionLagAt300],
    [r.placeOrderAt600, r.projectionLagAt600],
  ].filter(([run]) => run?.offeredPerSecond);
  const orderSeries = (key, index) =>
    orderRuns.flatMap((pair) => (pair[index] ? point(pair[0].offeredPerSecond, pair[index][key]) : []));
  const orders = {
    title: 'Place order: latency and projection lag against offered rate',
    subtitle: `open loop; projection lag of the slowest projection. ${machine}`,
    x: { label: 'orders per second offered' },
    y: { label: 'ms (log scale)', log: true, unit: 'ms' },
    series: [
      { name: 'order p50', points: orderSeries('p50Ms', 0) },
      { name: 'order p99', points: orderSeries('p99Ms', 0) },
      { name: 'lag p50', points: orderSeries('p50Ms', 1), dashed: true },
      { name: 'lag p99', points: orderSeries('p99Ms', 1), dashed: true },
    ],
    markers: r.placeOrderMax
      ? [{ x: r.placeOrderMax.requestsPerSecond, label: `closed-loop max ${r.placeOrderMax.requestsPerSecond}/s` }]
      : [],
  };

  const best = (pick) => Math.max(0, ...rounds.map((round) => round[pick]?.requestsPerSecond ?? 0));
  const readBars = [
    { label: 'bare Fastify + pg (reference)', value: r.productById?.reference ?? best('ref'), reference: true },
    { label: 'api, tracing off', value: r.tracing?.off ?? best('untraced') },
    { label: 'api, 10 % of requests traced', value: r.tracing?.sampledTenPercent ?? best('sampled') },
    { label: 'api, every request traced', value: r.productById?.api ?? best('api') },
    { label: 'api, category + price query', value: r.categoryPrice?.requestsPerSecond },
  ];
  const orderBars = [
    { label: 'bare Fastify + pg (write reference)', value: r.writeReference?.reference, reference: true },
    { label: 'closed loop, as fast as answered', value: r.placeOrderMax?.requestsPerSecond },
    {
      label: `answered at ${r.pipelineAtHigh?.rate ?? '–'}/s offered`,
      value: r.pipelineAtHigh?.orders?.requestsPerSecond,
    },
  ];
  const cpu = (run) => run?.cpuMsPerOrder?.projector;
  const cpuBars = [
    { label: 'bare pg + amqplib (floor)', value: r.pipelineFloor?.msPerOrder, reference: true },
    { label: 'at 100/s', value: cpu(r.pipelineAt100) },
    { label: `at ${r.pipelineAtHigh?.rate ?? '–'}/s offered`, value: cpu(r.pipelineAtHigh) },
    { label: 'catching up on a backlog', value: cpu(r.pipelineBacklog) },
  ];
  const present = (bars) => bars.filter((b) => Number.isFinite(b.value) && b.value > 0);
  const ratio = r.productById?.ratio;
  const throughput = {
    title: 'Throughput per variant against the bare references',
    subtitle: `${ratio ? `api every request traced = ${ratio} × the bare reference. ` : ''}${machine}`,
    groups: [
      { title: 'Product by id (and the category query), requests per second', unit: 'req/s', bars: present(readBars) },
      { title: 'Place order, orders per second', unit: 'orders/s', bars: present(orderBars) },
      { title: 'Projector CPU per placed order (lower is better)', unit: 'ms', bars: present(cpuBars) },
    ],
  };
  return { 'reads-latency': lineChart(reads), 'orders-latency': lineChart(orders), throughput: barChart(throughput) };
}

/** Writes the charts next to `resultsFile`; returns their paths. */
export function writeCharts(resultsFile, { updateDoc = true } = {}) {
  const results = JSON.parse(readFileSync(resultsFile, 'utf8'));
  const stem = join(dirname(resultsFile), basename(resultsFile, '.json'));
  const charts = Object.entries(chartSpecs(results)).map(([name, svg]) => {
    const file = `${stem}.${name}.svg`;
    writeFileSync(file, svg);
    return { file, title: /<title>([^<]*)<\/title>/.exec(svg)[1] };
  });
  const files = charts.map((c) => c.file);
  if (updateDoc) {
    const doc = join(ROOT, 'BENCHMARKS.md');
    const current = readFileSync(doc, 'utf8');
    const links = charts.map((c) => `![${c.title}](${relative(ROOT, c.file)})`);
    const section = `<!-- charts:start -->\nFrom \`${relative(ROOT, resultsFile)}\` (\`node bench/charts.mjs <results file>\` draws them for any run):\n\n${links.join('\n\n')}\n<!-- charts:end -->`;
    if (/<!-- charts:start -->[\s\S]*<!-- charts:end -->/.test(current))
      writeFileSync(doc, current.replace(/<!-- charts:start -->[\s\S]*<!-- charts:end -->/, section));
  }
  return files;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const given = args.find((a) => !a.startsWith('--'));
  const dir = join(ROOT, 'bench/results');
  const file = given
    ? resolve(given)
    : join(
        dir,
        readdirSync(dir)
          .filter((f) => /^\d{4}-.*\.json$/.test(f))
          .sort()
          .at(-1),
      );
  for (const written of writeCharts(file, { updateDoc: !args.includes('--no-doc') })) console.log(written);
}
