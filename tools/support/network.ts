import { readFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';

/** Whether a NATS server accepts TCP connections (the distributed topologies need one). */
export function natsReachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port || 4222) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * A base port such that it and the `count - 1` after it were free a moment ago
 * on loopback: TopologyProcesses gives the gateway the base and the headless
 * processes the next ones.
 */
export async function freePortRange(count: number): Promise<number> {
  // Below the ephemeral range, which outgoing connections (load, pools, NATS) draw from at any moment.
  const [low, high] = ephemeralRange();
  const [from, to] = low - 10_000 > 1024 + count ? [10_000, low - count - 1] : [high + 1, 65_000 - count];
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = from + Math.floor(Math.random() * (to - from));
    let ok = true;
    for (let port = base; port < base + count && ok; port++) ok = await isFree(port);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports found on 127.0.0.1`);
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The kernel's ephemeral port range (Linux), else the IANA one. */
function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low, high];
  } catch {
    // not Linux
  }
  return [49_152, 65_535];
}
