import 'reflect-metadata';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Logger } from '@nestjs/common';
import { runLoad, type LoadResult } from '../tools/compare/load.js';
import { freePort } from '../tools/support/free-port.js';
import { TopologyProcesses } from '../tools/topology/topology-processes.js';
import { benchDatabase } from './support/bench-database.js';
import { option, printTable } from './support/stats.js';

/**
 * The cost of tracing on checkout throughput: the same load (autocannon on
 * POST /orders, the monolith built app) with tracing off (no OTLP endpoint:
 * the OpenTelemetry API is a no-op), and on at 100% sampling exporting OTLP
 * over HTTP to a receiver on loopback that discards what it gets. Run in
 * alternation (off, on, off, on ...) so drift in the machine hits both alike.
 */
const DURATION_S = option('duration', 10);
const CONCURRENCY = option('connections', 16);
// Three: a 10 s run on two shared cores varies by 10-20%, the size of what is measured.
const ROUNDS = option('rounds', 3);

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  const sink = createServer((request, response) => {
    request.resume();
    request.on('end', () => response.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
  const modes = {
    'tracing off (no OTLP endpoint)': {},
    'tracing on, 100% sampled, OTLP/HTTP protobuf': { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_TRACES_SAMPLER_ARG: '1' },
  } as const;
  const results = new Map<string, LoadResult[]>();
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [mode, env] of Object.entries(modes)) {
        process.stdout.write(`round ${round + 1}/${ROUNDS}: ${mode} ... `);
        const result = await measure(env);
        console.log(`${result.completedPerSecond} completed checkouts/s`);
        results.set(mode, [...(results.get(mode) ?? []), result]);
      }
    }
  } finally {
    sink.close();
  }
  const rows = [...results].map(([mode, runs]) => {
    const rate = runs.reduce((sum, r) => sum + r.completedPerSecond, 0) / runs.length;
    const p50 = runs.reduce((sum, r) => sum + r.postLatencyMs.p50, 0) / runs.length;
    const p99 = runs.reduce((sum, r) => sum + r.postLatencyMs.p99, 0) / runs.length;
    const cpu = runs.reduce((sum, r) => sum + Object.values(r.perCheckout.cpuMs).reduce((a, b) => a + b, 0), 0) / runs.length;
    return { mode, rate, p50, p99, cpu, each: runs.map((r) => r.completedPerSecond).join(' / ') };
  });
  const [off, on] = rows;
  console.log(`\nTracing overhead on checkout (monolith, ${CONCURRENCY} connections, ${DURATION_S} s per run, ${ROUNDS} runs each)\n`);
  printTable(
    ['mode', 'completed checkouts/s (mean)', 'each run', 'POST p50 ms', 'POST p99 ms', 'store CPU ms per checkout'],
    rows.map((r) => [r.mode, r.rate, r.each, r.p50, r.p99, r.cpu]),
  );
  const overhead = (1 - on.rate / off.rate) * 100;
  console.log('');
  printTable(
    ['measure', 'value', 'target'],
    [
      ['throughput lost with tracing on (100%)', `${overhead.toFixed(1)}%`, `<= 10% (${overhead <= 10 ? 'met' : 'missed'})`],
      ['store CPU per checkout, on / off', `${(on.cpu / off.cpu).toFixed(2)}x`, 'info'],
    ],
  );
}

async function measure(env: Record<string, string>): Promise<LoadResult> {
  const database = await benchDatabase('mf_bench_tracing');
  const topology = await TopologyProcesses.start({
    topology: 'monolith',
    modules: ['inventory', 'notifications', 'orders', 'payments', 'shipping'],
    port: await freePort(),
    ownDatabases: false,
    databaseUrl: database.url,
    env: { LOG_LEVEL: 'warn', ...env },
    onLine: () => {},
  });
  try {
    const url = topology.gatewayUrl;
    const created = await fetch(`${url}/inventory/products`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sku: 'TRACED', name: 'Kettle', priceCents: 2599, stock: 1_000_000 }),
    });
    if (created.status !== 201) throw new Error(`creating the product: ${created.status}`);
    const gateway = [...topology.processes.values()][0];
    return await runLoad({
      baseUrl: url,
      adminUrl: database.url,
      durationS: DURATION_S,
      concurrency: CONCURRENCY,
      sku: 'TRACED',
      processes: [{ name: 'monolith', pid: () => gateway.child?.pid }],
      postmaster: undefined,
      metricsPorts: [gateway.port],
      warmUpS: 2,
      drainTimeoutMs: 180_000,
      onTick: () => {},
    });
  } finally {
    await topology.stop();
    await database.drop();
  }
}

main().catch((error: unknown) => {
  console.error(`bench: ${(error as Error)?.message ?? error}`);
  process.exit(1);
});
