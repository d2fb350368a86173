import { describe } from './diff.js';
import { LOAD_GENERATOR, NATS_SERVER, POSTGRES } from './process-stats.js';
import { MEASURES, storeCpuPerCheckout, storePeakRss, totalCpuPerCheckout } from './ratios.js';
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
  const text = Number.isInteger(value) ? String(value) : Math.abs(value) >= 100 ? value.toFixed(0) : Math.abs(value) >= 10 ? value.toFixed(1) : value.toFixed(2);
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
  const faults = ran.filter((t) => t.faults);
  const o = results.options;
  const title = `Topology comparison: ${o.topologies.join(' vs ')}`;
  const intro: Section = {
    title,
    blocks: [
      {
        kind: 'p',
        text:
          `${results.startedAt.replace('T', ' ').slice(0, 19)} UTC, ${results.wallSeconds} s in all. Machine: ${results.machine.cpus} CPUs (${results.machine.cpuModel}), ` +
          `${results.machine.memoryGiB} GiB, Node ${results.machine.node}; ${results.machine.database}; NATS ${results.machine.nats}. ` +
          `Machine busy before the run: ${fmt(results.machine.busyBeforeRunPercentOfCore)}% of one core${(results.machine.busyBeforeRunPercentOfCore ?? 0) > 20 ? ' (**other workloads were running: the performance numbers are skewed**)' : ''}.`,
      },
      {
        kind: 'p',
        text:
          `Options: parts ${o.parts.join(', ')}; seed ${o.seed}` +
          (o.parts.includes('performance') ? `; load ${o.concurrency} connections for ${o.durationS} s per topology` : '') +
          (o.parts.includes('faults') ? `; fault: SIGKILL of \`${o.faultModule}\` (the whole process in the monolith) for ${o.faultMs} ms` : '') +
          '.' +
          (Object.keys(o.env).length ? ` Extra env (all): ${Object.entries(o.env).map(([k, v]) => `\`${k}=${v}\``).join(', ')}.` : '') +
          (Object.keys(o.topologyEnv).length
            ? ` Extra env per topology: ${Object.entries(o.topologyEnv).map(([t, env]) => `${t}: ${Object.entries(env).map(([k, v]) => `\`${k}=${v}\``).join(', ')}`).join('; ')}.`
            : ''),
      },
    ],
  };
  const sections: Section[] = [];
  sections.push(verdictSection(results));
  if (perf.length > 0) {
    sections.push(performanceSection(results, perf));
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
          `and the same final state (orders, lines, payments, reservations, shipments, stock, saga steps) in ${[eq.reference, ...eq.comparisons.map((c) => c.topology)].join(', ')}.`,
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
      items.push(`Equivalence: **incomplete**: ${eq.missing.length ? `no scenario run for ${eq.missing.join(', ')}` : 'fewer than two topologies ran'}.${eq.comparisons.length ? ` ${eq.comparisons.map((c) => `${c.topology}: ${c.identical ? 'identical' : 'different'}`).join(', ')}.` : ''}`);
    }
  }
  for (const t of results.topologies) {
    if (t.status === 'skipped') items.push(`${t.name}: **skipped** (${t.reason}).`);
    if (t.status === 'failed') items.push(`${t.name}: **FAILED**: ${t.reason}`);
    if (t.scenario?.invariantViolations.length) items.push(`${t.name}: invariants **violated** after the scenario: ${t.scenario.invariantViolations.join('; ')}`);
    if (t.faults) {
      const f = t.faults;
      items.push(
        `Fault in ${t.name} (${f.target} SIGKILLed for ${f.faultMs} ms): ${f.ok ? '**ok**' : '**FAILED**'}: ${f.accepted} orders accepted, ` +
          `${f.lost} lost, ${f.notTerminal} not terminal, ${f.chargedTwice} charged twice, invariants ${f.invariantViolations.length ? `violated (${f.invariantViolations.join('; ')})` : 'hold'}.`,
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

function performanceSection(results: CompareResults, perf: readonly TopologyResult[]): Section {
  const p = (t: TopologyResult) => t.performance!;
  const row = (label: string, read: (t: TopologyResult) => string) => [label, ...perf.map(read)];
  return {
    title: 'Performance',
    blocks: [
      {
        kind: 'p',
        text:
          `The same load on each: autocannon, ${results.options.concurrency} connections POSTing \`/orders\` for ${results.options.durationS} s (after a 2 s warm-up), ` +
          'one unit of a product stocked far beyond what a run can sell; then the run waits until no order is PENDING.',
      },
      { kind: 'chart', id: 'throughput', height: 260 },
      {
        kind: 'table',
        headers: ['measure', ...perf.map((t) => t.name)],
        rows: [
          row('**completed checkouts/s** (CONFIRMED / load start -> last confirmed)', (t) => `**${fmt(p(t).completedPerSecond)}**`),
          row('POSTs answered / per s', (t) => `${p(t).posts} / ${fmt(p(t).postsPerSecond)}`),
          row('POSTs refused (by status) / network errors / timeouts', (t) => `${counts(p(t).rejected)} / ${p(t).errors} / ${p(t).timeouts}`),
          row('orders CONFIRMED / CANCELLED (by reason)', (t) => `${p(t).confirmed} / ${counts(p(t).cancelled)}`),
          row('orders still PENDING when the load stopped', (t) => String(p(t).pendingAtLoadEnd)),
          row('load start -> last order confirmed', (t) => `${fmt(p(t).completionSeconds)} s`),
          row('POST /orders latency p50 / p95 / p99, ms', (t) => `${fmt(p(t).postLatencyMs.p50)} / ${fmt(p(t).postLatencyMs.p95)} / ${fmt(p(t).postLatencyMs.p99)}`),
          row('saga end to end p50 / p95 / p99, ms (SQL: created_at -> updated_at)', (t) => `${fmt(p(t).endToEndMs.p50)} / ${fmt(p(t).endToEndMs.p95)} / ${fmt(p(t).endToEndMs.p99)}`),
          row('store CPU ms per checkout (all its processes)', (t) => fmt(storeCpuPerCheckout(t))),
          row('Postgres CPU ms per checkout', (t) => fmt(p(t).perCheckout.cpuMs[POSTGRES])),
          row('NATS server CPU ms per checkout', (t) => fmt(p(t).perCheckout.cpuMs[NATS_SERVER])),
          row('CPU ms per checkout: store + NATS server + Postgres', (t) => fmt(totalCpuPerCheckout(t))),
          row('store RSS, MiB (sum of each process peak)', (t) => fmt(storePeakRss(t))),
          row('remote calls / NATS messages per checkout', (t) => `${fmt(p(t).perCheckout.remoteCalls)} / ${fmt(p(t).perCheckout.natsMessages)}`),
          row('network hops per checkout', (t) => fmt(p(t).perCheckout.networkHops)),
          row('HTTP requests to the gateway per checkout', (t) => fmt(p(t).perCheckout.gatewayHttpRequests)),
          row('machine busy during the load / of which interrupts / other workloads, % of one core', (t) =>
            p(t).machine
              ? `${fmt(p(t).machine!.busyPercentOfCore)} / ${fmt(p(t).machine!.interruptsPercentOfCore)} / ${fmt(p(t).machine!.otherPercentOfCore)}${p(t).machine!.otherPercentOfCore > 20 ? ' (skewed)' : ''}`
              : '-',
          ),
        ],
      },
      { kind: 'chart', id: 'post-latency', height: 300 },
      { kind: 'chart', id: 'saga-latency', height: 300 },
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
      { kind: 'p', text: 'Each topology\'s measure divided by the monolith\'s (1 = the same; n/a where the monolith\'s is 0, e.g. remote calls).' },
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
        '% of one core: 100 = one core busy all the time; the store, Postgres and the load generator share the machine\'s cores.',
    },
    { kind: 'chart', id: 'cpu', height: 280 },
  ];
  for (const t of perf) {
    const p = t.performance!;
    blocks.push({
      kind: 'table',
      headers: [`${t.name}: process`, 'CPU s', '% of one core', 'CPU ms per checkout', 'RSS mean MiB', 'RSS peak MiB'],
      rows: p.processes.map((s) => [s.name, fmt(s.cpuMs / 1000), fmt(s.cpuPercentOfCore), fmt(p.perCheckout.cpuMs[s.name]), fmt(s.rssMeanMiB), fmt(s.rssPeakMiB)]),
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
          '2 messages. Network hops count one-way transfers between processes: the client\'s HTTP request and its answer (2), plus 2 per NATS message ' +
          '(publisher -> NATS server -> subscriber). Not counted: Postgres round trips, NATS pings of the health checks, retries inside one call. ' +
          'No module subscribes to another\'s events, so no event crosses NATS during a checkout; the outbox relay delivers in-process.',
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
  const f = (t: TopologyResult) => t.faults!;
  const row = (label: string, read: (t: TopologyResult) => string) => [label, ...faults.map(read)];
  return {
    title: 'Faults: one process SIGKILLed under load, then restarted',
    blocks: [
      {
        kind: 'p',
        text:
          `${results.options.concurrency} clients POST \`/orders\` in a closed loop (mostly confirmable orders, some declined, some to AQ), pausing 20 ms after a failure. ` +
          `After 2 s the process is SIGKILLed, stays down ${results.options.faultMs} ms, is restarted and waited for until \`/health\` answers 200, and the load goes on until a request sent after the kill is accepted again (at most 30 s), then 3 s more. ` +
          'Then the run waits until no order is PENDING and checks every accepted order in the database. Times are from the kill.',
      },
      { kind: 'chart', id: 'faults', height: 300 },
      {
        kind: 'table',
        headers: ['measure', ...faults.map((t) => t.name)],
        rows: [
          row('process killed', (t) => `\`${f(t).target}\``),
          row('requests / accepted (2xx)', (t) => `${f(t).requests} / ${f(t).accepted}`),
          row('**failed requests** (503 / network error / other)', (t) => `**${f(t).failed}** (${f(t).outcomes['503'] ?? 0} / ${f(t).outcomes['network error'] ?? 0} / ${f(t).failed - (f(t).outcomes['503'] ?? 0) - (f(t).outcomes['network error'] ?? 0)})`),
          row('answer time of requests sent during the outage (kill -> healthy), p50 / max', (t) => `${fmt(f(t).outageAnswerMs.p50)} / ${fmt(f(t).outageAnswerMs.max)} ms`),
          row('restart issued', (t) => seconds(f(t).timeline.restartIssuedMs)),
          row('process healthy again', (t) => seconds(f(t).timeline.healthyMs)),
          row('first 202 of a request sent after the kill', (t) => seconds(f(t).timeline.firstAcceptedMs)),
          row('first such order CONFIRMED', (t) => seconds(f(t).timeline.firstConfirmedMs)),
          row('**time to recover** (restart -> first order accepted after the kill CONFIRMED)', (t) => `**${seconds(f(t).timeToRecoverMs)}**`),
          row('time for every order to settle after the load', (t) => seconds(f(t).quietAfterMs)),
          row('orders by final status', (t) => counts(f(t).orders)),
          row('accepted orders lost (not in the database)', (t) => String(f(t).lost)),
          row('accepted orders not terminal', (t) => String(f(t).notTerminal)),
          row('orders created although the client got no 202 (the process died mid-request, or a caller gave up first): terminal too', (t) => String(f(t).unacknowledged)),
          row('orders charged twice', (t) => String(f(t).chargedTwice)),
          row('store invariants', (t) => (f(t).invariantViolations.length ? `VIOLATED: ${f(t).invariantViolations.join('; ')}` : 'hold')),
          row('**verdict**', (t) => (f(t).ok ? '**ok**' : '**FAILED**')),
        ],
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
    for (const [what, list] of [['what the client saw', seen], ['the final state', state]] as const) {
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
          Object.entries(t.phaseMs).map(([k, v]) => `${k} ${seconds(v)}`).join(', '),
        ]),
      },
      ...results.topologies.filter((t) => t.output?.length).map((t): Block => ({ kind: 'p', text: `Last output of ${t.name}: \`${t.output!.slice(-8).join(' | ').replace(/`/g, "'")}\`` })),
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
          'Completed checkouts/s: CONFIRMED orders of the load divided by the time from the load start (Postgres `clock_timestamp()` just before autocannon starts) to the last order\'s confirmation (`updated_at`): orders accepted but still in the saga when the POSTs stop count, and so does the time they take.',
          'Saga end-to-end latency is read with SQL, `orders.created_at -> updated_at` of each CONFIRMED order: from the place-order transaction to the one that confirmed it, both Postgres transaction timestamps; it excludes the HTTP time before the order row was written (that is in the POST latency) and the time until a client would see CONFIRMED by polling.',
          'POST latency is autocannon\'s response time of each 2xx answer; the histograms put every topology in the same buckets, as a % of its samples.',
          `The load generator (autocannon, in this tool's process) shares the machine's ${results.machine.cpus} cores with the store and Postgres: absolute numbers are this machine's, the ratios are the point.`,
          `Per-process CPU includes \`${LOAD_GENERATOR}\`, \`${POSTGRES}\` (${results.machine.postgresCpu}) and, for the distributed topologies, \`${NATS_SERVER}\` (found by name on this machine; shared with anything else using it) for scale; "store CPU" sums the store's own processes only. ` +
            '"Interrupts" is the machine\'s irq + softirq time (/proc/stat; mostly loopback TCP between the processes, part of what distribution costs); "other workloads" the busy time that neither these processes nor interrupts account for: other programs, the kernel; above 20% of one core the numbers of that topology are skewed.',
        ],
      },
    ],
  };
}
