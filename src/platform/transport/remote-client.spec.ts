import { IsOptional, IsString } from 'class-validator';
import { command, defineContract, query } from '../contracts/contract.js';
import { ModuleError } from '../contracts/module.error.js';
import { createRemoteClient, DERIVED_KEY_PREFIX } from './remote-client.js';
import { DEFAULT_RESILIENCE, ModuleResilience, type ResilienceOptions } from './resilience.js';
import { type CallReply, type Transport, TransportError } from './transport.js';

class PayCommand {
  @IsString()
  readonly orderId: string;

  @IsOptional()
  @IsString()
  readonly idempotencyKey?: string;
}

class ShipCommand {
  @IsString()
  readonly orderId: string;
}

class LookQuery {
  @IsString()
  readonly orderId: string;
}

const Remote = defineContract('remote', {
  pay: command<PayCommand, { paid: boolean }>(PayCommand, { idempotencyKey: 'idempotencyKey' }),
  ship: command<ShipCommand, { shipped: boolean }>(ShipCommand),
  look: query<LookQuery, { seen: boolean }>(LookQuery),
});

/** A transport whose answers the test writes: each call takes the next scripted outcome. */
class ScriptedTransport implements Transport {
  readonly sent: Array<{ operation: string; input: unknown }> = [];
  constructor(private readonly outcomes: Array<CallReply | TransportError>) {}

  async call(_module: string, operation: string, input: unknown): Promise<CallReply> {
    this.sent.push({ operation, input });
    const outcome = this.outcomes.shift();
    if (!outcome) throw new Error('no scripted outcome left');
    if (outcome instanceof TransportError) throw outcome;
    return outcome;
  }

  serveModule(): void {}
  async ping(): Promise<boolean> {
    return true;
  }
  isConnected(): boolean {
    return true;
  }
  async openEventStream(): Promise<never> {
    throw new Error('not used');
  }
  async close(): Promise<void> {}
}

const timeout = () => new TransportError('deadline passed', true);
const nobody = () => new TransportError('no responders', false);
const OPTIONS: ResilienceOptions = { ...DEFAULT_RESILIENCE, retries: 2, breakerThreshold: 3, breakerHalfOpenAfterMs: 60_000 };

function clientOver(outcomes: Array<CallReply | TransportError>, options = OPTIONS) {
  const transport = new ScriptedTransport(outcomes);
  return { transport, client: createRemoteClient(Remote, transport, new ModuleResilience(options), 1_000) };
}

describe('the remote client', () => {
  it('answers the result, or the callee error as a ModuleError', async () => {
    const { client } = clientOver([
      { ok: true, result: { seen: true } },
      { ok: false, error: { code: 'NOT_FOUND', message: 'no such order', module: 'remote' } },
    ]);
    expect(await client.look({ orderId: 'o-1' })).toEqual({ seen: true });
    await expect(client.look({ orderId: 'o-2' })).rejects.toMatchObject({ name: 'ModuleError', code: 'NOT_FOUND', message: 'no such order' });
  });

  it('retries a query after a timeout, and never a command that is not idempotent', async () => {
    const query = clientOver([timeout(), { ok: true, result: { seen: true } }]);
    expect(await query.client.look({ orderId: 'o-1' })).toEqual({ seen: true });
    expect(query.transport.sent).toHaveLength(2);

    const commandOnce = clientOver([timeout(), { ok: true, result: { shipped: true } }]);
    const error = await commandOnce.client.ship({ orderId: 'o-1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ModuleError);
    expect(error).toMatchObject({ code: 'UNAVAILABLE', message: expect.stringContaining('it may have been done all the same; check before retrying') });
    expect(commandOnce.transport.sent).toHaveLength(1);
  });

  it('gives a command idempotent by key one derived key for all its attempts, and names it when the outcome is unknown', async () => {
    const { client, transport } = clientOver([timeout(), timeout(), timeout()]);
    const error = (await client.pay({ orderId: 'o-1' }).catch((e: unknown) => e)) as ModuleError;
    const keys = transport.sent.map((call) => (call.input as PayCommand).idempotencyKey);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toMatch(new RegExp(`^${DERIVED_KEY_PREFIX}[0-9a-f-]{36}$`));
    expect(error.message).toContain(`this one was used: '${keys[0]}'`);
  });

  it("keeps the caller's own key", async () => {
    const { client, transport } = clientOver([{ ok: true, result: { paid: true } }]);
    await client.pay({ orderId: 'o-1', idempotencyKey: 'mine' });
    expect(transport.sent[0].input).toEqual({ orderId: 'o-1', idempotencyKey: 'mine' });
  });

  it('opens the circuit after consecutive "nobody there" failures, then fails fast without calling', async () => {
    const { client, transport } = clientOver([nobody(), nobody(), nobody()], { ...OPTIONS, retries: 0 });
    for (let i = 0; i < 3; i++) await expect(client.ship({ orderId: `o-${i}` })).rejects.toMatchObject({ message: "module 'remote' did not answer" });
    await expect(client.ship({ orderId: 'o-4' })).rejects.toMatchObject({ code: 'UNAVAILABLE', message: "module 'remote' is unavailable (circuit open)" });
    expect(transport.sent).toHaveLength(3);
  });

  it('never begins a call given up before it began', async () => {
    const { client, transport } = clientOver([timeout(), { ok: true, result: { seen: true } }]);
    const controller = new AbortController();
    controller.abort(new Error('caller gave up'));
    await expect(client.look({ orderId: 'o-1' }, { signal: controller.signal })).rejects.toThrow('caller gave up');
    expect(transport.sent).toEqual([]);
  });
});
