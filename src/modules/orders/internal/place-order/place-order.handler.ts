import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import {
  CommandHandler,
  currentTraceHeaders,
  type FieldError,
  type ICommandHandler,
  ModuleError,
  TransactionRunner,
  RecentKeys,
  SagaAdmission,
} from '../../../../platform/index.js';
import { type Inventory, InjectInventory } from '../../../inventory/index.js';
import { OrderPlaced } from '../../contract/order-events.js';
import { PlaceOrderCommand } from '../../contract/place-order.command.js';
import type { PlaceOrderResult } from '../../contract/place-order.result.js';
import { CHECKOUT_SAGA_OPTIONS, type CheckoutSagaOptions } from '../checkout-saga/checkout-saga.options.js';
import { CHECKOUT_SAGA, type CheckoutSagaRunner } from '../checkout-saga/order-sagas.providers.js';
import { OrderRepository } from '../infrastructure/order.repository.js';
import { requestFingerprint } from './request-fingerprint.js';

/** The largest total Payments accepts in one charge. */
export const MAX_ORDER_TOTAL_CENTS = 2_000_000_000;

const UNIQUE_VIOLATION = '23505';
const isUniqueViolation = (error: unknown): boolean => (error as { code?: string } | null)?.code === UNIQUE_VIOLATION;
/** The request cannot be placed as it stands (an unknown sku, a total over the maximum). */
const isRefused = (error: unknown): boolean => error instanceof ModuleError && error.code === 'UNPROCESSABLE';

/** Idempotency keys this process placed or replayed, remembered (about 2 MB at most): see `execute`. */
const RECENT_KEYS = 10_000;

@Injectable()
@CommandHandler(PlaceOrderCommand)
export class PlaceOrderHandler implements ICommandHandler<PlaceOrderCommand, PlaceOrderResult> {
  private readonly placeSql: string;
  /** Keys known to name an order: their repeats are looked up even while new orders are refused. */
  private readonly knownKeys = new RecentKeys(RECENT_KEYS);

  constructor(
    private readonly transactions: TransactionRunner,
    private readonly orders: OrderRepository,
    @Inject(CHECKOUT_SAGA) private readonly saga: CheckoutSagaRunner,
    private readonly admission: SagaAdmission,
    @InjectInventory() private readonly inventory: Inventory,
    @Inject(CHECKOUT_SAGA_OPTIONS) private readonly options: CheckoutSagaOptions,
  ) {
    // One statement, so one round trip: the order, its lines, and its checkout saga started (with its first log entry).
    this.placeSql = `WITH placed AS (
           INSERT INTO orders.orders (id, customer_id, status, total_cents, payment_token, shipping_address, idempotency_key, request_fingerprint)
           VALUES ($1, $2, 'PENDING', $3, $4, $5, $6, $7)
           RETURNING id
         ), lines AS (
           INSERT INTO orders.order_lines (order_id, line_no, sku, quantity, unit_price_cents)
           SELECT $1, n, sku, quantity, price FROM unnest($8::text[], $9::int[], $10::int[]) WITH ORDINALITY AS l (sku, quantity, price, n)
         ), ${saga.store.startSql({ key: '$1::uuid::text', deadlineMs: '$11::int', traceContext: '$12::jsonb', leaseMs: '$13::int' })}
         SELECT id FROM placed`;
  }

