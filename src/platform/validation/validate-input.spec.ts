import type { Type as ClassType } from '@nestjs/common';
import { Transform, Type } from 'class-transformer';
import {
  Allow,
  getMetadataStorage,
  IsArray,
  IsBoolean,
  IsDefined,
  IsIn,
  IsInt,
  IsNotEmpty,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  MaxLength,
  Max,
  Min,
  MinLength,
  registerDecorator,
  ValidateIf,
  ValidateNested,
  type ValidationArguments,
  ValidatorConstraint,
  type ValidatorConstraintInterface,
  Validate,
} from 'class-validator';
import { fileURLToPath } from 'node:url';
import { defaultMetadataStorage as transformerStorage } from 'class-transformer/cjs/storage.js';
import type { ModuleDefinition } from '../modules/module-definition.js';
import { discoverModules } from '../modules/module-discovery.js';
import * as sourceSchemaValidator from './schema-validator.js';
import * as sourceValidateInput from './validate-input.js';
import type { Validated } from './validate-input.js';
import { prng } from '../../../tools/support/stats.js';
import { GetThingQuery } from '../../../bench/support/get-thing.query.js';

/**
 * The schema path of validateInput (ajv on a JSON Schema generated from the
 * decorators) must be unobservable: for every DTO of the application, on valid
 * and invalid inputs alike, validateInput answers exactly what
 * class-transformer + class-validator (validateInputSlow) answer.
 *
 * The platform knows no module by name: the classes are found the way the
 * platform finds modules (discoverModules, here and in the messaging test
 * fixtures), as every class class-validator then has metadata for, plus the
 * classes their @Type properties nest. Each must have valid samples below.
 */

/**
 * The same comparisons on the sources (as jest compiles them) and on the build (`npm run build`,
 * as `npm start` runs it), which jest imports as they are: both with the classes of the sources.
 */
type Implementation = typeof sourceValidateInput & typeof sourceSchemaValidator;
const BUILD = fileURLToPath(new URL('../../../dist/src/platform/validation/', import.meta.url));
const IMPLEMENTATIONS: ReadonlyArray<[string, Implementation]> = [
  ['sources', { ...sourceValidateInput, ...sourceSchemaValidator }],
  [
    'build (dist/)',
    {
      ...((await import(`${BUILD}validate-input.js`)) as typeof sourceValidateInput),
      ...((await import(`${BUILD}schema-validator.js`)) as typeof sourceSchemaValidator),
    },
  ],
];
/** The implementation under test: set by each describe of IMPLEMENTATIONS before its tests run. */
let impl: Implementation = IMPLEMENTATIONS[0][1];

const FIXTURE_MODULES = fileURLToPath(new URL('../../../test/fixtures/messaging/src/modules/', import.meta.url));
const DEFINITIONS: readonly ModuleDefinition[] = [...(await discoverModules()), ...(await discoverModules(FIXTURE_MODULES))].map((module) => module.definition);

/** Every class with validation metadata (before this file declares its own), and the classes they nest. */
function validatedClasses(): Array<ClassType<object>> {
  const registered = (getMetadataStorage() as unknown as { validationMetadatas: Map<unknown, unknown> }).validationMetadatas;
  const found = new Set<ClassType<object>>();
  const visit = (type: ClassType<object>) => {
    if (found.has(type)) return;
    found.add(type);
    const properties = getMetadataStorage()
      .getTargetValidationMetadatas(type, '', false, false, undefined)
      .map((m) => m.propertyName);
    for (const property of new Set(properties)) {
      const nested = transformerStorage.findTypeMetadata(type, property)?.typeFunction?.();
      if (typeof nested === 'function') visit(nested as ClassType<object>);
    }
  };
  for (const key of registered.keys()) if (typeof key === 'function') visit(key as ClassType<object>);
  return [...found];
}

const APP_TYPES = validatedClasses();

