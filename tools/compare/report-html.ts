import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { LOAD_GENERATOR, NATS_SERVER, NOT_STORE, POSTGRES } from './process-stats.js';
import type { Block, Section } from './report-model.js';
import type { CompareResults, TopologyResult } from './results.js';

/**
 * report.html: one self-contained page (no network): the report's sections,
 * and charts drawn by Chart.js, whose UMD build is inlined from node_modules
 * along with the data. Opens from a file:// URL, in CI artefacts, offline.
 */
const COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export function renderHtml(report: { title: string; intro: Section; sections: readonly Section[] }, results: CompareResults): string {
  const charts = chartConfigs(results);
  const body = [
    `<h1>${inline(report.title)}</h1>`,
    ...report.intro.blocks.map((b) => renderBlock(b, charts)),
    '<nav>' + report.sections.map((s, i) => `<a href="#s${i}">${inline(s.title)}</a>`).join(' · ') + '</nav>',
    ...report.sections.map((s, i) => `<section id="s${i}"><h2>${inline(s.title)}</h2>\n${s.blocks.map((b) => renderBlock(b, charts)).join('\n')}</section>`),
  ].join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(report.title)}</title>
<style>
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px auto; max-width: 1150px; padding: 0 16px; color: #1d1d1f; }
  h1 { font-size: 22px; } h2 { font-size: 18px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
  nav { margin: 12px 0; font-size: 13px; } nav a { color: #0366d6; text-decoration: none; }
  table { border-collapse: collapse; margin: 12px 0; font-size: 13px; }
  th, td { border: 1px solid #d0d7de; padding: 4px 8px; text-align: right; vertical-align: top; }
  th:first-child, td:first-child { text-align: left; }
  th { background: #f6f8fa; }
  code { font: 12px ui-monospace, SFMono-Regular, Menlo, monospace; background: #f6f8fa; padding: 1px 3px; border-radius: 3px; word-break: break-word; }
  li { margin: 3px 0; }
  .chart { position: relative; margin: 12px 0 20px; }
  .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(340px, 1fr)); gap: 12px; }
</style>
</head>
<body>
${body}
<script>${readChartJs().replace(/<\/script/gi, '<\\/script')}</script>
<script>
const CHARTS = ${JSON.stringify(charts).replace(/</g, '\\u003c')};
// Vertical marks (kill, restart, healthy) on the fault timelines.
const marks = {
  id: 'marks',
  afterDatasetsDraw(chart, _args, options) {
    const { ctx, chartArea, scales } = chart;
    for (const mark of options.lines || []) {
      const x = scales.x.getPixelForValue(mark.x);
      ctx.save();
      ctx.strokeStyle = mark.colour; ctx.setLineDash([4, 3]); ctx.lineWidth = 1.5;
      ctx.beginPath(); ctx.moveTo(x, chartArea.top); ctx.lineTo(x, chartArea.bottom); ctx.stroke();
      ctx.fillStyle = mark.colour; ctx.font = '11px system-ui, sans-serif'; ctx.fillText(mark.label, x + 3, chartArea.top + 12 + 12 * (mark.row || 0));
      ctx.restore();
    }
  },
};
Chart.register(marks);
Chart.defaults.animation = false;
for (const [id, configs] of Object.entries(CHARTS)) {
  configs.forEach((config, i) => {
    const canvas = document.getElementById('chart-' + id + '-' + i);
    if (canvas) new Chart(canvas, config);
  });
}
</script>
</body>
</html>
`;
}

function readChartJs(): string {
  const require = createRequire(import.meta.url);
  return readFileSync(join(dirname(require.resolve('chart.js')), 'chart.umd.min.js'), 'utf8');
}

function renderBlock(block: Block, charts: Record<string, unknown[]>): string {
  switch (block.kind) {
    case 'p':
      return `<p>${inline(block.text)}</p>`;
    case 'list':
      return `<ul>${block.items.map((item) => `<li>${inline(item)}</li>`).join('')}</ul>`;
    case 'table':
      return `<table><thead><tr>${block.headers.map((h) => `<th>${inline(h)}</th>`).join('')}</tr></thead><tbody>${block.rows
        .map((row) => `<tr>${row.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`)
        .join('')}</tbody></table>`;
    case 'chart': {
      const count = charts[block.id]?.length ?? 0;
      if (count === 0) return '';
      const canvases = Array.from(
        { length: count },
        (_, i) => `<div class="chart" style="height:${block.height ?? 300}px"><canvas id="chart-${block.id}-${i}"></canvas></div>`,
      );
      return count > 1 ? `<div class="charts">${canvases.join('')}</div>` : canvases[0];
    }
  }
}

function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** `code` and **bold** of the report's text, escaped. */
function inline(text: string): string {
  return text
    .split(/(`[^`]*`)/)
    .map((part) =>
      part.startsWith('`') && part.endsWith('`') && part.length > 1
        ? `<code>${escape(part.slice(1, -1))}</code>`
        : escape(part).replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>'),
    )
    .join('');
}

/** Chart.js configurations by chart id (a list: the fault timelines are one chart per topology). */
function chartConfigs(results: CompareResults): Record<string, unknown[]> {
  const perf = results.topologies.filter((t) => t.status === 'ran' && t.performance);
  const faults = results.topologies.filter((t) => t.status === 'ran' && t.faults);
  const colour = (name: string) => COLOURS[Math.max(0, results.options.topologies.indexOf(name)) % COLOURS.length];
  const title = (text: string) => ({ display: true, text, font: { size: 14 } });
  const charts: Record<string, unknown[]> = {};
  if (perf.length) {
    charts.throughput = [
      {
        type: 'bar',
        data: {
          labels: perf.map((t) => t.name),
          datasets: [
            {
              label: 'completed checkouts/s (saturation)',
              data: perf.map((t) => finite(t.performance!.completedPerSecond)),
              backgroundColor: perf.map((t) => colour(t.name)),
            },
            {
              label: 'POSTs answered/s',
              data: perf.map((t) => finite(t.performance!.postsPerSecond)),
              backgroundColor: perf.map((t) => `${colour(t.name)}55`),
            },
          ],
        },
        options: {
          maintainAspectRatio: false,
          plugins: { title: title('Saturation throughput per topology') },
          scales: { y: { beginAtZero: true, title: { display: true, text: 'per second' } } },
        },
      },
    ];
    const names = [...new Set(perf.flatMap((t) => t.performance!.processes.map((p) => p.name)))];
    const order = [...names.filter((n) => !NOT_STORE.has(n)), ...[NATS_SERVER, POSTGRES, LOAD_GENERATOR].filter((n) => names.includes(n))];
    charts.cpu = [
      {
        type: 'bar',
        data: {
          labels: perf.map((t) => t.name),
          datasets: order.map((name, i) => ({
            label: name,
            data: perf.map((t) => finite(t.performance!.perCheckout.cpuMs[name] ?? 0)),
            backgroundColor:
              name === POSTGRES ? '#9aa5b1' : name === LOAD_GENERATOR ? '#d5dbe1' : name === NATS_SERVER ? '#6b7785' : COLOURS[(i + 3) % COLOURS.length],
          })),
        },
        options: {
          maintainAspectRatio: false,
          plugins: { title: title('CPU ms per completed checkout, by process') },
          scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, title: { display: true, text: 'CPU ms' } } },
        },
      },
    ];
  }
  if (faults.length) {
    charts.faults = faults.flatMap((t) =>
      t.faults!.map((f) => {
        const perSecond = (counts: readonly number[]) => counts.map((n, i) => ({ x: round1((f.buckets.ms[i] - f.marks.killMs) / 1000), y: n * 4 }));
        return {
          type: 'line',
          data: {
            datasets: [
              { label: '2xx /s', data: perSecond(f.buckets.accepted), borderColor: '#2ca02c', backgroundColor: '#2ca02c', pointRadius: 0, borderWidth: 2 },
              { label: '503 /s', data: perSecond(f.buckets.unavailable), borderColor: '#ff7f0e', backgroundColor: '#ff7f0e', pointRadius: 0, borderWidth: 2 },
              {
                label: 'network errors /s',
                data: perSecond(f.buckets.networkErrors),
                borderColor: '#d62728',
                backgroundColor: '#d62728',
                pointRadius: 0,
                borderWidth: 2,
              },
              {
                label: 'other statuses /s',
                data: perSecond(f.buckets.otherStatus),
                borderColor: '#7f7f7f',
                backgroundColor: '#7f7f7f',
                pointRadius: 0,
                borderWidth: 1,
              },
            ],
          },
          options: {
            maintainAspectRatio: false,
            plugins: {
              title: title(`${t.name}: ${f.description} (answers per second, 250 ms buckets)`),
              marks: {
                lines: [
                  { x: 0, label: 'fault', colour: '#d62728', row: 0 },
                  { x: round1(f.timeline.restartIssuedMs / 1000), label: 'heal', colour: '#9467bd', row: 1 },
                  { x: round1(f.timeline.healthyMs / 1000), label: 'healthy', colour: '#1f77b4', row: 2 },
                ],
              },
            },
            scales: {
              x: { type: 'linear', title: { display: true, text: 's from the fault' } },
              y: { beginAtZero: true, title: { display: true, text: 'answers/s' } },
            },
          },
        };
      }),
    );
  }
  const latency = results.topologies.filter((t) => t.status === 'ran' && t.latency && t.latency.points.length);
  if (latency.length) {
    const fixed = (t: TopologyResult) => t.latency!.points.find((p) => p.offeredPerSecond === t.latency!.fixedRate);
    const withFixed = latency.filter((t) => fixed(t));
    if (withFixed.length) {
      charts['terminal-latency'] = [
        histogramChart(
          withFixed,
          (t) => fixed(t)!.terminalHistogram,
          `POST -> order terminal at ${withFixed[0].latency!.fixedRate}/s, % of terminal orders per bucket`,
          colour,
        ),
      ];
      const waiting = withFixed.filter((t) => t.latency!.waiting);
      if (waiting.length) {
        charts['terminal-latency'].push(
          histogramChart(
            waiting,
            (t) => t.latency!.waiting!.terminalHistogram,
            `The waiting client (Prefer: wait): POST -> the 201 with the terminal order at ${waiting[0].latency!.fixedRate}/s, % per bucket`,
            colour,
          ),
        );
      }
    }
    charts.curve = [
      {
        type: 'line',
        data: {
          datasets: latency.flatMap((t) => [
            {
              label: `${t.name} p50`,
              data: t.latency!.points.map((p) => ({ x: p.offeredPerSecond, y: finite(p.terminalMs.p50) })),
              borderColor: colour(t.name),
              backgroundColor: colour(t.name),
              borderWidth: 2,
            },
            {
              label: `${t.name} p99`,
              data: t.latency!.points.map((p) => ({ x: p.offeredPerSecond, y: finite(p.terminalMs.p99) })),
              borderColor: colour(t.name),
              backgroundColor: colour(t.name),
              borderDash: [5, 4],
              borderWidth: 1.5,
            },
          ]),
        },
        options: {
          maintainAspectRatio: false,
          plugins: { title: title('POST -> order terminal, by offered load (solid p50, dashed p99)') },
          scales: {
            x: { type: 'linear', title: { display: true, text: 'offered checkouts/s (open loop)' } },
            y: { type: 'logarithmic', title: { display: true, text: 'ms (log scale)' } },
          },
        },
      },
    ];
  }
  return charts;
}

function histogramChart(
  perf: readonly TopologyResult[],
  pick: (t: TopologyResult) => { labels: readonly string[]; counts: readonly number[] },
  text: string,
  colour: (name: string) => string,
): unknown {
  const labels = pick(perf[0]).labels;
  // Only the buckets some topology uses, from the first to the last.
  const used = labels.map((_, i) => perf.some((t) => pick(t).counts[i] > 0));
  const first = Math.max(0, used.indexOf(true));
  const last = Math.max(first, used.lastIndexOf(true));
  return {
    type: 'bar',
    data: {
      labels: labels.slice(first, last + 1).map((l) => `${l} ms`),
      datasets: perf.map((t) => {
        const counts = pick(t).counts;
        const total = counts.reduce((s, x) => s + x, 0) || 1;
        return { label: t.name, data: counts.slice(first, last + 1).map((n) => round1((100 * n) / total)), backgroundColor: colour(t.name) };
      }),
    },
    options: {
      maintainAspectRatio: false,
      plugins: { title: { display: true, text, font: { size: 14 } } },
      scales: {
        y: { beginAtZero: true, title: { display: true, text: '% of samples' } },
        x: { title: { display: true, text: 'latency bucket (upper bound)' } },
      },
    },
  };
}

function finite(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}
