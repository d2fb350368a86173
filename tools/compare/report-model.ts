import { describe } from './diff.js';
import { LOAD_GENERATOR, NATS_SERVER, POSTGRES } from './process-stats.js';
import { BASELINE } from './options.js';
import { fixedPoint, MEASURES, storeCpuPerCheckout, storePeakRss, totalCpuPerCheckout } from './ratios.js';
import type { RatePoint } from './rate-load.js';
import type { CompareResults, TopologyResult } from './results.js';

/**
 * The report as sections of paragraphs, lists and tables, rendered both as
 * Markdown (summary.md) and HTML (report.html, which adds the charts), so
 * the two never say different things. Inline `code` and **bold** are allowed in text.
 */
export type Block =
  | { readonly kind: 'p'; readonly text: string }
  | { readonly kind: 'list'; readonly items: readonly string[] }
  | { readonly kind: 'table'; readonly headers: readonly string[]; readonly rows: ReadonlyArray<readonly string[]> }
  | { readonly kind: 'chart'; readonly id: string; readonly height?: number };

export interface Section {
  readonly title: string;
  readonly blocks: readonly Block[];
}

const MAX_DIFFERENCES_SHOWN = 60;

export function fmt(value: number | null | undefined, unit = ''): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return '-';
  const text = Number.isInteger(value)
    ? String(value)
    : Math.abs(value) >= 100
      ? value.toFixed(0)
      : Math.abs(value) >= 10
        ? value.toFixed(1)
        : value.toFixed(2);
  return `${text}${unit}`;
}

function seconds(ms: number | null | undefined): string {
  return ms === null || ms === undefined || !Number.isFinite(ms) ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

function counts(record: Readonly<Record<string, number>>): string {
  const entries = Object.entries(record).sort((a, b) => b[1] - a[1]);
  return entries.length === 0 ? '0' : entries.map(([k, v]) => `${k}: ${v}`).join(', ');
}

export function buildReport(results: CompareResults): { title: string; intro: Section; sections: Section[] } {
  const ran = results.topologies.filter((t) => t.status === 'ran');
  const perf = ran.filter((t) => t.performance);
  const latency = ran.filter((t) => t.latency && t.latency.points.length > 0);
  const faults = ran.filter((t) => t.faults && t.faults.length > 0);
  const o = results.options;
  const title = `Topology comparison: ${o.topologies.join(' vs ')}`;
  const intro: Section = {
    title,
    blocks: [
      {
        kind: 'p',
        text:
          `${results.startedAt.replace('T', ' ').slice(0, 19)} UTC, ${results.wallSeconds} s in all. Machine: ${results.machine.cpus} CPUs (${results.machine.cpuModel}), ` +
          `${results.machine.memoryGiB} GiB, Node ${results.machine.node}; ${results.machine.database}; NATS: ${results.machine.nats}. ` +
          `Machine busy before the run: ${fmt(results.machine.busyBeforeRunPercentOfCore)}% of one core${(results.machine.busyBeforeRunPercentOfCore ?? 0) > 20 ? ' (**other workloads were running: the performance numbers are skewed**)' : ''}.`,
      },
      {
        kind: 'p',
        text:
          `Options: parts ${o.parts.join(', ')}; seed ${o.seed}` +
          (o.parts.includes('saturation') ? `; saturation: ${o.concurrency} connections for ${o.durationS} s` : '') +
          (results.rates
            ? `; offered rates ${results.rates.curve.map((r) => `${r}/s`).join(', ')} (fixed: ${results.rates.fixedRate}/s for ${o.rateDurationS} s, the others ${o.stepDurationS} s each)`
            : '') +
          (o.parts.includes('faults')
            ? `; faults ${o.faults.join(', ')} of \`${o.faultModule}\` for ${o.faultMs} ms each (slow: +${o.slowMs} ms each way)`
            : '') +
          (Object.keys(o.slow).length
            ? `; planted slow modules: ${Object.entries(o.slow)
                .map(
                  ([t, m]) =>
                    `${t}: ${Object.entries(m)
                      .map(([k, v]) => `\`${k}\` +${v} ms`)
                      .join(', ')}`,
                )
                .join('; ')}`
            : '') +
          '.' +
          (Object.keys(o.env).length
            ? ` Extra env (all): ${Object.entries(o.env)
                .map(([k, v]) => `\`${k}=${v}\``)
                .join(', ')}.`
            : '') +
          (Object.keys(o.topologyEnv).length
            ? ` Extra env per topology: ${Object.entries(o.topologyEnv)
                .map(
                  ([t, env]) =>
                    `${t}: ${Object.entries(env)
                      .map(([k, v]) => `\`${k}=${v}\``)
                      .join(', ')}`,
                )
                .join('; ')}.`
            : ''),
      },
    ],
  };
  const sections: Section[] = [];
  sections.push(verdictSection(results));
  if (latency.length > 0) {
    sections.push(latencySection(results, latency));
    sections.push(curveSection(results, latency));
    sections.push(notificationSection(latency));
  }
  if (perf.length > 0) sections.push(saturationSection(results, perf));
  const baseline = ran.find((t) => t.baseline);
  const monolith = ran.find((t) => t.name === 'monolith');
  if (baseline && monolith && (baseline.performance || baseline.latency)) sections.push(taxSection(results, monolith, baseline));
  if (perf.length > 0) {
    sections.push(costSection(results, perf));
    if (Object.keys(results.ratios).length > 0) sections.push(ratioSection(results));
    sections.push(processSection(perf));
    sections.push(messagesSection(perf));
  }
  if (faults.length > 0) sections.push(faultSection(results, faults));
  if (results.equivalence) sections.push(equivalenceSection(results));
  sections.push(topologySection(results));
  sections.push(methodSection(results));
  return { title, intro, sections };
}

