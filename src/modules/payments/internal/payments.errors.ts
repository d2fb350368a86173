import { ModuleError } from '../../../platform/contracts/module.error.js';

export const paymentNotFound = (paymentId: string) =>
  new ModuleError('NOT_FOUND', `payment '${paymentId}' does not exist`, 'payments');

export const orderNotCharged = (orderId: string) =>
  new ModuleError('NOT_FOUND', `order '${orderId}' has no payment`, 'payments');
