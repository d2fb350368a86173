import { Module } from '@nestjs/common';
import { CommitStockHandler } from './commit-stock/commit-stock.handler.js';
import { CreateProductHandler } from './create-product/create-product.handler.js';
import { GetPricesHandler } from './get-prices/get-prices.handler.js';
import { GetProductHandler } from './get-product/get-product.handler.js';
import { ReleaseStockHandler } from './release-stock/release-stock.handler.js';
import { ReserveStockHandler } from './reserve-stock/reserve-stock.handler.js';
import { RestockProductHandler } from './restock-product/restock-product.handler.js';

/**
 * Hosts Inventory's implementation; the platform supplies its DataSource and
 * TransactionRunner and binds its contract. Reservations have no HTTP route:
 * only the sagas reserve, release and commit, through the contract.
 */
@Module({
  providers: [CreateProductHandler, RestockProductHandler, GetProductHandler, GetPricesHandler, ReserveStockHandler, ReleaseStockHandler, CommitStockHandler],
})
export class InventoryCoreModule {}