function verdictSection(results: CompareResults): Section {
  const items: string[] = [];
  const eq = results.equivalence;
  if (eq) {
    const steps = results.topologies.find((t) => t.name === eq.reference)?.scenario?.steps;
    if (eq.verdict === 'identical') {
      items.push(
        `Equivalence: **identical**. The ${steps ?? ''}-step checkout scenario gave the same status codes, headers and bodies (ids and timestamps normalised) ` +
          `and the same final state (orders, lines, payments, reservations, shipments, stock, saga steps, notifications) in ${[eq.reference, ...eq.comparisons.map((c) => c.topology)].join(', ')}.`,
      );
    } else if (eq.verdict === 'different') {
      for (const c of eq.comparisons) {
        items.push(
          c.identical
            ? `Equivalence: ${c.topology} is **identical** to ${eq.reference}.`
            : `Equivalence: ${c.topology} **DIFFERS** from ${eq.reference} in ${c.differences.length} place${c.differences.length === 1 ? '' : 's'} (listed below).`,
        );
      }
    } else {
      items.push(
        `Equivalence: **incomplete**: ${eq.missing.length ? `no scenario run for ${eq.missing.join(', ')}` : 'fewer than two topologies ran'}.${eq.comparisons.length ? ` ${eq.comparisons.map((c) => `${c.topology}: ${c.identical ? 'identical' : 'different'}`).join(', ')}.` : ''}`,
      );
    }
  }
  for (const s of results.slowModules) {
    items.push(
      `Slow module: **\`${s.module}\` in ${s.topology}**: its callers waited ${fmt(s.meanMs)} ms per remote call on average, against ${s.comparedWith}.`,
    );
  }
  const reference = results.topologies.find((t) => t.name === 'monolith' && fixedPoint(t)) ?? results.topologies.find((t) => fixedPoint(t));
  const ref = reference ? fixedPoint(reference) : undefined;
  if (reference && ref && results.rates) {
    const others = results.topologies.filter((t) => t !== reference && fixedPoint(t));
    items.push(
      `Latency at a fixed ${results.rates.fixedRate} checkouts/s (${results.rates.fixedRateFrom}; open loop): POST -> order terminal p50 / p99 ${fmt(ref.terminalMs.p50)} / ${fmt(ref.terminalMs.p99)} ms in ${reference.name}` +
        (others.length
          ? `; ${others
              .map((t) => {
                const p = fixedPoint(t)!;
                return `${t.name} ${fmt(p.terminalMs.p50)} / ${fmt(p.terminalMs.p99)} ms (${ratio(p.terminalMs.p50, ref.terminalMs.p50)} / ${ratio(p.terminalMs.p99, ref.terminalMs.p99)})${p.sustained ? '' : ' **not sustained**'}`;
              })
              .join('; ')}`
          : '') +
        '.' +
        (results.topologies.some((t) => t.latency?.waiting)
          ? ` With \`Prefer: wait\` (the 201 is the end, no polling): ${results.topologies
              .filter((t) => t.latency?.waiting)
              .map((t) => `${t.name} ${fmt(t.latency!.waiting!.terminalMs.p50)} / ${fmt(t.latency!.waiting!.terminalMs.p99)} ms`)
              .join('; ')}.`
          : ''),
    );
  }
  const sat = results.topologies.filter((t) => t.performance);
  if (sat.length > 0) {
    items.push(
      `Saturation throughput (closed loop, measured separately): ${sat.map((t) => `${t.name} ${fmt(t.performance!.completedPerSecond)}/s`).join(', ')}.`,
    );
  }
  const spread = results.topologies.filter((t) => t.performanceSpread);
  if (spread.length > 0) {
    items.push(
      `Saturation throughput with the load spread over ${results.options.spread} products (no single row lock to queue on): ${spread.map((t) => `${t.name} ${fmt(t.performanceSpread!.completedPerSecond)}/s`).join(', ')}.`,
    );
  }
  const onHosts = results.topologies.filter((t) => t.name.endsWith('@hosts') && t.performance);
  for (const hosted of onHosts) {
    const local = results.topologies.find((t) => t.name === hosted.name.replace('@hosts', '') && t.performance);
    if (!local) continue;
    const spreadRatio =
      hosted.performanceSpread && local.performanceSpread
        ? `; spread over ${results.options.spread} products ${ratio(hosted.performanceSpread.completedPerSecond, local.performanceSpread.completedPerSecond)}`
        : '';
    items.push(
      `The cost of a real network (${hosted.name}: every process on a host of its own, links +${results.options.hostsDelayMs} ms each way, the Kubernetes files' environment; against ${local.name} on this machine's loopback): ` +
        `${ratio(hosted.performance!.completedPerSecond, local.performance!.completedPerSecond)} the saturation throughput${spreadRatio}` +
        `, ${ratio(hosted.performance!.endToEndMs.p50, local.performance!.endToEndMs.p50)} the saturation run's end-to-end p50.`,
    );
  }
  const base = results.topologies.find((t) => t.baseline && t.performance);
  const mono = results.topologies.find((t) => t.name === 'monolith' && t.performance);
  if (base && mono && base.performanceSpread && mono.performanceSpread) {
    items.push(
      `Modularity tax with the load spread over ${results.options.spread} products: ${ratio(mono.performanceSpread.completedPerSecond, base.performanceSpread.completedPerSecond)} the throughput ` +
        `(one product: ${ratio(mono.performance!.completedPerSecond, base.performance!.completedPerSecond)}; one product makes every checkout of the baseline's single transaction wait on one row lock).`,
    );
  }
  if (base && mono) {
    items.push(
      `Modularity tax (monolith against the plain-monolith baseline): ${ratio(mono.performance!.completedPerSecond, base.performance!.completedPerSecond)} the throughput, ` +
        `${ratio(totalCpuPerCheckout(mono), totalCpuPerCheckout(base))} the CPU per checkout (store + Postgres)` +
        (fixedPoint(mono) && fixedPoint(base)
          ? `, ${ratio(fixedPoint(mono)!.terminalMs.p50, fixedPoint(base)!.terminalMs.p50)} the latency to terminal (p50) at the fixed rate`
          : '') +
        '.',
    );
  }
  for (const t of results.topologies) {
    if (t.status === 'skipped') items.push(`${t.name}: **skipped** (${t.reason}).`);
    if (t.status === 'failed') items.push(`${t.name}: **FAILED**: ${t.reason}`);
    if (t.scenario?.invariantViolations.length)
      items.push(`${t.name}: invariants **violated** after the scenario: ${t.scenario.invariantViolations.join('; ')}`);
    if (t.scenario?.unmet?.length) items.push(`${t.name}: the scenario's steps **not as the contract says**: ${t.scenario.unmet.join('; ')}`);
    if (t.faults?.length) {
      items.push(
        `Faults in ${t.name}: ${t.faults
          .map(
            (f) =>
              `${f.description}: ${f.ok ? '**ok**' : '**FAILED**'} (${f.failed} failed requests, recovered ${seconds(f.timeToRecoverMs)} after the heal, ${f.lost} lost, ${f.chargedTwice} charged twice, invariants ${f.invariantViolations.length ? 'violated' : 'hold'})`,
          )
          .join('; ')}.`,
      );
    }
  }
  const skipped = results.topologies.filter((t) => t.status === 'skipped').map((t) => t.name);
  items.push(
    `Overall: ${results.ok ? '**all checks passed**' : '**some checks FAILED** (exit code 1)'}` +
      `${skipped.length ? ` (of those that ran: ${skipped.join(', ')} skipped)` : ''}.`,
  );
  return { title: 'Verdict', blocks: [{ kind: 'list', items }] };
}

