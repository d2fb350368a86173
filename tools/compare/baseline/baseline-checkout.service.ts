import { createHash, randomUUID } from 'node:crypto';
import { ConflictException, Inject, Injectable, NotFoundException, UnprocessableEntityException } from '@nestjs/common';
import pg from 'pg';
import type { CreateProductBody, PlaceOrderBody } from './baseline.dto.js';

export const POOL = Symbol('POOL');

export interface OrderView {
  orderId: string;
  status: 'CONFIRMED' | 'CANCELLED';
  customerId: string;
  items: Array<{ sku: string; quantity: number; unitPriceCents: number }>;
  totalCents: number;
  paymentId: string | null;
  shipmentId: string | null;
  failureReason: string | null;
  createdAt: string;
  updatedAt: string;
}

/** A row of baseline.orders with its lines, as getOrder reads it. */
interface OrderRow {
  id: string;
  status: OrderView['status'];
  customer_id: string;
  items: OrderView['items'];
  total_cents: string | number;
  payment_id: string | null;
  shipment_id: string | null;
  failure_reason: string | null;
  created_at: Date;
  updated_at: Date;
}

/**
 * The checkout written the ordinary way: one transaction over every table
 * (lock the products, check the stock, charge, reserve, ship, record the
 * order), no modules, no outbox, no saga. The order is terminal when the POST
 * answers. Payment and shipping are the store's simulations (tok_declined is
 * declined, AQ is not served), decided inside the transaction.
 */
@Injectable()
export class BaselineCheckoutService {
  constructor(@Inject(POOL) private readonly pool: pg.Pool) {}

  async createProduct(body: CreateProductBody) {
    const { rows } = await this.pool.query(
      `INSERT INTO baseline.products (sku, name, price_cents, on_hand) VALUES ($1, $2, $3, $4) ON CONFLICT (sku) DO NOTHING RETURNING sku`,
      [body.sku, body.name, body.priceCents, body.stock],
    );
    if (rows.length === 0) throw new ConflictException(`product ${body.sku} exists`);
    return { sku: body.sku, name: body.name, priceCents: body.priceCents, onHand: body.stock, reserved: 0, available: body.stock };
  }

  async getProduct(sku: string) {
    const { rows } = await this.pool.query<{ sku: string; name: string; price_cents: number; on_hand: number; reserved: number }>(
      `SELECT sku, name, price_cents, on_hand, reserved FROM baseline.products WHERE sku = $1`,
      [sku],
    );
    if (rows.length === 0) throw new NotFoundException(`no product ${sku}`);
    const p = rows[0];
    return { sku: p.sku, name: p.name, priceCents: p.price_cents, onHand: p.on_hand, reserved: p.reserved, available: p.on_hand - p.reserved };
  }

