import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NATS_URL } from '../support/nats.js';
import { describeWithNats } from '../support/needs-nats.js';

/**
 * `npm run compare --only latency,faults` run for real from the build, with
 * short options, in monolith and microservices (issue 24, items 3 and 6):
 * - the latency part measures the waiting client (`Prefer: wait=N`: the 201
 *   carries the terminal order, no GET) beside the polling client, and the
 *   report (results.json, summary.md, report.html) shows both;
 * - the faults part ends with deliveries: every CONFIRMED order of the fault
 *   load gets the carrier's signed webhook, its delivery ends (DELIVERED or
 *   RETURNED), and the invariants are checked over them.
 * Behaviour only: what was measured and what the orders became, never how fast.
 */
const CLI = fileURLToPath(new URL('../../dist/tools/compare/compare.cli.js', import.meta.url));

interface Point {
  accepted: number;
  terminalMs: { p50: number; p99: number };
  preferWaitS: number | null;
  terminalInAnswer: number;
  pollsPerOrder: number;
  notTerminal: number;
}

interface Results {
  topologies: Array<{
    name: string;
    status: string;
    latency?: { fixedRate: number; points: Point[]; waiting?: Point | null };
    faults?: Array<{
      kind: string;
      ok: boolean;
      lost: number;
      invariantViolations: string[];
      orders: Record<string, number>;
      timeline: { firstConfirmedMs: number | null };
      deliveries: { sent: Record<string, number>; answers: Record<string, number>; ended: boolean; ok: boolean } | null;
    }>;
  }>;
}

function compare(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  if (!existsSync(CLI)) throw new Error(`no build at ${CLI}: run \`npm run build\` (npm test builds first)`);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NATS_URL }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describeWithNats('npm run compare --only latency,faults: the waiting client and deliveries after a fault', () => {
  const out = mkdtempSync(join(tmpdir(), 'mf-compare-wait-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('reports the waiting client beside the polling one, and ends every fault with deliveries that hold the invariants', async () => {
    const run = await compare([
      '--only',
      'latency,faults',
      '--topologies',
      'monolith,microservices',
      '--rate',
      '4',
      '--rate-duration',
      '3',
      '--prefer-wait',
      '10',
      '--faults',
      'kill',
      '--fault-ms',
      '1000',
      '--out',
      out,
    ]);
    if (run.code !== 0) console.log(run.stdout, run.stderr);
    expect(run.code).toBe(0);
    const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
    expect(results.topologies.map((t) => `${t.name} ${t.status}`)).toEqual(['monolith ran', 'microservices ran']);

    for (const t of results.topologies) {
      const polling = t.latency!.points.find((p) => p.preferWaitS === null)!;
      const waiting = t.latency!.waiting!;
      // The polling client read every order's end with GETs; the waiting one got it in the POST's own answer.
      expect(polling.accepted).toBeGreaterThan(0);
      expect(polling.terminalInAnswer).toBe(0);
      expect(polling.pollsPerOrder).toBeGreaterThanOrEqual(1);
      expect(waiting.preferWaitS).toBe(10);
      expect(waiting.accepted).toBeGreaterThan(0);
      expect(waiting.terminalInAnswer).toBe(waiting.accepted);
      expect(waiting.pollsPerOrder).toBe(0);
      expect(waiting.notTerminal).toBe(0);
      for (const p of [polling, waiting]) expect(Number.isFinite(p.terminalMs.p50) && Number.isFinite(p.terminalMs.p99)).toBe(true);

      const [fault] = t.faults!;
      expect(fault.kind).toBe('kill');
      const d = fault.deliveries!;
      expect(d.sent.DELIVERED).toBeGreaterThan(0);
      expect(d.sent.RETURNED).toBeGreaterThan(0);
      expect(d.answers).toEqual({ '204': d.sent.DELIVERED + d.sent.RETURNED });
      expect(d.ended).toBe(true);
      // The fault load's orders after the carrier spoke: none left waiting, the delivered and returned ones among them.
      expect(fault.orders.CONFIRMED).toBeUndefined();
      expect(fault.orders.DELIVERED).toBe(d.sent.DELIVERED);
      expect(fault.orders['CANCELLED/RETURNED']).toBe(d.sent.RETURNED);
      expect(fault.invariantViolations).toEqual([]);
      expect(fault.lost).toBe(0);
      // The checkout's recovery is read before the deliveries move its orders on: an order placed after the fault was confirmed.
      expect(fault.timeline.firstConfirmedMs).not.toBeNull();
      expect(fault.ok).toBe(true);
    }

    // Both figures in the summary it prints, and in both renderings.
    expect(run.stdout).toMatch(/With `Prefer: wait` \(the 201 is the end, no polling\): monolith [\d.]+ \/ [\d.]+ ms; microservices [\d.]+ \/ [\d.]+ ms\./);
    for (const file of ['summary.md', 'report.html']) {
      const text = readFileSync(join(out, file), 'utf8');
      expect(text).toMatch(/POST (-&gt;|->) order terminal p50/);
      expect(text).toMatch(/POST with Prefer: wait (-&gt;|->) order terminal \(the 201\) p50/);
      expect(text).toMatch(/deliveries after the fault/);
    }
  }, 600_000);
});
