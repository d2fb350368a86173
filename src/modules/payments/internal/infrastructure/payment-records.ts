import type { DataSource } from 'typeorm';
import { PAYMENT_COLUMNS, type PaymentRow } from './payment.mapper.js';

/**
 * The order's row as it stands, for a charge or refund whose statement found
 * the row taken (ON CONFLICT): that statement waited for the row's writer to
 * commit, so this new statement sees it. Rows are never deleted.
 */
export async function paymentRecordOf(db: DataSource, orderId: string): Promise<PaymentRow> {
  const [row]: PaymentRow[] = await db.query(`SELECT ${PAYMENT_COLUMNS} FROM payments.payments WHERE order_id = $1`, [orderId]);
  return row;
}
