import { StockLine } from '../../inventory/index.js';

/**
 * One line of a checkout: which sku, how many (1..1000). The same rules as
 * Inventory's stock lines, which it becomes; prices come from Inventory, never
 * from the client.
 */
export class OrderItem extends StockLine {}