  /** Answers the order and whether it was created now (false: the same Idempotency-Key again). */
  async placeOrder(body: PlaceOrderBody, idempotencyKey: string | undefined): Promise<{ order: { orderId: string; status: string }; created: boolean }> {
    const skus = body.items.map((i) => i.sku);
    if (new Set(skus).size !== skus.length) throw new UnprocessableEntityException('the same sku on two lines');
    const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      if (idempotencyKey !== undefined) {
        const { rows } = await client.query<{ id: string; status: string; request_hash: string }>(
          `SELECT id, status, request_hash FROM baseline.orders WHERE idempotency_key = $1`,
          [idempotencyKey],
        );
        if (rows.length > 0) {
          await client.query('ROLLBACK');
          if (rows[0].request_hash !== hash) throw new ConflictException('Idempotency-Key reused with another body');
          return { order: { orderId: rows[0].id, status: rows[0].status }, created: false };
        }
      }
      const { rows: products } = await client.query<{ sku: string; price_cents: number; available: number }>(
        `SELECT sku, price_cents, on_hand - reserved AS available FROM baseline.products WHERE sku = ANY($1) ORDER BY sku FOR UPDATE`,
        [skus],
      );
      const bySku = new Map(products.map((p) => [p.sku, p]));
      const unknown = skus.find((s) => !bySku.has(s));
      if (unknown) throw new UnprocessableEntityException(`no product ${unknown}`);
      const lines = body.items.map((i) => ({ sku: i.sku, quantity: i.quantity, unitPriceCents: bySku.get(i.sku)!.price_cents }));
      const total = lines.reduce((s, l) => s + l.quantity * l.unitPriceCents, 0);
      const failure =
        body.paymentToken === 'tok_declined'
          ? 'PAYMENT_DECLINED'
          : lines.some((l) => bySku.get(l.sku)!.available < l.quantity)
            ? 'OUT_OF_STOCK'
            : body.shippingAddress.country === 'AQ'
              ? 'SHIPPING_UNAVAILABLE'
              : null;
      const orderId = randomUUID();
      const paymentId = failure === null ? randomUUID() : null;
      const shipmentId = failure === null ? randomUUID() : null;
      const status = failure === null ? 'CONFIRMED' : 'CANCELLED';
      await client.query(
        `INSERT INTO baseline.orders (id, customer_id, status, total_cents, payment_id, shipment_id, failure_reason, idempotency_key, request_hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [orderId, body.customerId, status, total, paymentId, shipmentId, failure, idempotencyKey ?? null, hash],
      );
      await client.query(
        `INSERT INTO baseline.order_lines (order_id, sku, quantity, unit_price_cents) SELECT $1, * FROM unnest($2::text[], $3::int[], $4::int[])`,
        [orderId, lines.map((l) => l.sku), lines.map((l) => l.quantity), lines.map((l) => l.unitPriceCents)],
      );
      if (failure === null) {
        await client.query(`UPDATE baseline.products p SET reserved = p.reserved + l.q FROM unnest($1::text[], $2::int[]) AS l(sku, q) WHERE p.sku = l.sku`, [
          lines.map((l) => l.sku),
          lines.map((l) => l.quantity),
        ]);
        await client.query(`INSERT INTO baseline.payments (id, order_id, amount_cents, status) VALUES ($1, $2, $3, 'CAPTURED')`, [paymentId, orderId, total]);
        await client.query(`INSERT INTO baseline.shipments (id, order_id, address, status) VALUES ($1, $2, $3, 'SCHEDULED')`, [
          shipmentId,
          orderId,
          body.shippingAddress,
        ]);
      }
      await client.query('COMMIT');
      return { order: { orderId, status }, created: true };
    } catch (error) {
      await client.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      client.release();
    }
  }

  async getOrder(id: string): Promise<OrderView> {
    if (!/^[0-9a-f-]{36}$/i.test(id)) throw new NotFoundException(`no order ${id}`);
    const { rows } = await this.pool.query<OrderRow>(
      `SELECT o.*, coalesce(json_agg(json_build_object('sku', l.sku, 'quantity', l.quantity, 'unitPriceCents', l.unit_price_cents) ORDER BY l.sku)
              FILTER (WHERE l.sku IS NOT NULL), '[]') AS items
         FROM baseline.orders o LEFT JOIN baseline.order_lines l ON l.order_id = o.id WHERE o.id = $1 GROUP BY o.id`,
      [id],
    );
    if (rows.length === 0) throw new NotFoundException(`no order ${id}`);
    const o = rows[0];
    return {
      orderId: o.id,
      status: o.status,
      customerId: o.customer_id,
      items: o.items,
      totalCents: Number(o.total_cents),
      paymentId: o.payment_id,
      shipmentId: o.shipment_id,
      failureReason: o.failure_reason,
      createdAt: o.created_at.toISOString(),
      updatedAt: o.updated_at.toISOString(),
    };
  }
}

export const SCHEMA = `
CREATE SCHEMA IF NOT EXISTS baseline;
CREATE TABLE IF NOT EXISTS baseline.products (sku text PRIMARY KEY, name text NOT NULL, price_cents int NOT NULL, on_hand int NOT NULL, reserved int NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS baseline.orders (
  id uuid PRIMARY KEY, customer_id text NOT NULL, status text NOT NULL, total_cents bigint NOT NULL,
  payment_id uuid, shipment_id uuid, failure_reason text, idempotency_key text UNIQUE, request_hash text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(), updated_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS baseline.order_lines (order_id uuid NOT NULL REFERENCES baseline.orders (id), sku text NOT NULL, quantity int NOT NULL, unit_price_cents int NOT NULL, PRIMARY KEY (order_id, sku));
CREATE TABLE IF NOT EXISTS baseline.payments (id uuid PRIMARY KEY, order_id uuid NOT NULL UNIQUE, amount_cents bigint NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS baseline.shipments (id uuid PRIMARY KEY, order_id uuid NOT NULL UNIQUE, address jsonb NOT NULL, status text NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
`;
