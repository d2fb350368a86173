import { ModuleError } from '../../../platform/index.js';

export const shipmentNotFound = (shipmentId: string) =>
  new ModuleError('NOT_FOUND', `shipment '${shipmentId}' does not exist`, 'shipping');

export const orderNotShipped = (orderId: string) =>
  new ModuleError('NOT_FOUND', `order '${orderId}' has no shipment`, 'shipping');

/** The checkout saga reads this as SHIPPING_UNAVAILABLE; the message is for people. */
export const countryNotServed = (country: string) =>
  new ModuleError('UNPROCESSABLE', `shipping is unavailable to country ${country}`, 'shipping');

/** A schedule that arrived after its order's shipment was cancelled without ever having been scheduled (its row is VOIDED). */
export const orderVoided = (orderId: string) =>
  new ModuleError('CONFLICT', `order ${orderId} was voided and can no longer be scheduled`, 'shipping');
