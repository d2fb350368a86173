import type { DataSource } from 'typeorm';
import { queryPrepared } from '../../../../platform/index.js';

/** What the checkout's steps need of an order. */
export interface SagaOrder {
  readonly orderId: string;
  readonly customerId: string;
  readonly totalCents: number;
  /** As the order's row had them when loaded: the saga's outputs have them once its steps answered. */
  readonly paymentId: string | null;
  readonly shipmentId: string | null;
  readonly paymentToken: string;
  readonly lines: ReadonlyArray<{ readonly sku: string; readonly quantity: number }>;
  readonly shippingAddress: {
    readonly name: string;
    readonly line1: string;
    readonly city: string;
    readonly postalCode: string;
    readonly country: string;
  };
}

/** The orders of a batch of claimed checkouts, in one query. */
export async function loadSagaOrders(db: DataSource, orderIds: readonly string[]): Promise<Map<string, SagaOrder>> {
  const rows: Array<{
    id: string;
    customer_id: string;
    total_cents: string;
    payment_id: string | null;
    shipment_id: string | null;
    payment_token: string;
    shipping_address: SagaOrder['shippingAddress'];
    lines: Array<{ sku: string; quantity: number }>;
  }> = await queryPrepared(
    db,
    'orders.saga-orders',
    `SELECT o.id, o.customer_id, o.total_cents, o.payment_id, o.shipment_id, o.payment_token, o.shipping_address,
            (SELECT json_agg(json_build_object('sku', l.sku, 'quantity', l.quantity) ORDER BY l.line_no)
               FROM orders.order_lines l WHERE l.order_id = o.id) AS lines
       FROM orders.orders o WHERE o.id = ANY($1::uuid[])`,
    [orderIds],
  );
  return new Map(
    rows.map((row) => [
      row.id,
      {
        orderId: row.id,
        customerId: row.customer_id,
        totalCents: Number(row.total_cents),
        paymentId: row.payment_id,
        shipmentId: row.shipment_id,
        paymentToken: row.payment_token,
        shippingAddress: row.shipping_address,
        lines: row.lines,
      },
    ]),
  );
}

/** What the cancellation needs of an order: whose it is, for the event its end publishes. */
export interface OrderCustomer {
  readonly orderId: string;
  readonly customerId: string;
}

/** The customers of a batch of claimed cancellations, in one query. */
export async function loadOrderCustomers(db: DataSource, orderIds: readonly string[]): Promise<Map<string, OrderCustomer>> {
  const rows: Array<{ id: string; customer_id: string }> = await queryPrepared(
    db,
    'orders.order-customers',
    'SELECT id, customer_id FROM orders.orders WHERE id = ANY($1::uuid[])',
    [orderIds],
  );
  return new Map(rows.map((row) => [row.id, { orderId: row.id, customerId: row.customer_id }]));
}
