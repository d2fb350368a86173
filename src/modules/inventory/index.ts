/**
 * Inventory's public face: the only file of this module other modules may
 * import. Everything under `internal/` is private to the module.
 */
export { InventoryContract, type Inventory, InjectInventory } from './contract/inventory.contract.js';
export { CreateProductCommand } from './contract/create-product.command.js';
export { RestockProductCommand } from './contract/restock-product.command.js';
export { GetProductQuery } from './contract/get-product.query.js';
export type { ProductView } from './contract/product.view.js';
export { SKU_PATTERN } from './contract/sku.js';