function appType(name: string): ClassType<object> {
  const type = APP_TYPES.find((candidate) => candidate.name === name);
  if (!type) throw new Error(`no validated class ${name} in the application`);
  return type;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const UUID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const UUID2 = '9b2c7d1e-52a4-4c8e-8f3a-6d0e1b2c3d4e';
const UUID3 = 'c56a4180-65aa-42ec-a945-5fd21dec0538';

const address = { name: 'Ada Lovelace', line1: '1 Main St', city: 'Paris', postalCode: '75001', country: 'FR' };
const checkout = {
  customerId: 'customer-1',
  items: [
    { sku: 'SKU-1', quantity: 2 },
    { sku: 'B_2', quantity: 1 },
  ],
  paymentToken: 'tok_visa',
  shippingAddress: address,
};

/** Valid samples of each class of the application (and of the test fixtures), by class name. */
const SAMPLES: Readonly<Record<string, Json[]>> = {
  CreateProductCommand: [
    { sku: 'SKU-1', name: 'Widget', priceCents: 1999, stock: 10 },
    { stock: 0, priceCents: 0, name: 'x', sku: 'A' },
  ],
  RestockProductCommand: [
    { sku: 'SKU-1', quantity: 5 },
    { sku: 'any thing', quantity: 1_000_000 },
  ],
  RestockProductRequest: [{ quantity: 5 }],
  GetProductQuery: [{ sku: 'SKU-1' }],
  GetPricesQuery: [{ skus: ['SKU-1', 'B'] }, { skus: ['only'] }],
  StockLine: [{ sku: 'SKU-1', quantity: 3 }],
  ReserveStockCommand: [
    {
      orderId: UUID,
      lines: [
        { sku: 'SKU-1', quantity: 2 },
        { sku: 'B', quantity: 1000 },
      ],
    },
  ],
  ReleaseStockCommand: [{ orderId: UUID }],
  CommitStockCommand: [{ orderId: UUID }],
  AwaitOrderQuery: [
    { orderId: UUID, waitMs: 10_000 },
    { orderId: 'x', waitMs: 1 },
  ],
  ReceiveCarrierEventCommand: [{ signature: 't=1765000000,v1=' + 'ab'.repeat(32), body: Buffer.from('{"a":1}').toString('base64') }],
  CarrierEvent: [
    { shipmentId: UUID, event: 'DELIVERED', at: '2026-12-07T10:00:00Z' },
    { shipmentId: UUID2, event: 'RETURNED', at: '2026-12-07T10:00:00.123+01:00' },
  ],
  ShipmentDelivered: [{ orderId: UUID, shipmentId: UUID2, at: '2026-12-07T10:00:00Z' }],
  ShipmentReturned: [{ orderId: UUID, shipmentId: UUID2, at: '2026-12-07T10:00:00Z' }],
  CheckoutRequest: [checkout, { ...checkout, items: [{ quantity: 1, sku: 'Z' }] }],
  OrderItem: [{ sku: 'SKU-1', quantity: 1 }],
  PlaceOrderCommand: [{ ...checkout, idempotencyKey: 'key-1' }, checkout],
  GetOrderQuery: [{ orderId: UUID }, { orderId: 'not-a-uuid' }],
  GetCheckoutLogQuery: [{ orderId: UUID }, { orderId: 'not-a-uuid' }],
  CancelOrderCommand: [{ orderId: UUID }, { orderId: 'not-a-uuid' }],
  OrderPlaced: [
    { orderId: UUID, customerId: 'customer-1', totalCents: 4200 },
    { totalCents: 0, customerId: '', orderId: UUID },
  ],
  OrderConfirmed: [
    { orderId: UUID, customerId: 'customer-1', paymentId: UUID2, shipmentId: UUID3, totalCents: 5198 },
    { totalCents: 0, shipmentId: UUID3, paymentId: UUID2, customerId: 'c', orderId: UUID },
  ],
  OrderCancelled: [
    { orderId: UUID, customerId: 'customer-1', reason: 'OUT_OF_STOCK' },
    { orderId: UUID, customerId: 'c', reason: 'TIMED_OUT' },
    { orderId: UUID, customerId: 'c', reason: 'CANCELLED_BY_CUSTOMER' },
    { orderId: UUID, customerId: 'c', reason: 'RETURNED' },
    { orderId: UUID, customerId: 'c', reason: 'NOT_DELIVERED' },
  ],
  ReviewRequested: [{ orderId: UUID, customerId: 'customer-1' }],
  ChargePaymentCommand: [{ orderId: UUID, amountCents: 4200, paymentToken: 'tok_visa' }],
  RefundPaymentCommand: [{ orderId: UUID }],
  GetPaymentQuery: [{ paymentId: UUID }, { paymentId: 'x' }],
  FindPaymentsQuery: [{ orderId: UUID }],
  ScheduleShipmentCommand: [{ orderId: UUID, address }],
  CancelShipmentCommand: [{ orderId: UUID }],
  GetShipmentQuery: [{ shipmentId: UUID }],
  FindShipmentsQuery: [{ orderId: UUID }],
  FindNotificationsQuery: [{ customerId: 'customer-1' }, { customerId: 'c'.repeat(100) }, { customerId: 'c', limit: 1000, after: 'eyJrIjpbMV19' }],
  PageQuery: [{}, { limit: 1 }, { limit: 1000, after: 'abc_-1' }],
  ShippingAddress: [address],
  RecordEntryCommand: [{ accountId: 'acc-1', amount: -5 }],
  EntryRecorded: [{ accountId: 'acc-1', sequence: 1, amount: 10 }],
  NothingQuery: [{ unused: 'x' }],
  GetThingQuery: [{ id: 'thing-42', quantity: 3 }],
};

const APP: ReadonlyArray<[ClassType<object>, Json[]]> = [...APP_TYPES, GetThingQuery].map((type) => [type, SAMPLES[type.name] ?? []]);

// ---------------------------------------------------------------------------
// Comparison

type Outcome = Validated<object> | { threw: string };

async function both(type: ClassType<object>, make: () => unknown): Promise<{ fast: Outcome; slow: Outcome }> {
  // Two separately made (identical) payloads: neither path can see what the other did to its input.
  const fast = await impl.validateInput(type, make()).catch((error: unknown) => ({ threw: String(error) }));
  const slow = await impl.validateInputSlow(type, make()).catch((error: unknown) => ({ threw: String(error) }));
  return { fast, slow };
}

/**
 * A deep copy made in this realm (structuredClone's objects come from another realm under jest,
 * which the fast path leaves to class-validator), keeping holes, undefined, NaN, own __proto__
 * keys and null prototypes.
 */
function clone<T>(value: T): T {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const copy: unknown[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) if (i in value) copy[i] = clone(value[i]);
    return copy as T;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== null && proto.constructor?.name !== 'Object') return value;
  const copy = (proto === null ? Object.create(null) : {}) as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    Object.defineProperty(copy, key, { value: clone((value as Record<string, unknown>)[key]), enumerable: true, writable: true, configurable: true });
  }
  return copy as T;
}

