import { Module } from '@nestjs/common';
import { CreateProductHandler } from './create-product/create-product.handler.js';
import { GetPricesHandler } from './get-prices/get-prices.handler.js';
import { GetProductHandler } from './get-product/get-product.handler.js';
import { ReleaseStockHandler } from './release-stock/release-stock.handler.js';
import { ReserveStockHandler } from './reserve-stock/reserve-stock.handler.js';
import { RestockProductHandler } from './restock-product/restock-product.handler.js';

/**
 * Hosts Inventory's implementation; the platform supplies its DataSource and
 * TransactionRunner and binds its contract. Reservations have no HTTP route:
 * only the checkout saga reserves and releases, through the contract.
 */
@Module({
  providers: [
    CreateProductHandler,
    RestockProductHandler,
    GetProductHandler,
    GetPricesHandler,
    ReserveStockHandler,
    ReleaseStockHandler,
  ],
})
export class InventoryCoreModule {}
