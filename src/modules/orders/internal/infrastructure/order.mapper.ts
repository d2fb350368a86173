import type { OrderView } from '../../contract/order.view.js';
import type { OrderEntity } from './order.entity.js';

export function toOrderView(order: OrderEntity): OrderView {
  return {
    orderId: order.id,
    status: order.status,
    customerId: order.customerId,
    items: [...order.lines]
      .sort((a, b) => a.lineNo - b.lineNo)
      .map((line) => ({ sku: line.sku, quantity: line.quantity, unitPriceCents: line.unitPriceCents })),
    totalCents: order.totalCents,
    paymentId: order.paymentId,
    shipmentId: order.shipmentId,
    failureReason: order.failureReason,
    createdAt: order.createdAt.toISOString(),
    updatedAt: order.updatedAt.toISOString(),
  };
}