function ratio(a: number | undefined, b: number | undefined): string {
  return a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0 ? '-' : `${fmt(Math.round((100 * a) / b) / 100)}x`;
}

function latencySection(results: CompareResults, latency: readonly TopologyResult[]): Section {
  const rate = results.rates!.fixedRate;
  const point = (t: TopologyResult) => fixedPoint(t);
  const row = (label: string, read: (p: RatePoint) => string) => [label, ...latency.map((t) => (point(t) ? read(point(t)!) : '-'))];
  const pct = (p: { p50: number; p95: number; p99: number }) => `${fmt(p.p50)} / ${fmt(p.p95)} / ${fmt(p.p99)}`;
  return {
    title: `Latency at a fixed offered load (${rate} checkouts/s)`,
    blocks: [
      {
        kind: 'p',
        text:
          `Open loop: one new order every ${fmt(1000 / rate)} ms for ${results.options.rateDurationS} s whatever the answers (${results.rates!.fixedRateFrom}), ` +
          `each followed by the client with \`GET /orders/:id\` (first ${fmt(results.options.pollMs / 2)} ms after the 202, then every ${results.options.pollMs} ms) until CONFIRMED or CANCELLED. ` +
          'Both latencies are taken from the moment the request was due, as a client sees them: a store that falls behind shows it here, not as fewer requests. ' +
          (latency.some((t) => t.latency!.waiting)
            ? `Beside it, **the waiting client**: the same open loop at the same rate and for as long, every POST with \`Prefer: wait=${results.options.preferWaitS ?? '-'}\` (store-api.md, ADR 30), ` +
              "the order's end being the arrival of the 201 that carries the terminal order: no polling granularity and no GET in that figure (an order whose checkout outlives the wait gets a 202 and is polled, and counted)."
            : ''),
      },
      {
        kind: 'table',
        headers: ['measure', ...latency.map((t) => t.name)],
        rows: [
          row('**POST -> order terminal p50 / p95 / p99, ms**', (p) => `**${pct(p.terminalMs)}**`),
          ...(latency.some((t) => t.latency!.waiting)
            ? [
                [
                  `**POST with Prefer: wait -> order terminal (the 201) p50 / p95 / p99, ms**`,
                  ...latency.map((t) => (t.latency!.waiting ? `**${pct(t.latency!.waiting.terminalMs)}**` : '-')),
                ],
                [
                  'Prefer: wait: answered terminal (201) / accepted / not terminal within 30 s',
                  ...latency.map((t) => {
                    const w = t.latency!.waiting;
                    return w ? `${w.terminalInAnswer} / ${w.accepted} / ${w.notTerminal}${w.sustained ? '' : ' **not sustained**'}` : '-';
                  }),
                ],
              ]
            : []),
          row('POST /orders response p50 / p95 / p99, ms', (p) => pct(p.postMs)),
          row('notification lag (order status change -> notification) p50 / p99, ms', (p) =>
            p.notificationLagMs ? `${fmt(p.notificationLagMs.p50)} / ${fmt(p.notificationLagMs.p99)}` : 'n/a',
          ),
          row('sent / accepted / refused', (p) => `${p.sent} / ${p.accepted} / ${counts(p.rejected)}`),
          row('orders terminal per second (sending window + 1 s)', (p) => fmt(p.completedPerSecond)),
          row('accepted orders not terminal within 30 s', (p) => String(p.notTerminal)),
          row('sustained (all accepted, all terminal, completions >= 95% of the offer)', (p) => (p.sustained ? 'yes' : '**no**')),
          row('GET polls per order', (p) => fmt(p.pollsPerOrder)),
          row('load generator lateness p99 / max, ms', (p) => `${fmt(p.generatorLateMs.p99)} / ${fmt(p.generatorLateMs.max)}`),
          row('machine: other workloads, % of one core', (p) =>
            p.machine ? `${fmt(p.machine.otherPercentOfCore)}${p.machine.otherPercentOfCore > 20 ? ' (skewed)' : ''}` : '-',
          ),
        ],
      },
      { kind: 'chart', id: 'terminal-latency', height: 300 },
    ],
  };
}

