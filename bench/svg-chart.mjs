// A small SVG chart writer for the benchmark's figures: line charts (optionally log-scaled) and
// grouped horizontal bar charts. No dependencies; the output is a standalone SVG document that
// GitHub and browsers render as an image.

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];
const FONT = 'font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"';

export const escapeXml = (text) =>
  String(text).replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&#39;' })[c]);

const round = (n) => Math.round(n * 10) / 10;

/** A short human figure: 1234 → "1,234", 0.0123 → "0.012", 12.34 → "12.3". */
export function formatNumber(value) {
  const abs = Math.abs(value);
  if (abs >= 100) return Math.round(value).toLocaleString('en-US');
  if (abs >= 10) return String(round(value));
  if (abs >= 1) return String(Math.round(value * 100) / 100);
  return String(Number(value.toPrecision(2)));
}

/** Ticks at 1, 2 or 5 × 10^n covering [min, max]. */
export function linearTicks(min, max, count = 6) {
  if (max <= min) max = min + 1;
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  const ticks = [+(Math.floor(min / step) * step).toPrecision(12)];
  while (ticks.at(-1) < max) ticks.push(+(ticks.at(-1) + step).toPrecision(12));
  return ticks;
}

/** Powers of ten covering [min, max] (both > 0), with 2 and 5 between them when the span is short. */
export function logTicks(min, max) {
  const lo = Math.floor(Math.log10(min));
  const hi = Math.ceil(Math.log10(max));
  const ticks = [];
  for (let e = lo; e <= hi; e++) {
    ticks.push(10 ** e);
    if (hi - lo <= 3 && e < hi) ticks.push(2 * 10 ** e, 5 * 10 ** e);
  }
  return ticks.map((t) => +t.toPrecision(12));
}

function scale(domain, range, log) {
  const [d0, d1] = log ? domain.map(Math.log10) : domain;
  const [r0, r1] = range;
  return (v) => r0 + (((log ? Math.log10(v) : v) - d0) / (d1 - d0 || 1)) * (r1 - r0);
}

