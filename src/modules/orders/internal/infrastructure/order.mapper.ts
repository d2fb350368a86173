import type { FailureReason, OrderStatus, OrderView } from '../../contract/order.view.js';

/** An order as `OrderRepository.findView` selects it: the row with its lines already aggregated. */
export interface OrderViewRow {
  readonly id: string;
  readonly status: OrderStatus;
  readonly customer_id: string;
  /** bigint arrives as a string from pg; totals stay far below 2^53. */
  readonly total_cents: string;
  readonly payment_id: string | null;
  readonly shipment_id: string | null;
  readonly failure_reason: FailureReason | null;
  readonly created_at: Date;
  readonly updated_at: Date;
  /** In line order. */
  readonly items: OrderView['items'];
}

export function rowToOrderView(row: OrderViewRow): OrderView {
  return {
    orderId: row.id,
    status: row.status,
    customerId: row.customer_id,
    items: row.items,
    totalCents: Number(row.total_cents),
    paymentId: row.payment_id,
    shipmentId: row.shipment_id,
    // While its delivery undoes it (CANCELLING), the row already says why; the order says so once CANCELLED.
    failureReason: row.status === 'CANCELLED' ? row.failure_reason : null,
    createdAt: row.created_at.toISOString(),
    updatedAt: row.updated_at.toISOString(),
  };
}