function curveSection(results: CompareResults, latency: readonly TopologyResult[]): Section {
  const rates = results.rates!;
  return {
    title: 'Latency versus offered load',
    blocks: [
      {
        kind: 'p',
        text:
          `The same open loop at ${rates.curve.map((r) => `${r}/s`).join(', ')}` +
          (rates.slowestCapacity
            ? ` (fractions of the slowest store topology's saturation throughput, ${rates.slowestCapacity.topology} ${fmt(rates.slowestCapacity.completedPerSecond)}/s)`
            : '') +
          `, ${results.options.stepDurationS} s each (the fixed rate ${results.options.rateDurationS} s), the store settled between points. A point it does not sustain ends its curve. Cells: POST -> terminal p50 / p99, ms.`,
      },
      { kind: 'chart', id: 'curve', height: 320 },
      {
        kind: 'table',
        headers: ['offered, checkouts/s', ...latency.map((t) => t.name)],
        rows: rates.curve.map((rate) => [
          `${rate}${rate === rates.fixedRate ? ' (fixed)' : ''}`,
          ...latency.map((t) => {
            const p = t.latency!.points.find((x) => x.offeredPerSecond === rate);
            return p ? `${fmt(p.terminalMs.p50)} / ${fmt(p.terminalMs.p99)}${p.sustained ? '' : ' **not sustained**'}` : '-';
          }),
        ]),
      },
    ],
  };
}

function notificationSection(latency: readonly TopologyResult[]): Section {
  const rates = [...new Set(latency.flatMap((t) => t.latency!.points.map((p) => p.offeredPerSecond)))].sort((a, b) => a - b);
  return {
    title: 'Events: the notifications path',
    blocks: [
      {
        kind: 'p',
        text:
          'Every terminal order makes the notifications module write one notification, from the OrderConfirmed/OrderCancelled event: in-process through the outbox in the monolith, ' +
          'over the JetStream stream and a durable consumer across processes. Lag = `notifications.created_at - orders.updated_at` of the same order (both Postgres transaction timestamps), ' +
          'for the orders of each point. Cells: p50 / p99, ms.',
      },
      {
        kind: 'table',
        headers: ['offered, checkouts/s', ...latency.map((t) => t.name)],
        rows: rates.map((rate) => [
          String(rate),
          ...latency.map((t) => {
            const lag = t.latency!.points.find((x) => x.offeredPerSecond === rate)?.notificationLagMs;
            return lag === undefined ? '-' : lag === null ? 'n/a (no notifications)' : `${fmt(lag.p50)} / ${fmt(lag.p99)} (${lag.count})`;
          }),
        ]),
      },
    ],
  };
}

