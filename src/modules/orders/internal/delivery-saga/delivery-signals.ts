import { eventSignals, signalOf } from '../../../../platform/index.js';
import { ShipmentDelivered, ShipmentReturned } from '../../../shipping/index.js';

/** What the carrier told Shipping, as signals of the order's delivery (by order id), through the outbox or the stream. */
export const carrierSignals = eventSignals({
  module: 'orders',
  saga: 'delivery',
  events: [ShipmentDelivered, ShipmentReturned],
  key: (event) => event.orderId,
});

export const PARCEL_DELIVERED = signalOf(ShipmentDelivered);
export const PARCEL_RETURNED = signalOf(ShipmentReturned);
/** Recorded by a customer's cancellation (cancelOrder): the wait ends, and the delivery with it. */
export const CANCELLED_BY_CUSTOMER = 'orders.CancelledByCustomer';
