import type { PaymentStatus, PaymentView } from '../../contract/payment.view.js';
import type { PaymentRecordStatus } from './payment.entity.js';

/** The columns a view needs, for RETURNING and SELECT lists. */
export const PAYMENT_COLUMNS = 'id, order_id, amount_cents, status, created_at, updated_at';

/** A `payments` row as Postgres returns it for PAYMENT_COLUMNS. */
export interface PaymentRow {
  readonly id: string;
  readonly order_id: string;
  readonly amount_cents: number;
  readonly status: PaymentRecordStatus;
  readonly created_at: Date | string;
  readonly updated_at: Date | string;
}

export function toPaymentView(payment: {
  id: string;
  orderId: string;
  amountCents: number;
  status: PaymentStatus;
  createdAt: Date | string;
  updatedAt: Date | string;
}): PaymentView {
  return {
    paymentId: payment.id,
    orderId: payment.orderId,
    amountCents: payment.amountCents,
    status: payment.status,
    createdAt: toIsoString(payment.createdAt),
    updatedAt: toIsoString(payment.updatedAt),
  };
}

/** A row that is a payment (not VOIDED) as its view. */
export function rowToPaymentView(row: PaymentRow & { status: PaymentStatus }): PaymentView {
  return toPaymentView({
    id: row.id,
    orderId: row.order_id,
    amountCents: row.amount_cents,
    status: row.status,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  });
}

// The driver answers Dates, but a view must be the same value in process as
// after a trip through JSON, so it carries the ISO string itself.
function toIsoString(value: Date | string): string {
  return new Date(value).toISOString();
}
