import { ModuleError } from '../../../platform/contracts/module.error.js';

export const productNotFound = (sku: string) => new ModuleError('NOT_FOUND', `product '${sku}' does not exist`, 'inventory');

export const productExists = (sku: string) => new ModuleError('CONFLICT', `product '${sku}' already exists`, 'inventory');