/** Prototypes and own keys in order, all the way down: what toStrictEqual does not look at. */
function shape(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  const proto = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  return {
    prototype: proto === null ? null : (proto.constructor?.name ?? '?'),
    keys: Reflect.ownKeys(value).map(String),
    values: Reflect.ownKeys(value).map((key) => shape((value as Record<PropertyKey, unknown>)[key])),
  };
}

function expectSame(fast: Outcome, slow: Outcome, type: ClassType<object>, what: string): void {
  try {
    expect(fast).toStrictEqual(slow);
    expect(shape(fast)).toEqual(shape(slow));
    if ('ok' in fast && fast.ok) expect(fast.value).toBeInstanceOf(type);
  } catch (error) {
    throw new Error(`${type.name}: ${what}\n${(error as Error).message}`, { cause: error });
  }
}

// ---------------------------------------------------------------------------
// Seeded mutations of valid samples

const POOL: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1,
  1.5,
  2.5e9,
  '',
  ' ',
  'x',
  '1',
  '1.5',
  'true',
  'null',
  UUID,
  UUID.toUpperCase(),
  'tok_visa',
  'FR',
  'SKU-1',
  'a'.repeat(201),
  'ok\u0000',
  '\u0000',
  '\u{1F600}'.repeat(3),
  [],
  [1],
  ['a'],
  [null],
  {},
  { a: 1 },
  { sku: 'SKU-1', quantity: 1 },
  address,
  'OUT_OF_STOCK',
  'PAYMENT_DECLINED',
  'out_of_stock',
  -0,
  1e6,
  1e6 + 1,
  100_000_001,
  2_000_000_001,
];

/** A fresh copy: mutants change their payload in place, and must never change the pool (or build cycles). */
function fromPool(random: () => number): unknown {
  return clone(pick(random, POOL));
}

type Container = Record<string, unknown> | unknown[];

/** Every container of the payload (with its path), root included. */
function containers(value: unknown, path = '$'): Array<[string, Container]> {
  if (typeof value !== 'object' || value === null) return [];
  const found: Array<[string, Container]> = [[path, value as Container]];
  for (const key of Object.keys(value)) found.push(...containers((value as Record<string, unknown>)[key], `${path}.${key}`));
  return found;
}

function pick<T>(random: () => number, values: readonly T[]): T {
  return values[Math.floor(random() * values.length)];
}

function mutateLeaf(random: () => number, value: unknown): unknown {
  if (typeof value === 'number') {
    return pick(random, [String(value), value + 0.5, -value - 1, value * 1e6, 0, value + 1, value - 1, NaN, Infinity, fromPool(random)]);
  }
  if (typeof value === 'string') {
    return pick(random, [
      '',
      `${value}\u0000`,
      value.repeat(70),
      value.toLowerCase(),
      value.toUpperCase(),
      `${value} `,
      value.slice(1),
      `${value}\u{1F600}`,
      value.length,
      fromPool(random),
    ]);
  }
  if (Array.isArray(value)) {
    const copy = [...value];
    switch (Math.floor(random() * 8)) {
      case 0:
        return [];
      case 1:
        return value.length ? [...value, value[0]] : [fromPool(random)];
      case 2:
        return Array.from({ length: 101 }, (_, i) => (value.length ? value[i % value.length] : 'x'));
      case 3:
        copy[Math.floor(random() * Math.max(1, copy.length))] = fromPool(random);
        return copy;
      case 4:
        return [value];
      case 5:
        return Object.fromEntries(Object.keys(value).map((i) => [i, value[Number(i)]]));
      case 6: {
        const sparse = [...value, 'x'];
        // eslint-disable-next-line @typescript-eslint/no-array-delete -- the hole is the point: a sparse array as a payload
        delete sparse[0];
        return sparse;
      }
      default:
        return Array.from({ length: 100 }, (_, i) => (value.length ? value[0] : `item-${i}`));
    }
  }
  if (typeof value === 'object' && value !== null) {
    return pick(random, [[value], null, {}, 'object', Object.assign(Object.create(null) as object, value), fromPool(random)]);
  }
  return fromPool(random);
}

/** One to three random changes anywhere in a copy of `sample`. */
function mutant(sample: Json, seed: number): unknown {
  const random = prng(seed);
  const payload = clone(sample) as unknown;
  const changes = 1 + Math.floor(random() * 3);
  for (let n = 0; n < changes; n++) {
    const [, target] = pick(random, containers(payload));
    const keys = Object.keys(target);
    const action = random();
    if (!Array.isArray(target) && (action < 0.15 || keys.length === 0)) {
      // An unknown property, sometimes one that class-transformer or class-validator treat specially.
      const key = pick(random, ['extra', 'unknown', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'then', 'SKU']);
      Object.defineProperty(target, key, { value: fromPool(random), enumerable: true, writable: true, configurable: true });
    } else if (!Array.isArray(target) && action < 0.3) {
      delete target[pick(random, keys)];
    } else if (action < 0.35) {
      (target as Record<string, unknown>)[pick(random, keys)] = undefined;
    } else {
      const key = pick(random, keys);
      const record = target as Record<string, unknown>;
      record[key] = mutateLeaf(random, record[key]);
    }
  }
  return payload;
}

