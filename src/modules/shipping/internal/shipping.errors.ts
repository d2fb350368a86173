import { describeFieldErrors, type FieldError, ModuleError } from '../../../platform/index.js';

export const shipmentNotFound = (shipmentId: string) => new ModuleError('NOT_FOUND', `shipment '${shipmentId}' does not exist`, 'shipping');

export const orderNotShipped = (orderId: string) => new ModuleError('NOT_FOUND', `order '${orderId}' has no shipment`, 'shipping');

/** The checkout saga reads this as SHIPPING_UNAVAILABLE; the message is for people. */
export const countryNotServed = (country: string) => new ModuleError('UNPROCESSABLE', `shipping is unavailable to country ${country}`, 'shipping');

/** A schedule that arrived after its order's shipment was cancelled without ever having been scheduled (its row is VOIDED). */
export const orderVoided = (orderId: string) => new ModuleError('CONFLICT', `order ${orderId} was voided and can no longer be scheduled`, 'shipping');

/** The carrier webhook cannot verify anything without its secret: said plainly, as a 503, so that an operator sees what to set. */
export const carrierWebhookNotConfigured = () =>
  new ModuleError('UNAVAILABLE', 'the carrier webhook is not configured: set CARRIER_WEBHOOK_SECRET where Shipping runs', 'shipping');

/** A missing, wrong or stale Carrier-Signature: the reason helps a carrier's integrator and tells a forger nothing. */
export const carrierSignatureRefused = (reason: string) => new ModuleError('UNAUTHENTICATED', `carrier event refused: ${reason}`, 'shipping');

export const carrierEventInvalid = (errors: readonly FieldError[]) =>
  new ModuleError('INVALID', `not a carrier event: ${describeFieldErrors(errors)}`, 'shipping', errors);