function taxSection(results: CompareResults, monolith: TopologyResult, baseline: TopologyResult): Section {
  const both = [baseline, monolith];
  const row = (label: string, read: (t: TopologyResult) => number | undefined) => [
    label,
    ...both.map((t) => fmt(read(t))),
    ratio(read(monolith), read(baseline)),
  ];
  return {
    title: 'The modularity tax: the monolith against the plain-monolith baseline',
    blocks: [
      {
        kind: 'p',
        text:
          `\`${BASELINE}\` (tools/compare/baseline) is the same checkout written the ordinary way: one NestJS controller, one database transaction over every table ` +
          '(products locked, stock checked and reserved, payment and shipment rows, the order), no modules, no outbox, no saga, no notifications; it answers 201 with the order already terminal. ' +
          'The difference is what the store pays for its modules before any extraction: a role and a pool per module, contract calls with a JSON copy and validation, the outbox and the saga log, the notification.',
      },
      {
        kind: 'table',
        headers: ['measure', BASELINE, 'monolith', 'monolith / baseline'],
        rows: [
          row('saturation throughput, completed checkouts/s', (t) => t.performance?.completedPerSecond),
          row(`saturation throughput, load spread over ${results.options.spread} products`, (t) => t.performanceSpread?.completedPerSecond),
          row('at the fixed rate: POST -> terminal p50, ms', (t) => fixedPoint(t)?.terminalMs.p50),
          row('at the fixed rate: POST -> terminal p99, ms', (t) => fixedPoint(t)?.terminalMs.p99),
          row('at the fixed rate: POST p50, ms', (t) => fixedPoint(t)?.postMs.p50),
          row('store CPU ms per checkout (saturation)', (t) => storeCpuPerCheckout(t)),
          row('Postgres CPU ms per checkout (saturation)', (t) => t.performance?.perCheckout.cpuMs[POSTGRES]),
          row('CPU ms per checkout: store + Postgres', (t) => totalCpuPerCheckout(t)),
          row('store RSS, MiB (peak)', (t) => storePeakRss(t)),
        ],
      },
      {
        kind: 'p',
        text:
          'For scale, measured once on this machine with pgbench (16 clients, the database alone, no HTTP): a one-transaction checkout runs at about 4 000/s, ' +
          "the store's eight statements at about 1 800/s; the store completes about 460/s (on a quiet machine). The database alone is far faster than either program: what limits them is in the Node process (and, on a shared machine, the other workloads).",
      },
    ],
  };
}

function costSection(results: CompareResults, perf: readonly TopologyResult[]): Section {
  const target = results.options.targetRate;
  const cpu = (t: TopologyResult, name: string) => t.performance!.perCheckout.cpuMs[name] ?? 0;
  return {
    title: 'Cost per 1 000 checkouts',
    blocks: [
      {
        kind: 'p',
        text:
          'From the saturation run (CPU-bound, so idle overhead weighs least: the marginal cost of a checkout): CPU-seconds per 1 000 completed checkouts = CPU ms per checkout. ' +
          `Cores at ${target} checkouts/s = CPU-s per 1 000 x ${target} / 1 000 (linear: it ignores headroom and idle overhead). ` +
          'The last column is what the processes actually used at the fixed rate (busy cores, polling GETs included).',
      },
      { kind: 'chart', id: 'cpu', height: 280 },
      {
        kind: 'table',
        headers: [
          'topology',
          'store CPU-s / 1 000',
          'Postgres',
          'NATS server',
          '**total CPU-s / 1 000**',
          'store RSS MiB (peak sum)',
          `**cores at ${target}/s**`,
          'busy cores at the fixed rate (store + PG + NATS)',
        ],
        rows: perf.map((t) => {
          const total = totalCpuPerCheckout(t);
          const fixed = fixedPoint(t);
          const busy = fixed ? fixed.processes.filter((p) => p.name !== LOAD_GENERATOR).reduce((s, p) => s + p.cpuPercentOfCore, 0) / 100 : undefined;
          return [
            t.name,
            fmt(storeCpuPerCheckout(t)),
            fmt(cpu(t, POSTGRES)),
            t.performance!.perCheckout.cpuMs[NATS_SERVER] === undefined ? '-' : fmt(cpu(t, NATS_SERVER)),
            `**${fmt(total)}**`,
            fmt(storePeakRss(t)),
            `**${total === undefined ? '-' : fmt(Math.round((total * target) / 10) / 100)}**`,
            busy === undefined ? '-' : `${fmt(Math.round(busy * 100) / 100)} at ${fixed!.offeredPerSecond}/s`,
          ];
        }),
      },
    ],
  };
}