function header(width, height, title, subtitle) {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="600" fill="#111">${escapeXml(title)}</text>`,
    subtitle ? `<text x="16" y="42" fill="#555">${escapeXml(subtitle)}</text>` : '',
  ];
}

/**
 * Lines through points, one per series, with a dot and its value at each point.
 * spec: { title, subtitle?, width?, height?, x: { label, log? }, y: { label, log?, unit? },
 *         series: [{ name, points: [{ x, y }], dashed? }], markers?: [{ x, label }] }
 */
export function lineChart(spec) {
  const width = spec.width ?? 760;
  const height = spec.height ?? 420;
  const plot = { left: 72, right: width - 190, top: 60, bottom: height - 52 };
  const series = spec.series.filter((s) => s.points.length > 0);
  const points = series.flatMap((s) => s.points);
  const xs = [...points.map((p) => p.x), ...(spec.markers ?? []).map((m) => m.x)];
  const ys = points.map((p) => p.y);
  if (points.length === 0) {
    xs.push(0, 1);
    ys.push(1, 10);
  }
  const xTicks = spec.x.log ? logTicks(Math.min(...xs), Math.max(...xs)) : linearTicks(0, Math.max(...xs));
  const yTicks = spec.y.log
    ? logTicks(Math.max(Math.min(...ys), 1e-9), Math.max(...ys))
    : linearTicks(0, Math.max(...ys));
  const x = scale([xTicks[0], xTicks.at(-1)], [plot.left, plot.right], spec.x.log);
  const y = scale([yTicks[0], yTicks.at(-1)], [plot.bottom, plot.top], spec.y.log);
  const unit = spec.y.unit ? ` ${spec.y.unit}` : '';
  const out = header(width, height, spec.title, spec.subtitle);
  out.push('<g class="grid" stroke="#e5e5e5" stroke-width="1">');
  for (const t of yTicks)
    out.push(`<line x1="${plot.left}" x2="${plot.right}" y1="${round(y(t))}" y2="${round(y(t))}"/>`);
  for (const t of xTicks)
    out.push(`<line x1="${round(x(t))}" x2="${round(x(t))}" y1="${plot.top}" y2="${plot.bottom}"/>`);
  out.push('</g>');
  out.push('<g class="axes" fill="#333">');
  for (const t of yTicks)
    out.push(
      `<text x="${plot.left - 6}" y="${round(y(t)) + 4}" text-anchor="end">${escapeXml(formatNumber(t))}</text>`,
    );
  for (const t of xTicks)
    out.push(
      `<text x="${round(x(t))}" y="${plot.bottom + 16}" text-anchor="middle">${escapeXml(formatNumber(t))}</text>`,
    );
  out.push(
    `<text x="${(plot.left + plot.right) / 2}" y="${height - 14}" text-anchor="middle">${escapeXml(spec.x.label)}</text>`,
    `<text transform="translate(18 ${(plot.top + plot.bottom) / 2}) rotate(-90)" text-anchor="middle">${escapeXml(spec.y.label)}</text>`,
    `<rect x="${plot.left}" y="${plot.top}" width="${plot.right - plot.left}" height="${plot.bottom - plot.top}" fill="none" stroke="#999"/>`,
    '</g>',
  );
  for (const marker of spec.markers ?? []) {
    const mx = round(x(marker.x));
    out.push(
      `<g class="marker"><line x1="${mx}" x2="${mx}" y1="${plot.top}" y2="${plot.bottom}" stroke="#666" stroke-dasharray="2 3"/>`,
      `<text x="${mx + 4}" y="${plot.top + 12}" fill="#444">${escapeXml(marker.label)}</text></g>`,
    );
  }
  series.forEach((s, i) => {
    const color = PALETTE[i % PALETTE.length];
    const sorted = [...s.points].sort((a, b) => a.x - b.x);
    const path = sorted.map((p, j) => `${j === 0 ? 'M' : 'L'}${round(x(p.x))} ${round(y(p.y))}`).join(' ');
    out.push(`<g class="series" data-name="${escapeXml(s.name)}">`);
    out.push(
      `<path d="${path}" fill="none" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    for (const p of sorted) {
      // Values near the right edge are written to the left of their dot, clear of the legend.
      const nearRight = x(p.x) > plot.right - 40;
      out.push(
        `<circle cx="${round(x(p.x))}" cy="${round(y(p.y))}" r="3.5" fill="${color}"><title>${escapeXml(`${s.name}: ${formatNumber(p.y)}${unit} at ${formatNumber(p.x)}`)}</title></circle>`,
        `<text x="${round(x(p.x)) + (nearRight ? -6 : 6)}" y="${round(y(p.y)) - 6}" font-size="10" fill="${color}"${nearRight ? ' text-anchor="end"' : ''}>${escapeXml(formatNumber(p.y))}</text>`,
      );
    }
    out.push('</g>');
    const ly = plot.top + 8 + i * 20;
    out.push(
      `<g class="legend"><line x1="${plot.right + 20}" x2="${plot.right + 44}" y1="${ly}" y2="${ly}" stroke="${color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
      `<text x="${plot.right + 50}" y="${ly + 4}" fill="#222">${escapeXml(s.name)}</text></g>`,
    );
  });
  out.push('</svg>');
  return `${out.filter(Boolean).join('\n')}\n`;
}

/**
 * Horizontal bars in groups, each group on its own scale (its own unit), references drawn grey.
 * spec: { title, subtitle?, width?, groups: [{ title, unit, bars: [{ label, value, reference?, note? }] }] }
 */
export function barChart(spec) {
  const width = spec.width ?? 760;
  const barHeight = 22;
  const gap = 6;
  const labelWidth = 260;
  const left = 16 + labelWidth;
  const right = width - 150;
  const groups = spec.groups.filter((g) => g.bars.length > 0);
  const height = 60 + groups.reduce((h, g) => h + 28 + g.bars.length * (barHeight + gap) + 14, 0);
  const out = header(width, height, spec.title, spec.subtitle);
  let top = 60;
  groups.forEach((group, gi) => {
    out.push(`<g class="group" data-title="${escapeXml(group.title)}">`);
    out.push(
      `<text x="16" y="${top + 16}" font-size="13" font-weight="600" fill="#222">${escapeXml(group.title)}</text>`,
    );
    top += 28;
    const max = Math.max(...group.bars.map((b) => b.value));
    const x = scale([0, max], [left, right], false);
    const color = PALETTE[gi % PALETTE.length];
    for (const bar of group.bars) {
      const w = Math.max(1, round(x(bar.value) - left));
      const label = `${formatNumber(bar.value)} ${group.unit}${bar.note ? ` (${bar.note})` : ''}`;
      out.push(
        `<text x="${left - 8}" y="${top + barHeight / 2 + 4}" text-anchor="end" fill="#222">${escapeXml(bar.label)}</text>`,
        `<rect class="bar" x="${left}" y="${top}" width="${w}" height="${barHeight}" fill="${bar.reference ? '#9e9e9e' : color}"><title>${escapeXml(`${bar.label}: ${label}`)}</title></rect>`,
        `<text x="${left + w + 6}" y="${top + barHeight / 2 + 4}" fill="#333">${escapeXml(label)}</text>`,
      );
      top += barHeight + gap;
    }
    top += 14;
    out.push('</g>');
  });
  out.push('</svg>');
  return `${out.filter(Boolean).join('\n')}\n`;
}