// ---------------------------------------------------------------------------

function applicationSuite(): void {
  describe('validateInput (schema path) answers exactly as class-transformer + class-validator', () => {
    it('covers every validated class of the application, every contract input and every subscribed event', () => {
      for (const [type, samples] of APP) expect({ type: type.name, samples: samples.length > 0 }).toEqual({ type: type.name, samples: true });
      const covered = new Set<unknown>(APP_TYPES);
      for (const definition of DEFINITIONS) {
        for (const [name, operation] of Object.entries(definition.contract.operations)) {
          expect({ operation: `${definition.name}.${name}`, covered: covered.has(operation.input) }).toEqual({
            operation: `${definition.name}.${name}`,
            covered: true,
          });
        }
        for (const subscription of definition.subscriptions ?? []) for (const event of subscription.events) expect(covered.has(event)).toBe(true);
      }
      // The classes the brief names, so that a discovery gone wrong cannot pass unnoticed.
      for (const name of [
        'CheckoutRequest',
        'PlaceOrderCommand',
        'OrderItem',
        'ShippingAddress',
        'RestockProductRequest',
        'OrderCancelled',
        'OrderConfirmed',
        'FindNotificationsQuery',
        'EntryRecorded',
      ]) {
        expect(appType(name)).toBeDefined();
      }
    });

    it('compiles every class of the application: none falls back to class-validator when valid', async () => {
      for (const [type, samples] of APP) {
        expect({ type: type.name, compiled: impl.isCompiled(type) }).toEqual({ type: type.name, compiled: true });
        for (const sample of samples) {
          const value = impl.fastValidInstance(type, clone(sample) as object);
          expect({ type: type.name, sample, fast: value !== undefined }).toEqual({ type: type.name, sample, fast: true });
        }
      }
    });

    it.each(APP.map(([type, samples]) => [type.name, type, samples] as const))('%s: valid samples', async (_name, type, samples) => {
      for (const sample of samples) {
        const { fast, slow } = await both(type, () => clone(sample));
        expect(slow).toMatchObject({ ok: true });
        expectSame(fast, slow, type, JSON.stringify(sample));
      }
    });

    const HAND_WRITTEN: ReadonlyArray<[ClassType<object>, unknown]> = [
      [appType('CreateProductCommand'), { sku: 'SKU-1', name: 'Widget', priceCents: '1999', stock: 10 }],
      [appType('CreateProductCommand'), { sku: 'sku-1', name: '', priceCents: 1.5, stock: -1, extra: true }],
      [appType('CreateProductCommand'), { sku: 'SKU-1', name: 'a'.repeat(201), priceCents: 100_000_001, stock: 1_000_001 }],
      [appType('CreateProductCommand'), {}],
      [appType('GetPricesQuery'), { skus: [] }],
      [appType('GetPricesQuery'), { skus: 'SKU-1' }],
      [appType('GetPricesQuery'), { skus: ['a', 1, null, ''] }],
      [appType('GetPricesQuery'), { skus: Array.from({ length: 101 }, (_, i) => `S${i}`) }],
      [appType('GetPricesQuery'), { skus: ['ok', 'nul\u0000'] }],
      [appType('ReserveStockCommand'), { orderId: UUID, lines: [{ sku: 'A', quantity: 1, extra: 1 }] }],
      [appType('ReserveStockCommand'), { orderId: UUID, lines: [null, 'A', 1, [], { sku: 'A' }] }],
      [appType('ReserveStockCommand'), { orderId: UUID, lines: [[{ sku: 'A', quantity: 1 }]] }],
      [appType('ReserveStockCommand'), { orderId: UUID, lines: { sku: 'A', quantity: 1 } }],
      [
        appType('ReserveStockCommand'),
        {
          orderId: 'nope',
          lines: [
            { sku: 'A', quantity: 1 },
            { sku: 'A', quantity: 1 },
          ],
        },
      ],
      [
        appType('CheckoutRequest'),
        {
          ...checkout,
          items: [
            { sku: 'A', quantity: 1 },
            { sku: 'B', quantity: 1 },
            { sku: 'A', quantity: 2 },
          ],
        },
      ],
      [
        appType('CheckoutRequest'),
        {
          ...checkout,
          items: [
            { sku: 'A', quantity: 1 },
            { sku: 'A', quantity: 1 },
          ],
        },
      ],
      [appType('CheckoutRequest'), { ...checkout, items: [[{ sku: 'A', quantity: 1 }]] }],
      [appType('CheckoutRequest'), { ...checkout, items: [{ sku: 'A', quantity: 1 }, [{ sku: 'A', quantity: 1 }]] }],
      [appType('CheckoutRequest'), { ...checkout, shippingAddress: [address] }],
      [appType('CheckoutRequest'), { ...checkout, shippingAddress: { ...address, extra: 1 } }],
      [appType('CheckoutRequest'), { ...checkout, shippingAddress: { ...address, country: 'fr', postalCode: '' } }],
      [appType('CheckoutRequest'), { ...checkout, shippingAddress: null }],
      [appType('CheckoutRequest'), { ...checkout, shippingAddress: 'Paris' }],
      [appType('CheckoutRequest'), { ...checkout, shippingAddress: undefined }],
      [appType('CheckoutRequest'), { ...checkout, items: undefined, paymentToken: 'tok_' }],
      [appType('CheckoutRequest'), { ...checkout, customerId: 'c\u0000', items: [{ sku: 'A\u0000', quantity: 1 }] }],
      [
        appType('CheckoutRequest'),
        JSON.parse(
          '{"__proto__": {"customerId": "x"}, "customerId": "c", "items": [{"sku": "A", "quantity": 1}], "paymentToken": "tok_a", "shippingAddress": {"name": "n", "line1": "l", "city": "c", "postalCode": "p", "country": "FR"}}',
        ),
      ],
      [
        appType('CheckoutRequest'),
        JSON.parse(
          '{"constructor": 1, "customerId": "c", "items": [{"sku": "A", "quantity": 1}], "paymentToken": "tok_a", "shippingAddress": {"name": "n", "line1": "l", "city": "c", "postalCode": "p", "country": "FR"}}',
        ),
      ],
      [appType('CheckoutRequest'), { ...checkout, items: [{ sku: 'A', quantity: 1, constructor: 'x' }] }],
      [appType('CheckoutRequest'), Object.assign(Object.create(null) as object, checkout)],
      [appType('CheckoutRequest'), { ...checkout, shippingAddress: Object.assign(Object.create(null) as object, address) }],
      [appType('CheckoutRequest'), { ...checkout, shippingAddress: new Date(0) }],
      [appType('CheckoutRequest'), { ...checkout, items: new Set([{ sku: 'A', quantity: 1 }]) }],
      [appType('PlaceOrderCommand'), { ...checkout, idempotencyKey: null }],
      [appType('PlaceOrderCommand'), { ...checkout, idempotencyKey: undefined }],
      [appType('PlaceOrderCommand'), { ...checkout, idempotencyKey: '' }],
      [appType('PlaceOrderCommand'), { ...checkout, idempotencyKey: 7 }],
      [appType('OrderCancelled'), { orderId: UUID, customerId: 'c', reason: 'out_of_stock' }],
      // A v1 payload (no customerId) is not a v2 event.
      [appType('OrderCancelled'), { orderId: UUID, reason: 'OUT_OF_STOCK' }],
      [appType('OrderConfirmed'), { orderId: UUID, paymentId: UUID2, shipmentId: UUID3 }],
      [appType('OrderConfirmed'), { orderId: UUID, customerId: 'c', paymentId: UUID2, shipmentId: UUID3, totalCents: '5198' }],
      [appType('FindNotificationsQuery'), { customerId: '' }],
      [appType('FindNotificationsQuery'), { customerId: 'c'.repeat(101) }],
      [appType('FindNotificationsQuery'), { customerId: ['a', 'b'] }],
      [appType('FindNotificationsQuery'), {}],
      [appType('OrderPlaced'), { orderId: UUID.toUpperCase(), customerId: 'c', totalCents: 0 }],
      [appType('OrderPlaced'), { orderId: '00000000-0000-0000-0000-000000000000', customerId: 'c', totalCents: -1 }],
      [appType('ChargePaymentCommand'), { orderId: UUID, amountCents: 2_000_000_001, paymentToken: 'tok_VISA' }],
      [appType('ScheduleShipmentCommand'), { orderId: UUID, address: { ...address, name: 'a'.repeat(201), line1: '', city: 5 } }],
      [appType('ScheduleShipmentCommand'), { orderId: UUID, address: {} }],
      [appType('ScheduleShipmentCommand'), { orderId: UUID }],
      [GetThingQuery, { id: 'thing-42', quantity: 3, then: () => 1 }],
      // Keys class-transformer never copies (so the whitelist never sees them): valid, unless they hold a NUL.
      [GetThingQuery, { id: 'thing-42', quantity: 3, toString: 'x', hasOwnProperty: { a: 1 } }],
      [GetThingQuery, { id: 'thing-42', quantity: 3, toString: ['x\u0000'] }],
      [appType('CheckoutRequest'), { ...checkout, shippingAddress: { ...address, valueOf: 1, isPrototypeOf: null } }],
      // class-transformer throws on an untyped object with its own `constructor` key: so does validateInput, either way.
      [GetThingQuery, { id: 'thing-42', quantity: 3, extra: { constructor: 1 } }],
      [GetThingQuery, { id: new String('thing') as unknown as string, quantity: 3 }],
      [GetThingQuery, { id: '\u{1F600}'.repeat(64), quantity: 100 }],
      [GetThingQuery, { id: '\u{1F600}'.repeat(33), quantity: 1 }],
    ];

    it.each(HAND_WRITTEN.map(([type, payload], index) => [index, type.name, type, payload] as const))(
      'hand-written case %d (%s)',
      async (_index, _name, type, payload) => {
        // Same object twice is fine here: neither path modifies its input.
        const { fast, slow } = await both(type, () => payload);
        expectSame(fast, slow, type, String(_index));
      },
    );

    it('gives the same answer on non-objects', async () => {
      for (const payload of [null, undefined, 1, 'x', true, [], [checkout]]) {
        const { fast, slow } = await both(appType('CheckoutRequest'), () => payload);
        expectSame(fast, slow, appType('CheckoutRequest'), JSON.stringify(payload) ?? 'undefined');
      }
    });

    const MUTANTS_PER_SAMPLE = 400;
    const tally = new Map<string, { valid: number; validByFastPath: number; leftToReference: number; invalid: number; threw: number }>();
    afterAll(() => {
      if (process.env.VALIDATION_TALLY) console.log(JSON.stringify(Object.fromEntries(tally), null, 1));
    });
    it.each(APP.map(([type, samples]) => [type.name, type, samples] as const))(
      `%s: ${MUTANTS_PER_SAMPLE} seeded mutants per sample`,
      async (name, type, samples) => {
        const count = { valid: 0, validByFastPath: 0, leftToReference: 0, invalid: 0, threw: 0 };
        for (const [s, sample] of samples.entries()) {
          for (let n = 0; n < MUTANTS_PER_SAMPLE; n++) {
            const seed = hash(`${name}/${s}/${n}`);
            const { fast, slow } = await both(type, () => mutant(sample, seed));
            expectSame(fast, slow, type, `mutant ${s}/${n} (seed ${seed}): ${String(JSON.stringify(mutant(sample, seed)))}`);
            if (!('ok' in slow)) {
              count.threw++;
              if (process.env.VALIDATION_TALLY) console.log('threw', type.name, slow.threw, JSON.stringify(mutant(sample, seed)));
            } else if (!slow.ok) count.invalid++;
            else {
              count.valid++;
              if (impl.fastValidInstance(type, mutant(sample, seed) as object) !== undefined) count.validByFastPath++;
              else if (leftToReference(mutant(sample, seed))) count.leftToReference++;
              else if (process.env.VALIDATION_TALLY) console.log(type.name, JSON.stringify(mutant(sample, seed)));
            }
          }
        }
        expect(count.invalid).toBeGreaterThan(0);
        // The schema path is really exercised: every valid mutant is decided by it (and the invalid ones by
        // class-validator), but for those it leaves to class-validator on purpose (leftToReference).
        expect(count.valid).toBeGreaterThan(0);
        expect(count.validByFastPath).toBeGreaterThan(0);
        expect(count.validByFastPath + count.leftToReference).toBe(count.valid);
        tally.set(name, count);
      },
    );
  });
}