function saturationSection(results: CompareResults, perf: readonly TopologyResult[]): Section {
  const p = (t: TopologyResult) => t.performance!;
  const row = (label: string, read: (t: TopologyResult) => string) => [label, ...perf.map(read)];
  return {
    title: 'Saturation throughput (closed loop, in overload)',
    blocks: [
      {
        kind: 'p',
        text:
          `autocannon, ${results.options.concurrency} connections POSTing \`/orders\` as fast as the store answers for ${results.options.durationS} s (after a 2 s warm-up), ` +
          'one unit of a product stocked far beyond what a run can sell; then the run waits until no order is PENDING. This is the capacity, and it sets the offered rates above. ' +
          'Its latencies are those of a queue (orders wait behind the ones accepted before them) and are **not** compared: see the fixed-rate latency above.',
      },
      { kind: 'chart', id: 'throughput', height: 260 },
      {
        kind: 'table',
        headers: ['measure', ...perf.map((t) => t.name)],
        rows: [
          row('**completed checkouts/s** (CONFIRMED / load start -> last confirmed)', (t) => `**${fmt(p(t).completedPerSecond)}**`),
          row(`completed checkouts/s, the load spread over ${results.options.spread} products`, (t) =>
            t.performanceSpread ? fmt(t.performanceSpread.completedPerSecond) : '-',
          ),
          row('POSTs answered / per s', (t) => `${p(t).posts} / ${fmt(p(t).postsPerSecond)}`),
          row('POSTs refused (by status) / network errors / timeouts', (t) => `${counts(p(t).rejected)} / ${p(t).errors} / ${p(t).timeouts}`),
          row('orders CONFIRMED / CANCELLED (by reason)', (t) => `${p(t).confirmed} / ${counts(p(t).cancelled)}`),
          row('orders still PENDING when the load stopped (the queue)', (t) => String(p(t).pendingAtLoadEnd)),
          row('load start -> last order confirmed', (t) => `${fmt(p(t).completionSeconds)} s`),
          row(
            'in overload, for the record: POST p50 / p99, saga p50 / p99, ms',
            (t) => `${fmt(p(t).postLatencyMs.p50)} / ${fmt(p(t).postLatencyMs.p99)}, ${fmt(p(t).endToEndMs.p50)} / ${fmt(p(t).endToEndMs.p99)}`,
          ),
          row('machine busy / of which interrupts / other workloads, % of one core', (t) =>
            p(t).machine
              ? `${fmt(p(t).machine!.busyPercentOfCore)} / ${fmt(p(t).machine!.interruptsPercentOfCore)} / ${fmt(p(t).machine!.otherPercentOfCore)}${p(t).machine!.otherPercentOfCore > 20 ? ' (skewed)' : ''}`
              : '-',
          ),
        ],
      },
    ],
  };
}

function ratioSection(results: CompareResults): Section {
  const columns = Object.keys(results.ratios);
  const rows = MEASURES.filter((m) => columns.some((c) => m.key in results.ratios[c])).map((m) => [
    `${m.label} (${m.better} is better)`,
    ...columns.map((c) => (m.key in results.ratios[c] ? (results.ratios[c][m.key] === null ? 'n/a (monolith: 0)' : `${fmt(results.ratios[c][m.key])}x`) : '-')),
  ]);
  return {
    title: 'Ratios',
    blocks: [
      { kind: 'p', text: "Each topology's measure divided by the monolith's (1 = the same; n/a where the monolith's is 0, e.g. remote calls)." },
      { kind: 'table', headers: ['measure', ...columns], rows },
    ],
  };
}

function processSection(perf: readonly TopologyResult[]): Section {
  const blocks: Block[] = [
    {
      kind: 'p',
      text:
        'Sampled every 250 ms from `/proc/<pid>/stat` (utime + stime) and `/proc/<pid>/status` (VmRSS) from the load start until every order settled. ' +
        "% of one core: 100 = one core busy all the time; the store, Postgres and the load generator share the machine's cores.",
    },
    { kind: 'chart', id: 'cpu', height: 280 },
  ];
  for (const t of perf) {
    const p = t.performance!;
    blocks.push({
      kind: 'table',
      headers: [`${t.name}: process`, 'CPU s', '% of one core', 'CPU ms per checkout', 'RSS mean MiB', 'RSS peak MiB'],
      rows: p.processes.map((s) => [
        s.name,
        fmt(s.cpuMs / 1000),
        fmt(s.cpuPercentOfCore),
        fmt(p.perCheckout.cpuMs[s.name]),
        fmt(s.rssMeanMiB),
        fmt(s.rssPeakMiB),
      ]),
    });
  }
  return { title: 'CPU and memory per process, during the load', blocks };
}

function messagesSection(perf: readonly TopologyResult[]): Section {
  const operations = [...new Set(perf.flatMap((t) => Object.keys(t.performance!.perCheckout.byOperation)))].sort();
  return {
    title: 'Network hops and messages per checkout',
    blocks: [
      {
        kind: 'p',
        text:
          'Counted from `GET /metrics` of every process before and after the load: the sum of `module_call_duration_seconds_count{binding="remote"}` ' +
          '(calls through a module contract to another process) divided by the CONFIRMED orders. Each remote call is one NATS request and one reply: ' +
          "2 messages. Network hops count one-way transfers between processes: the client's HTTP request and its answer (2), plus 2 per NATS message " +
          '(publisher -> NATS server -> subscriber). Not counted: Postgres round trips, NATS pings of the health checks, retries inside one call, ' +
          'and the events: across processes OrderConfirmed/OrderCancelled go from the orders outbox to the JetStream stream and to the notifications consumer (their lag is in the events section).',
      },
      {
        kind: 'table',
        headers: ['remote calls per checkout, by module.operation called', ...perf.map((t) => t.name)],
        rows: [
          ...operations.map((op) => [`\`${op}\``, ...perf.map((t) => fmt(t.performance!.perCheckout.byOperation[op] ?? 0))]),
          ['**total remote calls**', ...perf.map((t) => `**${fmt(t.performance!.perCheckout.remoteCalls)}**`)],
          ['NATS messages (2 per call)', ...perf.map((t) => fmt(t.performance!.perCheckout.natsMessages))],
          ['HTTP requests to the gateway', ...perf.map((t) => fmt(t.performance!.perCheckout.gatewayHttpRequests))],
          ['network hops', ...perf.map((t) => fmt(t.performance!.perCheckout.networkHops))],
        ],
      },
    ],
  };
}

