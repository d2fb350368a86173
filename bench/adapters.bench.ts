import 'reflect-metadata';
import { randomBytes } from 'node:crypto';
import { Injectable, Logger, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CqrsModule, type IQueryHandler, QueryBus, QueryHandler } from '@nestjs/cqrs';
import { connect, headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { type ContractClient, defineContract, query } from '../src/platform/contracts/contract.js';
import { createLocalClient } from '../src/platform/dispatch/local-client.js';
import { dispatchTo, findOperationHandlers, type OperationHandlers } from '../src/platform/dispatch/operation-handlers.js';
import { defineModule } from '../src/platform/modules/module-definition.js';
import { ModuleError } from '../src/platform/contracts/module.error.js';
import { NatsTransport } from '../src/platform/transport/nats-transport.js';
import { createRemoteClient } from '../src/platform/transport/remote-client.js';
import { DEFAULT_RESILIENCE, ModuleResilience } from '../src/platform/transport/resilience.js';
import { validateInput } from '../src/platform/validation/validate-input.js';
import { componentBreakdown } from './support/adapter-components.js';
import { type Sampled, sample, timerOverheadNs, type Variant } from './support/latency.js';
import { option, printTable } from './support/stats.js';
import { GetThingQuery } from './support/get-thing.query.js';

/**
 * What the contract adapters add to a module call, against their floors, in one run:
 * 1. direct method call on the handler (no copy, no validation, no bus);
 * 2. floor of a call that copies like a remote one: the direct call plus a JSON round trip of input and output;
 * 3. the same floor plus the input validation every contract call does on receipt (class-validator);
 * 4. the local adapter (createLocalClient): JSON copies + validation + error mapping + dispatch on the
 *    QueryBus of @nestjs/cqrs to the module's @QueryHandler, as the platform binds it;
 * 5. bare NATS request/reply of the same JSON payload, between two connections;
 * 6. the NATS adapter: createRemoteClient -> NatsTransport -> NatsTransport.serveModule -> local adapter -> handler.
 * No database: the handler answers from its input.
 *
 * Options: --iterations N (in-process rows, default 200000), --nats-iterations N (default 20000),
 * --rounds N (samples are taken in N interleaved rounds, default 5), --breakdown (always print the
 * breakdowns, which are printed anyway when a target is missed: the NATS round trip taken apart,
 * --nats-decomposition-iterations N calls per variant, default 5000; and each step of the adapters
 * timed alone). NATS_URL (default nats://127.0.0.1:4222).
 */
const ITERATIONS = option('iterations', 200_000);
const NATS_ITERATIONS = option('nats-iterations', 20_000);
const ROUNDS = option('rounds', 5);
const NATS_DECOMPOSITION = option('nats-decomposition-iterations', 5_000);
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const LOCAL_TARGET = 1.5;
const NATS_TARGET = 1.25;

interface ThingView {
  readonly id: string;
  readonly name: string;
  readonly quantity: number;
  readonly priceCents: number;
  readonly tags: readonly string[];
}

const BenchContract = defineContract('benchmod', { getThing: query<GetThingQuery, ThingView>(GetThingQuery) });

function viewOf(input: GetThingQuery): ThingView {
  return { id: input.id, name: 'thing', quantity: input.quantity, priceCents: 100 * input.quantity, tags: ['a', 'b'] };
}

/** The module's use case, as a module writes it: a @QueryHandler of its input class. */
@Injectable()
@QueryHandler(GetThingQuery)
class ThingHandler implements IQueryHandler<GetThingQuery, ThingView> {
  async execute(input: GetThingQuery): Promise<ThingView> {
    return viewOf(input);
  }
}

// CqrsModule only for the (info) row that dispatches on its QueryBus instead: the platform does not use the bus.
@Module({ imports: [CqrsModule.forRoot()], providers: [ThingHandler] })
class BenchModule {}

/** The hosting side as the platform binds it: each operation to the handler of its input class. */
let hostedHandlers: () => OperationHandlers;

const INPUT: GetThingQuery = { id: 'thing-42', quantity: 3 };

function copy<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

async function main(): Promise<void> {
  Logger.overrideLogger(['error']);
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
  await app.init();
  hostedHandlers = dispatchTo(findOperationHandlers(defineModule({ name: 'benchmod', contract: BenchContract, core: BenchModule, entities: [] })), app);
  const queryBus = app.get(QueryBus);
  const onBus = createLocalClient(BenchContract, () => ({ getThing: (input: object) => queryBus.execute(input as GetThingQuery) }));
  const viaBus = () => onBus.getThing(INPUT);
  const handler = app.get(ThingHandler);
  const local = createLocalClient(BenchContract, hostedHandlers);

  const direct = () => handler.execute(INPUT);
  const floor = async () => copy(await handler.execute(copy(INPUT)));
  const floorValidated = async () => {
    const decoded = await validateInput(GetThingQuery, copy(INPUT));
    if (!decoded.ok) throw new Error('bench input is invalid');
    return copy(await handler.execute(decoded.value));
  };
  const viaLocal = () => local.getThing(INPUT);

  // Sanity: every path answers the same thing.
  const expected = JSON.stringify(viewOf(INPUT));
  for (const [name, call] of Object.entries({ direct, floor, floorValidated, viaLocal, viaBus })) {
    const got = JSON.stringify(await call());
    if (got !== expected) throw new Error(`${name} answered ${got}, expected ${expected}`);
  }

  console.log(
    `\nContract adapters on this machine (Node ${process.version}; ${ITERATIONS} in-process calls per row, ${NATS_ITERATIONS} NATS calls per row, in ${ROUNDS} interleaved rounds after a warm-up)`,
  );
  const overhead = timerOverheadNs();

  const inProcess = await sample(
    [
      { name: 'direct method call: await handler.execute(input)', call: direct },
      { name: 'floor: direct call + JSON round trip of input and output', call: floor },
      { name: 'floor + class-validator validateInput of the input', call: floorValidated },
      { name: 'local adapter: createLocalClient(...).getThing(input) (validates input)', call: viaLocal },
      { name: '(info) the same, dispatched on @nestjs/cqrs QueryBus.execute instead', call: viaBus },
    ],
    { iterations: ITERATIONS, rounds: ROUNDS, warmup: Math.min(ITERATIONS, 20_000) },
  );

  const natsBench = await natsHalf();
  try {
    await report(inProcess, natsBench, handler, local, overhead);
  } finally {
    await natsBench?.close();
    await app.close();
  }
}

async function report(
  inProcess: Sampled[],
  natsBench: NatsBench | undefined,
  handler: ThingHandler,
  local: ContractClient<typeof BenchContract>,
  overhead: number,
): Promise<void> {
  const [directRow, floorRow, floorValidatedRow, localRow, busRow] = inProcess;
  const nats = natsBench?.rows;

  console.log('');
  printTable(
    ['measure', 'p50 µs', 'p99 µs', 'mean µs', 'calls/s', 'CPU µs/call'],
    [...inProcess, ...(nats ?? [])].map((row) => [row.name, us(row.p50), us(row.p99), us(row.meanNs), 1e9 / row.meanNs, us(row.cpuNs)]),
  );
  console.log(
    `\np50/p99 from one process.hrtime.bigint() pair per call (includes ~${overhead.toFixed(0)} ns of timer); mean, calls/s and CPU (of this process: both ends of the NATS rows, not the NATS server) from separate untimed loops of the same calls.`,
  );
  console.log(
    'The local adapter (and the NATS adapter, whose callee answers through it) validates every input with class-validator, as every contract call does on receipt.',
  );

  const ratios: Array<[string, number, number, string, string]> = [];
  const localVsFloor = ratio(localRow, floorRow);
  ratios.push(['local adapter / floor (JSON round trip)', localVsFloor.p50, localVsFloor.mean, `<= ${LOCAL_TARGET}x`, verdict(localVsFloor.p50, LOCAL_TARGET)]);
  const localVsValidated = ratio(localRow, floorValidatedRow);
  ratios.push(['local adapter / floor + validation', localVsValidated.p50, localVsValidated.mean, 'info', '-']);
  const onBus = ratio(busRow, floorRow);
  ratios.push(['(info) local adapter on QueryBus / floor', onBus.p50, onBus.mean, 'info', '-']);
  const floorCost = ratio(floorRow, directRow);
  ratios.push(['floor / direct call', floorCost.p50, floorCost.mean, 'info', '-']);
  let natsMissed = false;
  if (nats) {
    const [bare, adapter] = nats;
    const natsRatio = ratio(adapter, bare);
    natsMissed = natsRatio.p50 > NATS_TARGET;
    ratios.push(['NATS adapter / bare NATS request/reply', natsRatio.p50, natsRatio.mean, `<= ${NATS_TARGET}x`, verdict(natsRatio.p50, NATS_TARGET)]);
  }
  console.log('');
  printTable(
    ['ratio', 'on p50', 'on mean', 'target (on p50)', 'result'],
    ratios.map(([name, p50, mean, target, result]) => [name, `${p50.toFixed(2)}x`, `${mean.toFixed(2)}x`, target, result]),
  );

  const localMissed = localVsFloor.p50 > LOCAL_TARGET;
  const breakdown = process.argv.includes('--breakdown');
  if (natsBench && (natsMissed || breakdown)) {
    console.log(`\nNATS round trip taken apart (${NATS_DECOMPOSITION} calls per row, interleaved rounds):\n`);
    const parts = await sample(natsBench.decomposition, { iterations: NATS_DECOMPOSITION, rounds: ROUNDS, warmup: 1_000 });
    const base = parts[0];
    printTable(
      ['variant', 'p50 µs', 'p99 µs', 'mean µs', 'p50 vs bare', 'CPU µs/call', 'CPU vs bare'],
      parts.map((row) => [
        row.name,
        us(row.p50),
        us(row.p99),
        us(row.meanNs),
        signed(us(row.p50 - base.p50)),
        us(row.cpuNs),
        signed(us(row.cpuNs - base.cpuNs)),
      ]),
    );
  }
  if (localMissed || natsMissed || breakdown) {
    console.log('');
    await componentBreakdown({
      input: INPUT,
      output: viewOf(INPUT),
      type: GetThingQuery,
      handler: (input) => handler.execute(input as GetThingQuery),
      local: (input) => local.getThing(input as GetThingQuery),
    });
  }
}

interface NatsBench {
  readonly rows: [Sampled, Sampled];
  /** Variants between the bare round trip and the adapter, to tell what the adapter adds. */
  readonly decomposition: Variant[];
  close(): Promise<void>;
}

/** The NATS rows, or undefined (after one line saying so) when the server cannot be reached. */
async function natsHalf(): Promise<NatsBench | undefined> {
  const prefix = `bench${randomBytes(4).toString('hex')}`;
  let requester: NatsConnection;
  try {
    // Replies under the deployment's inboxes: the only ones the adapter's server answers (ADR 21).
    requester = await connect({ servers: NATS_URL, name: 'bench-bare-requester', timeout: 2_000, maxReconnectAttempts: 0, inboxPrefix: `_INBOX.${prefix}` });
  } catch (error) {
    console.log(`NATS at ${NATS_URL} is unreachable (${(error as Error).message}): skipping the NATS half (bare request/reply and NATS adapter rows).`);
    return undefined;
  }
  const responder = await connect({ servers: NATS_URL, name: 'bench-bare-responder', timeout: 2_000 });
  const token = randomBytes(16).toString('hex');
  const server = await NatsTransport.connect({ url: NATS_URL, prefix, token, name: 'bench-adapter-server' });
  const caller = await NatsTransport.connect({ url: NATS_URL, prefix, token, name: 'bench-adapter-caller' });
  const close = async () => {
    await caller.close();
    await server.close();
    await requester.drain().catch(() => requester.close());
    await responder.drain().catch(() => responder.close());
  };
  try {
    // Bare: the same JSON both ways (request = the input; reply = the same envelope the adapter sends back).
    const subject = `${prefix}.bare`;
    responder.subscribe(subject, {
      callback: (error, message) => {
        if (error) return;
        message.respond(JSON.stringify({ ok: true, result: viewOf(JSON.parse(message.string()) as GetThingQuery) }));
      },
    });
    await responder.flush();
    const bare = async () =>
      (JSON.parse((await requester.request(subject, JSON.stringify(INPUT), { timeout: 5_000 })).string()) as { result: ThingView }).result;

    // Adapter: served like bindTransport does (the callee answers through its local adapter).
    // As transport-bindings serves it: the transport parses and serialises, the local adapter does not copy again.
    const hosted = createLocalClient(BenchContract, hostedHandlers, { copy: false }) as unknown as Record<string, (input: object) => Promise<unknown>>;
    server.serveModule(BenchContract.module, async (operation, input) => {
      if (!Object.hasOwn(BenchContract.operations, operation)) {
        return { ok: false, error: new ModuleError('INVALID', `'benchmod' has no operation '${operation}'`, 'benchmod').toData() };
      }
      try {
        return { ok: true, result: await hosted[operation](input as object) };
      } catch (error) {
        if (error instanceof ModuleError) return { ok: false, error: error.toData() };
        throw error;
      }
    });
    for (let attempt = 0; !(await caller.ping(BenchContract.module, 1_000)); attempt++) {
      if (attempt === 50) throw new Error('the NATS adapter never answered a ping');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const remote = createRemoteClient(BenchContract, caller, new ModuleResilience(DEFAULT_RESILIENCE), 5_000);
    const viaNats = () => remote.getThing(INPUT);

    const expected = JSON.stringify(viewOf(INPUT));
    for (const [name, call] of Object.entries({ bare, viaNats })) {
      const got = JSON.stringify(await call());
      if (got !== expected) throw new Error(`${name} answered ${got}, expected ${expected}`);
    }

    const [bareRow, adapterRow] = await sample(
      [
        { name: 'bare NATS request/reply (same JSON, 2 connections)', call: bare },
        { name: 'NATS adapter: createRemoteClient -> serveModule -> local adapter', call: viaNats },
      ],
      { iterations: NATS_ITERATIONS, rounds: ROUNDS, warmup: Math.min(NATS_ITERATIONS, 2_000) },
    );

    // For the decomposition: the transport alone (no remote client, no local adapter on receipt).
    server.serveModule('benchraw', async (_operation, input) => ({ ok: true, result: viewOf(input as GetThingQuery) }));
    server.serveModule('benchlocal', async (operation, input) => ({ ok: true, result: await hosted[operation](input as object) }));
    for (const module of ['benchraw', 'benchlocal']) {
      for (let attempt = 0; !(await caller.ping(module, 1_000)); attempt++) {
        if (attempt === 50) throw new Error(`the NATS transport never answered a ping of ${module}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
    const inProcess = createLocalClient(BenchContract, hostedHandlers);
    const withHeader = async () => {
      const headers = natsHeaders();
      headers.set('Mf-Service-Token', token);
      return (JSON.parse((await requester.request(subject, JSON.stringify(INPUT), { timeout: 5_000, headers })).string()) as { result: ThingView }).result;
    };
    const decomposition: Variant[] = [
      { name: 'bare NATS request/reply', call: bare },
      { name: 'bare + the token header', call: withHeader },
      {
        name: 'NatsTransport.call -> serveModule answering directly (token check, queue group)',
        call: () => caller.call('benchraw', 'getThing', INPUT, 5_000),
      },
      { name: 'NatsTransport.call -> serveModule -> local adapter (validation on receipt)', call: () => caller.call('benchlocal', 'getThing', INPUT, 5_000) },
      { name: 'NATS adapter (+ remote client: copy, cockatiel)', call: viaNats },
      { name: '(info) bare, then an in-process local adapter call: its cost between I/O', call: async () => (await bare(), inProcess.getThing(INPUT)) },
    ];
    return { rows: [bareRow, adapterRow], decomposition, close };
  } catch (error) {
    await close();
    throw error;
  }
}

function ratio(row: Sampled, base: Sampled): { p50: number; mean: number } {
  return { p50: row.p50 / base.p50, mean: row.meanNs / base.meanNs };
}

function verdict(value: number, target: number): string {
  return value <= target ? 'met' : 'missed';
}

function signed(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(1)}`;
}

function us(ns: number): number {
  return ns / 1000;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench: ${(error as Error)?.stack ?? String(error)}`);
    process.exit(1);
  },
);