/**
 * Valid payloads the schema refuses, so that class-validator decides them: a key class-transformer
 * never copies (an inherited name such as `toString`: an unknown property to the schema), or a hole
 * in an array (which class-validator's `each` skips and the schema's `items` does not).
 */
function leftToReference(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!(i in value) || leftToReference(value[i])) return true;
    return false;
  }
  return Object.keys(value).some((key) => key in Object.prototype || leftToReference((value as Record<string, unknown>)[key]));
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

// ---------------------------------------------------------------------------
// Decorators the application does not use today: either handled exactly, or left to class-validator.

function Even(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'even',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: { validate: (value: unknown) => typeof value === 'number' && value % 2 === 0 },
    });
}

function SlowlyTrue(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'slowlyTrue',
      target: target.constructor,
      propertyName: String(propertyName),
      async: true,
      validator: { validate: async (value: unknown) => value !== 'no' },
    });
}

/** A custom decorator that takes a built-in's name but not its rule: must not be mistaken for it. */
function FakeIsString(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isString',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: { validate: (value: unknown) => typeof value === 'string' && value.startsWith('ok') },
    });
}

@ValidatorConstraint({ name: 'lessThanMax' })
class LessThanMax implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    return typeof value === 'number' && value < (args.object as { max: number }).max;
  }
}