function faultSection(results: CompareResults, faults: readonly TopologyResult[]): Section {
  const all = faults.flatMap((t) => t.faults!.map((f) => ({ t, f })));
  const o = results.options;
  return {
    title: 'Faults under a fixed load',
    blocks: [
      {
        kind: 'p',
        text:
          `The open loop at the fixed rate (${results.rates?.fixedRate ?? '-'}/s; mostly confirmable orders, some declined, some to AQ). After 2 s the fault starts and lasts ${o.faultMs} ms: ` +
          '**kill**: the process SIGKILLed, then started again (one of two replicas in a -replicas topology, behind the round-robin front); ' +
          `**slow**: the process's link to NATS delays every byte by ${o.slowMs} ms each way (a TCP proxy, tools/support/fault-proxy.ts, the process restarted gracefully onto it before the faults); ` +
          '**partition**: the proxy drops the traffic both ways, then resets the connections that lost bytes (the client reconnects); ' +
          "**nats-restart**: the run's private NATS server SIGKILLed and started again on the same port and store. " +
          "Then the run waits until the gateway's `/health` is 200, goes on until a request sent after the fault began is accepted (at most 30 s), then 2 s more; waits until no order is PENDING; then the carrier's signed webhook (`POST /shipping/carrier-events`) comes for every CONFIRMED order of the fault load (DELIVERED for two in three, else RETURNED, from the seed) and the run waits until each of their deliveries has ended (DELIVERED and its review requested, or RETURNED and compensated); then it checks every accepted order in the database and the store's invariants, the delivered and returned orders' among them. Times are from the fault's start.",
      },
      { kind: 'chart', id: 'faults', height: 260 },
      {
        kind: 'table',
        headers: [
          'topology: fault',
          'requests / accepted',
          '**failed** (503 / network / other)',
          'answer time during the fault p50 / max',
          'saga of orders sent during the fault p50 / max',
          'healed / healthy',
          '**time to recover**',
          'settled after',
          'lost / not terminal / charged twice',
          'deliveries after the fault (carrier webhooks: answers)',
          'invariants',
          'verdict',
        ],
        rows: all.map(({ t, f }) => {
          const n503 = f.outcomes['503'] ?? 0;
          const net = f.outcomes['network error'] ?? 0;
          return [
            `${t.name}: ${f.description}`,
            `${f.requests} / ${f.accepted}`,
            `**${f.failed}** (${n503} / ${net} / ${f.failed - n503 - net})`,
            `${fmt(f.outageAnswerMs.p50)} / ${fmt(f.outageAnswerMs.max)} ms`,
            `${fmt(f.sagaDuringFaultMs.p50)} / ${fmt(f.sagaDuringFaultMs.max)} ms`,
            `${seconds(f.timeline.restartIssuedMs)} / ${seconds(f.timeline.healthyMs)}`,
            `**${seconds(f.timeToRecoverMs)}**`,
            seconds(f.quietAfterMs),
            `${f.lost} / ${f.notTerminal} / ${f.chargedTwice}`,
            f.deliveries
              ? `${counts(f.deliveries.sent) || 'none'}: ${counts(f.deliveries.answers) || '-'}; ${f.deliveries.ended ? 'all ended' : '**not all ended**'}`
              : 'n/a',
            f.invariantViolations.length ? `VIOLATED: ${f.invariantViolations.join('; ')}` : 'hold',
            f.ok ? '**ok**' : '**FAILED**',
          ];
        }),
      },
      {
        kind: 'p',
        text:
          'Time to recover: from the heal (restart issued, link restored) to the first order accepted after the fault began being CONFIRMED (0 s: such an order was confirmed before the heal, i.e. the fault slowed the store but did not stop it). ' +
          'Orders created although the client got no 2xx (the process died mid-request, or a caller gave up first) must be terminal too: ' +
          all.map(({ t, f }) => `${t.name}/${f.kind} ${f.unacknowledged}`).join(', ') +
          ". Final status of the fault load's orders: " +
          all.map(({ t, f }) => `${t.name}/${f.kind}: ${counts(f.orders)}`).join('; ') +
          '.',
      },
    ],
  };
}

