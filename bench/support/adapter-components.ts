import { timingSafeEqual } from 'node:crypto';
import type { Type } from '@nestjs/common';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { plainToInstance } from 'class-transformer';
import { getMetadataStorage, IsString, Length, validate, validateSync } from 'class-validator';
import { wrap } from 'cockatiel';
import { wireCopy } from '../../src/platform/dispatch/local-client.js';
import { DEFAULT_RESILIENCE, ModuleResilience } from '../../src/platform/transport/resilience.js';
import { validateInput, VALIDATOR_OPTIONS } from '../../src/platform/validation/validate-input.js';
import { nsPerCall, nsPerSyncCall } from './latency.js';
import { printTable } from './stats.js';
import { fieldsWithNul } from '../../src/platform/validation/validate-input.js';

const COUNT = 100_000;

/**
 * Where the time of an adapter call goes: each step the adapters take, timed
 * alone (mean ns per call over an untimed loop). Registers extra decorated
 * classes at the end (to show the effect of a realistic class-validator
 * registry), so it must run after every other measurement.
 */
export async function componentBreakdown(subject: {
  input: object;
  output: unknown;
  type: Type<object>;
  handler: (input: object) => Promise<unknown>;
  local: (input: object) => Promise<unknown>;
}): Promise<void> {
  const { input, output, type } = subject;
  const copied = wireCopy(input);
  const instance = plainToInstance(type, copied, { enableImplicitConversion: false });
  const rows: Array<[string, number]> = [];
  const add = (name: string, ns: number) => rows.push([name, ns]);

  // Local adapter, step by step (each row measured on its own: rows do not add up exactly).
  add('handler call (async, awaited)', await nsPerCall(() => subject.handler(input), COUNT));
  add(
    'wireCopy(input)',
    nsPerSyncCall(() => wireCopy(input), COUNT),
  );
  add(
    'wireCopy(output)',
    nsPerSyncCall(() => wireCopy(output), COUNT),
  );
  add('validateInput(type, wireCopy(input)) (whole, with the copy)', await nsPerCall(() => validateInput(type, wireCopy(input)), COUNT));
  add(
    '  plainToInstance(type, wireCopy(input)) (class-transformer, with the copy)',
    nsPerSyncCall(() => plainToInstance(type, wireCopy(input), { enableImplicitConversion: false }), COUNT),
  );
  add('  validate(instance, VALIDATOR_OPTIONS) (class-validator)', await nsPerCall(() => validate(instance, VALIDATOR_OPTIONS), COUNT));
  const storage = getMetadataStorage();
  add(
    '    of which metadata lookup, redone on every validate()',
    nsPerSyncCall(() => storage.groupByPropertyName(storage.getTargetValidationMetadatas(type, '', false, false, undefined)), COUNT),
  );
  add(
    '  NUL scan (a copy of validate-input.ts fieldsWithNul)',
    nsPerSyncCall(() => fieldsWithNul(copied), COUNT),
  );
  add(
    '  (info) validateSync(instance, VALIDATOR_OPTIONS): no promises',
    nsPerSyncCall(() => validateSync(instance, VALIDATOR_OPTIONS), COUNT),
  );
  add(
    '  (info) Object.assign(Object.create(prototype), copy) instead of plainToInstance',
    nsPerSyncCall(() => Object.assign(Object.create(type.prototype as object) as object, copied), COUNT),
  );
  add(
    '  (info) hand-written checks of the same rules',
    nsPerSyncCall(() => handWritten(copied as Record<string, unknown>), COUNT),
  );
  const compiled = compileChecks(type);
  if (!compiled(wireCopy(input)) || compiled({ ...input, unknown: 1 })) throw new Error('compiled checks disagree with class-validator');
  add(
    '  (info) prototype: the same decorators compiled once per type, with the copy',
    nsPerSyncCall(() => compiled(wireCopy(input)), COUNT),
  );
  add('local adapter call (whole)', await nsPerCall(() => subject.local(input), COUNT));
  const inlined = async (value: object) => {
    const decoded = await validateInput(type, wireCopy(value));
    if (!decoded.ok) throw new Error('invalid');
    return wireCopy(await subject.handler(decoded.value));
  };
  add('  same steps inlined (no client object, no resolveHandler, no try)', await nsPerCall(() => inlined(input), COUNT));

  // NATS adapter: the steps it adds around the request/reply.
  const token = Buffer.from('0123456789abcdef0123456789abcdef');
  add(
    'NATS request headers: headers() + set(token) + token.toString()',
    nsPerSyncCall(() => {
      const h = natsHeaders();
      h.set('Mf-Service-Token', token.toString());
      return h;
    }, COUNT),
  );
  const given = natsHeaders();
  given.set('Mf-Service-Token', token.toString());
  add(
    'token check on receipt: Buffer.from(header) + timingSafeEqual',
    nsPerSyncCall(() => {
      const b = Buffer.from(given.get('Mf-Service-Token') ?? '');
      return b.length === token.length && timingSafeEqual(b, token);
    }, COUNT),
  );
  const resilience = new ModuleResilience(DEFAULT_RESILIENCE);
  const answer = () => Promise.resolve(output);
  const bareAwaitNs = await nsPerCall(() => answer(), COUNT);
  add('await of an already-resolved promise (baseline)', bareAwaitNs);
  add(
    'ModuleResilience.execute(idempotent=true): retry+breaker, wrap() per call',
    (await nsPerCall(() => resilience.execute(true, answer), COUNT)) - bareAwaitNs,
  );
  add('ModuleResilience.execute(idempotent=false): breaker only', (await nsPerCall(() => resilience.execute(false, answer), COUNT)) - bareAwaitNs);
  const prebuilt = prebuiltPolicy(resilience);
  add('  (info) the same retry+breaker wrapped once, reused', (await nsPerCall(() => prebuilt.execute(answer), COUNT)) - bareAwaitNs);
  add(
    'reply envelope: JSON.stringify({ok,result}) + JSON.parse',
    nsPerSyncCall(() => JSON.parse(JSON.stringify({ ok: true, result: output })), COUNT),
  );

  // class-validator scans every registered class on each validate() (to find parents): show a realistic registry.
  const registered = 30;
  for (let n = 0; n < registered; n++) {
    const Extra = class {};
    Object.defineProperty(Extra, 'name', { value: `ExtraDto${n}` });
    IsString()(Extra.prototype, 'a');
    Length(1, 10)(Extra.prototype, 'a');
    IsString()(Extra.prototype, 'b');
  }
  add(
    `validate(instance, VALIDATOR_OPTIONS) after ${registered} more decorated classes are registered`,
    await nsPerCall(() => validate(instance, VALIDATOR_OPTIONS), COUNT),
  );

  console.log('Where the time goes (mean ns per call, each step alone, untimed loops):\n');
  printTable(
    ['step', 'ns'],
    rows.map(([name, ns]) => [name, Math.round(ns)]),
  );
}

