import { LinkProxy } from './link-proxy.js';

/**
 * `node link-proxy.cli.js LISTEN_HOST:PORT TARGET_HOST:PORT DELAY_MS`: one delaying link end, run by
 * the multi-host harness inside a host's network namespace (`ip netns exec`). Prints `ready` once
 * listening; stops on SIGTERM or when its parent closes stdin.
 */
function endpoint(text: string | undefined, what: string): { host: string; port: number } {
  const match = /^(.+):(\d+)$/.exec(text ?? '');
  if (!match) {
    console.error(`link-proxy: ${what}: expected HOST:PORT, got '${text ?? ''}'`);
    process.exit(2);
  }
  return { host: match[1], port: Number(match[2]) };
}

const [listen, target, delay] = process.argv.slice(2);
const delayMs = Number(delay ?? 0);
if (!Number.isFinite(delayMs) || delayMs < 0) {
  console.error(`link-proxy: DELAY_MS: expected a number of milliseconds >= 0, got '${delay}'`);
  process.exit(2);
}
const proxy = await LinkProxy.start({ listen: endpoint(listen, 'LISTEN'), target: endpoint(target, 'TARGET'), delayMs }).catch((error: Error) => {
  console.error(`link-proxy: cannot listen on ${listen}: ${error.message}`);
  process.exit(1);
});
console.log('ready');
const stop = () => {
  proxy.stop().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`link-proxy: stopping: ${(error as Error)?.message ?? String(error)}`);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', stop).on('SIGINT', stop);
process.stdin.on('end', stop).on('close', stop).resume();