  /**
   * A refusal costs no query (ADR 24): the admission is asked before anything is
   * read, so a flood of new orders, keyed or not, is refused in microseconds. A key
   * this process knows names an order (it placed it, or answered it before): its
   * repeat is looked up and answered even under overload. A key it does not know
   * costs no look-up at all: the order's insert is the test, as the key is unique
   * (a repeat that another process accepted fails it, and is then answered as that
   * order), so a new keyed order costs what an unkeyed one does. At worst, a repeat
   * that another process accepted waits for a place as a new order does.
   */
  async execute(command: PlaceOrderCommand): Promise<PlaceOrderResult> {
    const fingerprint = requestFingerprint(command);
    const key = command.idempotencyKey;
    if (key !== undefined && this.knownKeys.has(key)) {
      const earlier = await this.replay(key, fingerprint);
      if (earlier) return earlier;
    }
    const admitted = this.admission.admit();
    try {
      const placed = await this.place(command, fingerprint);
      if (key !== undefined) this.knownKeys.add(key);
      return placed;
    } catch (error) {
      // The key was taken (the insert's unique key), or the request is refused as it stands: a key
      // that names an order answers that order, or 409 for another request, whatever this one's fault.
      if (key !== undefined && (isUniqueViolation(error) || isRefused(error))) {
        const earlier = await this.replay(key, fingerprint);
        if (earlier) return earlier;
      }
      throw error;
    } finally {
      admitted.settle();
    }
  }

  private async place(command: PlaceOrderCommand, fingerprint: string): Promise<PlaceOrderResult> {
    const lines = await this.priceLines(command);
    const totalCents = lines.reduce((sum, line) => sum + line.quantity * line.unitPriceCents, 0);
    if (totalCents > MAX_ORDER_TOTAL_CENTS) {
      throw new ModuleError('UNPROCESSABLE', `the order total ${totalCents} exceeds the maximum of ${MAX_ORDER_TOTAL_CENTS} cents`, 'orders');
    }
    const orderId = randomUUID();
    // Leased to this process from birth when its runner has room for it; else left for the runner's next claim.
    const takeOver = this.saga.canTakeOver();
    const traceContext = currentTraceHeaders();
    await this.transactions.statement(
      'place-order',
      this.placeSql,
      [
        orderId,
        command.customerId,
        totalCents,
        command.paymentToken,
        JSON.stringify(command.shippingAddress),
        command.idempotencyKey ?? null,
        fingerprint,
        lines.map((l) => l.sku),
        lines.map((l) => l.quantity),
        lines.map((l) => l.unitPriceCents),
        this.options.deadlineMs,
        JSON.stringify(traceContext),
        takeOver ? this.options.leaseMs : null,
      ],
      { types: [OrderPlaced], of: () => [new OrderPlaced(orderId, command.customerId, totalCents)] },
    );
    if (takeOver) {
      this.saga.runNow(
        orderId,
        {
          orderId,
          customerId: command.customerId,
          totalCents,
          paymentId: null,
          shipmentId: null,
          paymentToken: command.paymentToken,
          lines: lines.map((line) => ({ sku: line.sku, quantity: line.quantity })),
          shippingAddress: command.shippingAddress,
        },
        traceContext,
      );
    } else {
      this.saga.wake();
    }
    return { orderId, status: 'PENDING', created: true };
  }

  private async replay(key: string, fingerprint: string): Promise<PlaceOrderResult | undefined> {
    const earlier = await this.orders.findByIdempotencyKey(key);
    if (!earlier) return undefined;
    if (earlier.requestFingerprint !== fingerprint) {
      throw new ModuleError('CONFLICT', 'this Idempotency-Key was already used with a different request', 'orders');
    }
    this.knownKeys.add(key);
    return { orderId: earlier.id, status: earlier.status, created: false };
  }

  /** Unit prices from Inventory, never from the client; every sku must exist. */
  private async priceLines(command: PlaceOrderCommand) {
    const prices = await this.inventory.getPrices({ skus: command.items.map((item) => item.sku) });
    const priceOf = new Map(prices.map((price) => [price.sku, price.priceCents]));
    const missing: FieldError[] = command.items.flatMap((item, index) =>
      priceOf.has(item.sku) ? [] : [{ field: `items[${index}].sku`, message: `sku '${item.sku}' does not exist` }],
    );
    if (missing.length > 0) {
      throw new ModuleError('UNPROCESSABLE', `${missing[0].field} ${missing[0].message}`, 'orders', missing);
    }
    return command.items.map((item) => ({ sku: item.sku, quantity: item.quantity, unitPriceCents: priceOf.get(item.sku)! }));
  }
}