class Leaf {
  @IsString()
  @MinLength(2)
  @MaxLength(5)
  readonly code: string;

  @IsOptional()
  @ValidateNested()
  @Type(() => Leaf)
  readonly child?: Leaf;
}

/** Decorators the schema path takes (Kitchen adds two it leaves to class-validator). */
class Pantry {
  @IsOptional()
  @IsBoolean()
  readonly flag?: boolean;

  @IsNumber({ allowNaN: false })
  @Even()
  readonly count: number;

  @IsInt({ each: true })
  @Min(0, { each: true })
  readonly numbers: number[];

  @IsUUID('4', { each: true })
  @IsArray()
  readonly ids: string[];

  @IsIn(['a', 'b'], { each: true })
  @IsOptional()
  readonly letters?: string[];

  @IsInt()
  readonly max: number;

  @Validate(LessThanMax)
  readonly below: number;

  @IsOptional()
  @ValidateNested({ each: true })
  @Type(() => Leaf)
  readonly leaves?: Leaf[];

  @IsOptional()
  @IsDefined()
  @Matches(/^[a-z]+$/i)
  readonly word?: string;

  @IsNotEmpty()
  @IsString()
  readonly note: string;
}

/** Pantry with a ValidateIf and an Allow, which the schema path leaves to class-validator. */
class Kitchen extends Pantry {
  @ValidateIf((object: Kitchen) => object.count > 10)
  declare readonly note: string;

  @Allow()
  readonly anything?: unknown;
}

/** class-validator-jsonschema's Min says `type: number`, which lodash.merge puts over IsInt's `integer` in this order. */
class BoundFirst {
  @Min(0)
  @Max(10)
  @IsInt()
  readonly n: number;
}

