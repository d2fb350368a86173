import { Module } from '@nestjs/common';
import { InventoryContract } from '../contract/inventory.contract.js';
import { CreateProductHandler } from './create-product/create-product.handler.js';
import { GetProductHandler } from './get-product/get-product.handler.js';
import { InventoryHandler } from './inventory.handler.js';
import { RestockProductHandler } from './restock-product/restock-product.handler.js';

/** Hosts Inventory's implementation; the platform supplies its DataSource and binds its contract. */
@Module({
  providers: [
    CreateProductHandler,
    RestockProductHandler,
    GetProductHandler,
    { provide: InventoryContract.handler, useClass: InventoryHandler },
  ],
})
export class InventoryCoreModule {}
