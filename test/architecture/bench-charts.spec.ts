import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { ROOT } from './observability-files.js';

/** Every tag closed in order, one root <svg> element in the SVG namespace: a well-formed document. */
function wellFormedSvg(svg: string): string[] {
  const problems: string[] = [];
  if (!/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/.test(svg))
    problems.push('root is not an <svg> in the SVG namespace');
  const stack: string[] = [];
  for (const [tag, close, name, selfClosing] of svg.matchAll(/<(\/?)([a-zA-Z][\w-]*)[^>]*?(\/?)>/g)) {
    if (selfClosing) continue;
    if (!close) stack.push(name);
    else if (stack.pop() !== name) problems.push(`unbalanced ${tag}`);
  }
  if (stack.length) problems.push(`unclosed ${stack.join(', ')}`);
  if (/NaN|undefined|Infinity/.test(svg)) problems.push('a figure is NaN, undefined or Infinity');
  // Text outside tags holds no raw & or < (escaped).
  if (/&(?!amp;|lt;|gt;|quot;|#39;)/.test(svg)) problems.push('an unescaped &');
  return problems;
}

const run = (round: number, api: number, ref: number) => ({
  ref: { requestsPerSecond: ref, p50Ms: 2, p99Ms: 9 },
  api: { requestsPerSecond: api, p50Ms: 12 + round, p99Ms: 30 + round },
  untraced: { requestsPerSecond: api * 1.5, p50Ms: 8, p99Ms: 20 },
  sampled: { requestsPerSecond: api * 1.2, p50Ms: 10, p99Ms: 25 },
});
const pipeline = (rate: number, projectorMs: number) => ({
  rate,
  cpuMsPerOrder: { projector: projectorMs },
  lag: { catalog: { p50Ms: 5, p99Ms: 20 }, orders: { p50Ms: 7, p99Ms: 31 } },
  orders: { offeredPerSecond: rate, requestsPerSecond: rate - 1, p50Ms: 6, p99Ms: 40 },
});
const results = {
  machine: { cpus: 2, cpuModel: 'Test CPU & Co', node: 'v20.0.0' },
  runs: {
    productById: { reference: 9000, api: 3000, ratio: 0.33, rounds: [run(1, 2900, 8800), run(2, 3000, 9000)] },
    tracing: { on: 3000, off: 4500, sampledTenPercent: 3600 },
    productByIdAt3000: { offeredPerSecond: 3000, p50Ms: 45, p99Ms: 800 },
    categoryPrice: { requestsPerSecond: 2100 },
    placeOrderMax: { requestsPerSecond: 150 },
    writeReference: { reference: 1400, api: 150, ratio: 0.11 },
    placeOrderWithinCapacity: { offeredPerSecond: 70, p50Ms: 6, p99Ms: 32 },
    projectionLagWithinCapacity: { p50Ms: 7, p99Ms: 23 },
    pipelineAt100: pipeline(100, 2.4),
    pipelineAtHigh: pipeline(300, 0.8),
    pipelineBacklog: { cpuMsPerOrder: { projector: 0.65 } },
    placeOrderAt300: { offeredPerSecond: 300, p50Ms: 900, p99Ms: 2500 },
    projectionLagAt300: { p50Ms: 60, p99Ms: 180 },
    placeOrderAt600: { offeredPerSecond: 600, p50Ms: 4000, p99Ms: 9000 },
    projectionLagAt600: { p50Ms: 140, p99Ms: 390 },
    pipelineFloor: { msPerOrder: 0.6 },
  },
};

describe('benchmark charts (bench/charts.mjs)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'emporium-charts-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const draw = (data: unknown, name = 'run.json') => {
    const file = join(dir, name);
    writeFileSync(file, JSON.stringify(data));
    execFileSync(process.execPath, ['bench/charts.mjs', file, '--no-doc'], { cwd: ROOT });
    const read = (chart: string) => readFileSync(join(dir, `${basename(name, '.json')}.${chart}.svg`), 'utf8');
    return { reads: read('reads-latency'), orders: read('orders-latency'), throughput: read('throughput') };
  };

  it('writes latency-against-rate charts for reads and orders and a throughput chart next to the results', () => {
    const charts = draw(results);
    for (const svg of Object.values(charts)) expect(wellFormedSvg(svg)).toEqual([]);

    // Reads: each round and the open-loop run is a point, with its value; the reference too.
    const series = (svg: string, name: string) =>
      new RegExp(`<g class="series" data-name="${name}">([\\s\\S]*?)</g>`).exec(svg)?.[1] ?? '';
    expect(series(charts.reads, 'api p99').match(/<circle/g)).toHaveLength(3);
    expect(series(charts.reads, 'api p99')).toContain('api p99: 800 ms at 3,000');
    expect(series(charts.reads, 'bare Fastify\\+pg p99').match(/<circle/g)).toHaveLength(2);

    // Orders: p50/p99 and lag at 70, 100, 300 (the pipeline run and the fixed-rate one) and 600
    // offered, and the closed-loop capacity.
    expect(series(charts.orders, 'order p99').match(/<circle/g)).toHaveLength(5);
    expect(series(charts.orders, 'lag p99')).toContain('lag p99: 31 ms at 100');
    expect(charts.orders).toContain('closed-loop max 150/s');

    // Throughput: every variant against the bare references (read, write, floor), drawn grey.
    expect(charts.throughput.match(/<rect class="bar"/g)).toHaveLength(5 + 3 + 4);
    for (const label of [
      '9,000 req/s',
      '4,500 req/s',
      '3,600 req/s',
      '3,000 req/s',
      '2,100 req/s',
      '150 orders/s',
      '1,400 orders/s',
      '0.6 ms',
    ])
      expect(charts.throughput).toContain(label);
    expect(charts.throughput.match(/fill="#9e9e9e"/g)).toHaveLength(3);
    expect(charts.throughput).toContain('Test CPU &amp; Co');
  });

  it('draws an older results file, leaving out the figures it does not have', () => {
    const {
      pipelineAt100: _a,
      pipelineAtHigh: _b,
      pipelineBacklog: _c,
      pipelineFloor: _d,
      writeReference: _e,
      placeOrderAt300: _f,
      projectionLagAt300: _g,
      ...older
    } = results.runs;
    const charts = draw({ ...results, runs: { ...older, productById: { reference: 9000, api: 3000 } } });
    for (const svg of Object.values(charts)) expect(wellFormedSvg(svg)).toEqual([]);
    expect(charts.throughput).not.toContain('Projector CPU');
    expect(charts.orders.match(/<circle/g)).toHaveLength(2 * 2 + 2 * 2);
  });

  it('BENCHMARKS.md shows the charts of a committed run, and they are what the script draws from it', () => {
    const doc = readFileSync(`${ROOT}BENCHMARKS.md`, 'utf8');
    const section = /<!-- charts:start -->([\s\S]*)<!-- charts:end -->/.exec(doc)?.[1] ?? '';
    const images = [...section.matchAll(/!\[[^\]]+\]\((bench\/results\/[^)]+\.svg)\)/g)].map((m) => m[1]);
    expect(images.map((i) => i.replace(/^.*\.(\w[\w-]*)\.svg$/, '$1'))).toEqual([
      'reads-latency',
      'orders-latency',
      'throughput',
    ]);
    const json = images[0].replace(/\.reads-latency\.svg$/, '.json');
    expect(existsSync(`${ROOT}${json}`)).toBe(true);
    copyFileSync(`${ROOT}${json}`, join(dir, basename(json)));
    execFileSync(process.execPath, ['bench/charts.mjs', join(dir, basename(json)), '--no-doc'], { cwd: ROOT });
    for (const image of images)
      expect(readFileSync(join(dir, basename(image)), 'utf8')).toBe(readFileSync(`${ROOT}${image}`, 'utf8'));
  });
});