function handWritten(value: Record<string, unknown>): boolean {
  const keys = Object.keys(value);
  return (
    keys.every((key) => key === 'id' || key === 'quantity') &&
    typeof value.id === 'string' &&
    value.id.length >= 1 &&
    value.id.length <= 64 &&
    Number.isInteger(value.quantity) &&
    (value.quantity as number) >= 1 &&
    (value.quantity as number) <= 100
  );
}

/**
 * A prototype of the fix: read class-validator's metadata for a (flat) type
 * once and keep the constraint functions, so that a call runs only the checks.
 * Handles plain property constraints only (no nesting, groups, conditions, each).
 */
function compileChecks(type: Type<object>): (value: object) => boolean {
  const storage = getMetadataStorage();
  const metadatas = storage.getTargetValidationMetadatas(type, '', false, false, undefined);
  const allowed = new Set(metadatas.map((m) => m.propertyName));
  const checks = metadatas.map((metadata) => {
    const [constraint] = storage.getTargetValidatorConstraints(metadata.constraintCls);
    return { metadata, instance: new (constraint.target as new () => { validate(value: unknown, args: unknown): boolean })() };
  });
  return (value) => {
    for (const key of Object.keys(value)) if (!allowed.has(key)) return false;
    const target = Object.assign(Object.create(type.prototype as object) as object, value) as Record<string, unknown>;
    for (const { metadata, instance } of checks) {
      const property = target[metadata.propertyName];
      const args = { targetName: type.name, property: metadata.propertyName, object: target, value: property, constraints: metadata.constraints };
      if (!instance.validate(property, args)) return false;
    }
    return true;
  };
}

/** Retry + both breakers composed once, as ModuleResilience.execute composes them on every call. */
function prebuiltPolicy(resilience: ModuleResilience) {
  type Policy = Parameters<typeof wrap>[0];
  const internals = resilience as unknown as { retrying: Policy; absent: Policy; slow: Policy };
  return wrap(internals.retrying, internals.absent, internals.slow);
}
