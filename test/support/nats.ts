import { natsReachable as reachable } from '../../tools/support/network.js';

export const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';

/** Whether a NATS server accepts connections (the remote topologies need one). */
export function natsReachable(url = NATS_URL): Promise<boolean> {
  return reachable(url);
}