function equivalenceSection(results: CompareResults): Section {
  const eq = results.equivalence!;
  const blocks: Block[] = [
    {
      kind: 'p',
      text:
        `One scripted sequence of requests (seed ${results.options.seed}): product setup (201, 409, restock), then the checkout paths (happy; declined with \`tok_declined\`; ` +
        'out of stock with refund; multi-line all-or-nothing; multi-line success; shipping unavailable to AQ; idempotency: same key twice, same key with another body -> 409; ' +
        'the same sku on two lines) and bad input (400, 404, 413, 415, 422). Each order is waited for until it has settled (terminal status, saga DONE) before the next request. ' +
        `Uuids become \`<idN>\` by order of first appearance, ISO timestamps \`<ts>\`. Each topology is compared with **${eq.reference}**: every response (status, ` +
        'content-type, location, retry-after, body) and the final state read with SQL, keyed by sku or normalised order id. Transcripts: `transcript-<topology>.json`.',
    },
  ];
  for (const c of eq.comparisons) {
    if (c.identical) {
      blocks.push({ kind: 'p', text: `**${c.topology}**: identical to ${eq.reference}.` });
      continue;
    }
    blocks.push({ kind: 'p', text: `**${c.topology}**: ${c.differences.length} difference${c.differences.length === 1 ? '' : 's'} from ${eq.reference}:` });
    const seen = c.differences.filter((d) => !d.where.startsWith('state '));
    const state = c.differences.filter((d) => d.where.startsWith('state '));
    for (const [what, list] of [
      ['what the client saw', seen],
      ['the final state', state],
    ] as const) {
      if (list.length === 0) continue;
      const shown = list.slice(0, MAX_DIFFERENCES_SHOWN);
      blocks.push({ kind: 'p', text: `In ${what}: ${list.length}${list.length > shown.length ? ` (the first ${shown.length}; all in results.json)` : ''}` });
      blocks.push({ kind: 'list', items: shown.map((d) => `\`${describe(d).replace(/`/g, "'")}\``) });
    }
  }
  if (eq.missing.length) blocks.push({ kind: 'p', text: `Not compared (skipped or failed): ${eq.missing.join(', ')}.` });
  return { title: 'Equivalence', blocks };
}

function topologySection(results: CompareResults): Section {
  return {
    title: 'Topologies',
    blocks: [
      {
        kind: 'table',
        headers: ['topology', 'status', 'processes (modules)', 'start-up', 'time per part'],
        rows: results.topologies.map((t) => [
          t.name,
          t.status + (t.reason ? `: ${t.reason}` : ''),
          t.processes.map((p) => `${p.name}${p.gateway ? ' (gateway)' : ''}`).join(', '),
          seconds(t.startupMs),
          Object.entries(t.phaseMs)
            .map(([k, v]) => `${k} ${seconds(v)}`)
            .join(', '),
        ]),
      },
      ...results.topologies
        .filter((t) => t.output?.length)
        .map((t): Block => ({ kind: 'p', text: `Last output of ${t.name}: \`${t.output!.slice(-8).join(' | ').replace(/`/g, "'")}\`` })),
    ],
  };
}

function methodSection(results: CompareResults): Section {
  return {
    title: 'How it was measured',
    blocks: [
      {
        kind: 'list',
        items: [
          'Each topology runs from the same build (`dist/`), started by `TopologyProcesses` on a fresh database of its own, with `LOG_LEVEL=error` and a NATS subject prefix of its own; every port is picked free.',
          'Two passes: each topology is brought up for the scenario and the saturation run, then parked (its processes SIGSTOPped: no CPU, state and connections kept); once every saturation run has set the offered rates, each is resumed (SIGCONT, then `/health` 200 and a warm-up) for the latency curve and the faults.',
          "Saturation (closed loop, autocannon): completed checkouts/s = CONFIRMED orders of the load / (load start, Postgres `clock_timestamp()`, -> the last one's `updated_at`): orders still queued when the POSTs stop count, and so does the time they take. Its CPU per checkout is the cost figure.",
          "Latency (open loop, tools/compare/open-loop.ts): requests are due at a constant rate and sent whatever the answers, each on a connection of its own when needed; POST latency and POST -> terminal are taken from the due time (no coordinated omission). autocannon's `overallRate` was not used: it paces a fixed set of connections, so a slow answer delays the next request and the waiting goes unrecorded, and it cannot follow an order after its POST. The terminal time is when a GET first showed CONFIRMED/CANCELLED: up to one poll interval late.",
          `The offered rates: ${results.rates ? `${results.rates.curve.join(', ')} checkouts/s; fixed ${results.rates.fixedRate}/s = ${results.rates.fixedRateFrom}` : 'none (no latency part)'}. The plain-monolith baseline is not counted as the slowest: it is a reference, not a placement.`,
          'Replicas (`<topology>-replicas`): two processes of each, the same variables and another PORT (topology.md); the gateways behind a round-robin TCP front in this tool (tools/support/round-robin-front.ts) that skips a replica refusing connections.',
          `NATS: ${results.machine.nats}. A private server lets the run restart it without disturbing anyone else, and its CPU is this run's alone.`,
          `The load generator (autocannon and the open loop, the fault proxy and the round-robin front, all in this tool's process) shares the machine's ${results.machine.cpus} cores with the store and Postgres: absolute numbers are this machine's, the ratios are the point.`,
          `Per-process CPU includes \`${LOAD_GENERATOR}\`, \`${POSTGRES}\` (${results.machine.postgresCpu}) and, for the distributed topologies, \`${NATS_SERVER}\` (the run's private server; with \`--nats shared\` the one found by name on this machine, shared with anything else using it) for scale; "store CPU" sums the store's own processes only. ` +
            '"Interrupts" is the machine\'s irq + softirq time (/proc/stat; mostly loopback TCP between the processes, part of what distribution costs); "other workloads" the busy time that neither these processes nor interrupts account for: other programs, the kernel; above 20% of one core the numbers of that topology are skewed.',
        ],
      },
    ],
  };
}
