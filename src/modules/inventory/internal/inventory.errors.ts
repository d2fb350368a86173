import { describeFieldErrors, type FieldError, ModuleError } from '../../../platform/index.js';

export const productNotFound = (sku: string) => new ModuleError('NOT_FOUND', `product '${sku}' does not exist`, 'inventory');

export const productExists = (sku: string) => new ModuleError('CONFLICT', `product '${sku}' already exists`, 'inventory');

export const invalidInput = (errors: readonly FieldError[]) => new ModuleError('INVALID', describeFieldErrors(errors), 'inventory', errors);

export const reservationNotFound = (orderId: string) => new ModuleError('NOT_FOUND', `order ${orderId} has no reservation`, 'inventory');

/** Only a RESERVED reservation holds stock to sell: a RELEASED or REJECTED one holds none. */
export const reservationNotCommittable = (orderId: string, status: string) =>
  new ModuleError('CONFLICT', `the reservation of order ${orderId} is ${status} and cannot be committed`, 'inventory');
