import type { DataSource } from 'typeorm';
import { queryPrepared } from '../../../../platform/index.js';
import type { FailureReason, OrderStatus } from '../../contract/order.view.js';

/** What the delivery workflow needs of an order, as its row stood when the workflow was taken up. */
export interface DeliveryOrder {
  readonly orderId: string;
  readonly customerId: string;
  readonly status: OrderStatus;
}

/** The orders of a batch of claimed deliveries, in one query. */
export async function loadDeliveryOrders(db: DataSource, orderIds: readonly string[]): Promise<Map<string, DeliveryOrder>> {
  const rows: Array<{ id: string; customer_id: string; status: OrderStatus }> = await queryPrepared(
    db,
    'orders.delivery-orders',
    'SELECT id, customer_id, status FROM orders.orders WHERE id = ANY($1::uuid[])',
    [orderIds],
  );
  return new Map(rows.map((row) => [row.id, { orderId: row.id, customerId: row.customer_id, status: row.status }]));
}

/** Why the delivery workflow undoes an order: its parcel came back, or never came. */
export const DELIVERY_FAILURES = ['RETURNED', 'NOT_DELIVERED'] as const satisfies readonly FailureReason[];

/**
 * Whether the order is the delivery workflow's to undo: it moved it from
 * CONFIRMED to CANCELLING with its reason (in the statement that ended its
 * wait). Not if the customer's cancellation took the order first: the
 * workflow then does nothing more. Read after that statement committed, so
 * the answer is final: only a CONFIRMED order changes hands.
 */
export async function undoneByDelivery(db: DataSource, orderId: string): Promise<boolean> {
  const rows = await queryPrepared(
    db,
    'orders.undone-by-delivery',
    `SELECT 1 FROM orders.orders WHERE id = $1::uuid AND status IN ('CANCELLING', 'CANCELLED') AND failure_reason = ANY($2::text[])`,
    [orderId, DELIVERY_FAILURES],
  );
  return rows.length > 0;
}