/** A bound without a type decorator: `minimum` alone would let a string through. */
class BoundAlone {
  @Min(0)
  readonly n: number;
}

/** Two of one decorator on a property: the merged schema would keep one pattern. */
class TwoPatterns {
  @IsString()
  @Matches(/^a/)
  @Matches(/b$/)
  readonly s: string;
}

/** Matches with flags: a RegExp's own, or a string pattern with its modifiers. */
class FlaggedPatterns {
  @IsString()
  @Matches(/^abc$/i)
  readonly word: string;

  @Matches('^x.y$', 's')
  readonly span: string;
}

class WithDefaults {
  @IsInt()
  readonly size: number = 3;

  @IsString()
  readonly name: string;
}

class Untyped {
  @IsObject()
  readonly bag: object;

  @ValidateNested()
  readonly nested: object;
}

class Asynchronous {
  @IsString()
  @SlowlyTrue()
  readonly value: string;
}

class Impostor {
  @FakeIsString()
  readonly value: string;
}

class Transformed {
  @IsString()
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  readonly value: string;
}

class Undecorated {
  @IsString()
  readonly value: string;

  readonly other: string;
}

class Parent {
  @IsString()
  readonly id: string;
}

class Child extends Parent {
  @IsInt()
  readonly n: number;
}

class Narrowed extends Parent {
  @Length(2, 3)
  declare readonly id: string;
}

const kitchen = {
  flag: true,
  count: 12,
  note: 'n',
  numbers: [0, 1, 2],
  ids: ['3f2504e0-4f89-41d3-9a0c-0305e82c3301'],
  letters: ['a', 'b'],
  max: 10,
  below: 9,
  leaves: [{ code: 'ab', child: { code: 'cd' } }],
  anything: { deep: [1, { x: 2 }] },
  word: 'Hello',
};

const { anything: _anything, ...pantry } = kitchen;

const SYNTHETIC: ReadonlyArray<[ClassType<object>, boolean, unknown[]]> = [
  [
    Pantry,
    true,
    [
      pantry,
      { ...pantry, letters: undefined, leaves: undefined, flag: undefined, word: undefined },
      { ...pantry, flag: null, word: null, letters: null },
      { ...pantry, note: '' },
      { ...pantry, count: 13 },
      { ...pantry, count: NaN },
      { ...pantry, count: Infinity },
      { ...pantry, numbers: [1, -1] },
      { ...pantry, numbers: [1.5] },
      { ...pantry, numbers: 5 },
      { ...pantry, numbers: [] },
      { ...pantry, ids: ['3F2504E0-4F89-11D3-9A0C-0305E82C3301'] },
      { ...pantry, ids: ['urn:uuid:3f2504e0-4f89-41d3-9a0c-0305e82c3301'] },
      { ...pantry, letters: ['c'] },
      { ...pantry, letters: 'a' },
      { ...pantry, below: 10 },
      { ...pantry, below: 10, max: 11 },
      { ...pantry, leaves: [{ code: 'ab', child: { code: 'toolong' } }] },
      { ...pantry, leaves: [{ code: 'ab', child: { code: 'cd', child: { code: 'ef', extra: 1 } } }] },
      { ...pantry, leaves: [{ code: 'ab', child: null }] },
      { ...pantry, leaves: [{ code: 'a\uFE0F' }, { code: '\u{1F600}\u{1F600}\u{1F600}' }] },
      { ...pantry, leaves: [] },
      { ...pantry, leaves: {} },
      { ...pantry, word: 'two words' },
      { ...pantry, word: 'Hello\n' },
    ],
  ],
  [
    Kitchen,
    false,
    [
      kitchen,
      { ...kitchen, anything: undefined, letters: undefined, leaves: undefined, flag: undefined, word: undefined },
      { ...kitchen, count: 3, note: undefined },
      { ...kitchen, count: 12, note: undefined },
      { ...kitchen, count: 12, note: '' },
      { ...kitchen, count: 13 },
      { ...kitchen, count: NaN },
      { ...kitchen, numbers: [1, -1] },
      { ...kitchen, numbers: 5 },
      { ...kitchen, numbers: [] },
      { ...kitchen, ids: ['3F2504E0-4F89-11D3-9A0C-0305E82C3301'] },
      { ...kitchen, letters: ['c'] },
      { ...kitchen, letters: 'a' },
      { ...kitchen, below: 10 },
      { ...kitchen, below: 10, max: 11 },
      { ...kitchen, leaves: [{ code: 'ab', child: { code: 'toolong' } }] },
      { ...kitchen, leaves: [{ code: 'ab', child: { code: 'cd', child: { code: 'ef', extra: 1 } } }] },
      { ...kitchen, leaves: [{ code: 'ab', child: null }] },
      { ...kitchen, leaves: [] },
      { ...kitchen, leaves: {} },
      { ...kitchen, word: null },
      { ...kitchen, word: 'two words' },
      { ...kitchen, anything: 'x' },
    ],
  ],
  [BoundFirst, true, [{ n: 1 }, { n: 1.5 }, { n: -1 }, { n: 11 }, { n: '1' }]],
  [BoundAlone, false, [{ n: 1 }, { n: 'x' }, { n: -1 }]],
  [TwoPatterns, false, [{ s: 'ab' }, { s: 'a' }, { s: 'b' }]],
  [WithDefaults, false, [{ name: 'n' }, { size: 4, name: 'n' }, { size: '4', name: 'n' }, { name: 'n', size: undefined }]],
  [
    Child,
    true,
    [
      { id: 'a', n: 1 },
      { n: 1, id: 'b' },
      { id: 1, n: 1 },
    ],
  ],
  [Narrowed, true, [{ id: 'ab' }, { id: 'a' }, { id: 1 }]],
  [Impostor, true, [{ value: 'ok' }, { value: 'nope' }, { value: 1 }]],
  [Untyped, false, [{ bag: {}, nested: undefined }, { bag: { a: 1 } }, { bag: [], nested: {} }]],
  [Asynchronous, false, [{ value: 'yes' }, { value: 'no' }, { value: 1 }]],
  [Transformed, false, [{ value: ' x ' }, { value: 1 }]],
  [Undecorated, false, [{ value: 'x' }, { value: 'x', other: 'y' }]],
];

