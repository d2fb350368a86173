import { defineModule, uses } from '../../platform/index.js';
import { InventoryContract } from './contract/inventory.contract.js';
import { InventoryCoreModule } from './internal/inventory-core.module.js';
import { InventoryHttpModule } from './internal/http/inventory-http.module.js';
import { ProductEntity } from './internal/infrastructure/product.entity.js';

/** Inventory's composition root: owns products and their stock. */
export default defineModule({
  name: 'inventory',
  contract: InventoryContract,
  core: InventoryCoreModule,
  http: InventoryHttpModule,
  entities: [ProductEntity],
  httpCalls: [uses(InventoryContract, 'createProduct', 'getProduct', 'restockProduct')],
});
