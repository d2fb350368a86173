import { ModuleError } from '../../../platform/index.js';

export const paymentNotFound = (paymentId: string) => new ModuleError('NOT_FOUND', `payment '${paymentId}' does not exist`, 'payments');

export const orderNotCharged = (orderId: string) => new ModuleError('NOT_FOUND', `order '${orderId}' has no payment`, 'payments');

/** A charge that arrived after its order was refunded without ever having been charged (its row is VOIDED). */
export const orderVoided = (orderId: string) => new ModuleError('CONFLICT', `order ${orderId} was voided and can no longer be charged`, 'payments');
