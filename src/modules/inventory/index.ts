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
export { GetPricesQuery } from './contract/get-prices.query.js';
export type { PriceView } from './contract/price.view.js';
export { StockLine } from './contract/stock-line.js';
export { ReserveStockCommand } from './contract/reserve-stock.command.js';
export { ReleaseStockCommand } from './contract/release-stock.command.js';
export { CommitStockCommand } from './contract/commit-stock.command.js';
export type { ReservationStatus, ReservationView } from './contract/reservation.view.js';
