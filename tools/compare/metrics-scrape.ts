/**
 * Reads the counters that tell how a checkout travels, from the Prometheus
 * endpoint every process serves (GET /metrics, gateway or not):
 * - module_call_duration_seconds_count{binding="remote"}: calls through a
 *   module contract to another process, each one NATS request and one reply;
 * - http_request_duration_seconds_count: HTTP requests a process served.
 */
export interface MetricsSnapshot {
  /** "inventory.getPrices" -> remote calls made by this process so far. */
  readonly remoteCalls: ReadonlyMap<string, number>;
  /** "POST /orders 202" -> requests served so far. */
  readonly httpRequests: ReadonlyMap<string, number>;
  /** Module called remotely -> seconds its callers waited for it in all (the histogram's _sum), for the mean call time. */
  readonly remoteSecondsByModule: ReadonlyMap<string, number>;
}

const LINE = /^(module_call_duration_seconds_count|module_call_duration_seconds_sum|http_request_duration_seconds_count)\{([^}]*)\}\s+([0-9.eE+-]+)/;

/** `port`: a process on this machine's loopback; or a base URL (a process on a host of its own, tools/hosts). */
export async function scrape(port: number | string): Promise<MetricsSnapshot> {
  const remoteCalls = new Map<string, number>();
  const httpRequests = new Map<string, number>();
  const remoteSecondsByModule = new Map<string, number>();
  let text = '';
  try {
    const url = typeof port === 'number' ? `http://127.0.0.1:${port}/metrics` : `${port}/metrics`;
    const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
    if (response.ok) text = await response.text();
  } catch {
    // a process that is down has nothing to say: its counters count as none
  }
  for (const line of text.split('\n')) {
    const match = LINE.exec(line);
    if (!match) continue;
    const labels = Object.fromEntries([...match[2].matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
    const value = Number(match[3]);
    if (match[1] === 'module_call_duration_seconds_sum') {
      if (labels.binding === 'remote') remoteSecondsByModule.set(labels.module, (remoteSecondsByModule.get(labels.module) ?? 0) + value);
    } else if (match[1] === 'module_call_duration_seconds_count') {
      if (labels.binding !== 'remote') continue;
      const key = `${labels.module}.${labels.operation}`;
      remoteCalls.set(key, (remoteCalls.get(key) ?? 0) + value);
    } else {
      if (labels.route === '/metrics' || labels.route === '/health') continue;
      const key = `${labels.method} ${labels.route} ${labels.status}`;
      httpRequests.set(key, (httpRequests.get(key) ?? 0) + value);
    }
  }
  return { remoteCalls, httpRequests, remoteSecondsByModule };
}

/** Sums `after - before` over several processes. */
export function delta(before: readonly MetricsSnapshot[], after: readonly MetricsSnapshot[]): MetricsSnapshot {
  const sum = (pick: (s: MetricsSnapshot) => ReadonlyMap<string, number>) => {
    const out = new Map<string, number>();
    after.forEach((snapshot, i) => {
      for (const [key, value] of pick(snapshot)) {
        const d = value - (pick(before[i])?.get(key) ?? 0);
        if (d > 0) out.set(key, (out.get(key) ?? 0) + d);
      }
    });
    return out;
  };
  return { remoteCalls: sum((s) => s.remoteCalls), httpRequests: sum((s) => s.httpRequests), remoteSecondsByModule: sum((s) => s.remoteSecondsByModule) };
}

/** Remote calls and their mean time per module called, from a delta. */
export function remoteCallsByModule(counted: MetricsSnapshot): Record<string, { calls: number; meanMs: number }> {
  const calls = new Map<string, number>();
  for (const [key, n] of counted.remoteCalls) {
    const module = key.split('.')[0];
    calls.set(module, (calls.get(module) ?? 0) + n);
  }
  return Object.fromEntries(
    [...calls].sort().map(([module, n]) => [module, { calls: n, meanMs: Math.round((10_000 * (counted.remoteSecondsByModule.get(module) ?? 0)) / n) / 10 }]),
  );
}
