import { describeFieldErrors, type FieldError, ModuleError } from '../../../platform/index.js';

export const productNotFound = (sku: string) => new ModuleError('NOT_FOUND', `product '${sku}' does not exist`, 'inventory');

export const productExists = (sku: string) => new ModuleError('CONFLICT', `product '${sku}' already exists`, 'inventory');

export const invalidInput = (errors: readonly FieldError[]) => new ModuleError('INVALID', describeFieldErrors(errors), 'inventory', errors);