function decoratorSuite(): void {
  describe('validateInput on decorators beyond the application', () => {
    it.each(SYNTHETIC.map(([type, compiled, payloads]) => [type.name, type, compiled, payloads] as const))('%s', async (_name, type, compiled, payloads) => {
      expect(impl.isCompiled(type)).toBe(compiled);
      let fastPath = 0;
      for (const [index, payload] of payloads.entries()) {
        const { fast, slow } = await both(type, () => clone(payload));
        expectSame(fast, slow, type, `payload ${index}`);
        if (impl.fastValidInstance(type, clone(payload) as object) !== undefined) fastPath++;
      }
      // A class the fast path handles is decided by it at least for some valid payload; any other never is.
      if (compiled) expect(fastPath).toBeGreaterThan(0);
      else expect(fastPath).toBe(0);
      for (const [index, payload] of payloads.entries()) {
        for (let n = 0; n < 100; n++) {
          const seed = hash(`${type.name}/${index}/${n}`);
          const { fast, slow } = await both(type, () => mutant(payload as Json, seed));
          expectSame(fast, slow, type, `mutant ${index}/${n}`);
        }
      }
    });

    it('decides valid payloads of Matches with flags by the schema, as class-validator does', async () => {
      expect(impl.isCompiled(FlaggedPatterns)).toBe(true);
      for (const payload of [
        { word: 'ABC', span: 'x\ny' },
        { word: 'aBc', span: 'x-y' },
      ]) {
        const { fast, slow } = await both(FlaggedPatterns, () => clone(payload));
        expect(slow).toMatchObject({ ok: true });
        expectSame(fast, slow, FlaggedPatterns, JSON.stringify(payload));
        expect(impl.fastValidInstance(FlaggedPatterns, clone(payload) as object)).toBeDefined();
      }
      for (const payload of [
        { word: 'abcd', span: 'x\ny' },
        { word: 'abc', span: 'x\n\ny' },
        { word: 'abc', span: 1 },
      ]) {
        const { fast, slow } = await both(FlaggedPatterns, () => clone(payload));
        expect(slow).toMatchObject({ ok: false });
        expectSame(fast, slow, FlaggedPatterns, JSON.stringify(payload));
      }
    });

    it('follows metadata registered after a class was compiled', async () => {
      class Later {
        @IsString()
        readonly value: string;
      }
      expect(await impl.validateInput(Later, { value: 'abc' })).toMatchObject({ ok: true });
      MaxLength(2)(Later.prototype, 'value');
      const after = await impl.validateInput(Later, { value: 'abc' });
      expect(after).toEqual(await impl.validateInputSlow(Later, { value: 'abc' }));
      expect(after.ok).toBe(false);
    });

    it('refuses unknown properties in the schema of every class, nested ones included', () => {
      const schema = impl.validationSchemaOf(appType('CheckoutRequest')) as {
        additionalProperties: unknown;
        properties: Record<string, { $ref?: string; items?: { $ref?: string } }>;
      };
      expect(schema.additionalProperties).toBe(false);
      for (const nested of ['OrderItem', 'ShippingAddress']) {
        expect((impl.validationSchemaOf(appType(nested)) as { additionalProperties: unknown }).additionalProperties).toBe(false);
      }
      expect(schema.properties.shippingAddress.$ref).toEqual(expect.any(String));
      expect(schema.properties.items.items?.$ref).toEqual(expect.any(String));
      expect(impl.validationSchemaOf(Kitchen)).toBeUndefined();
    });

    it('builds arrays as fresh arrays and nested classes as their instances', async () => {
      const payload = clone(checkout);
      const result = await impl.validateInput(appType('CheckoutRequest'), payload);
      if (!result.ok) throw new Error('expected valid');
      const value = result.value as { items: unknown[]; shippingAddress: unknown };
      expect(value.items).not.toBe(payload.items);
      expect(value.items[0]).toBeInstanceOf(appType('OrderItem'));
      expect(value.shippingAddress).toBeInstanceOf(appType('ShippingAddress'));
      expect(value.shippingAddress).not.toBe(payload.shippingAddress);
    });
  });
}

describe.each(IMPLEMENTATIONS)('%s', (_where, implementation) => {
  beforeAll(() => {
    impl = implementation;
  });
  applicationSuite();
  decoratorSuite();
});
