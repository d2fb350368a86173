import { Injectable } from '@nestjs/common';
import type { ContractHandler } from '../../../platform/index.js';
import type { CreateProductCommand } from '../contract/create-product.command.js';
import type { GetPricesQuery } from '../contract/get-prices.query.js';
import type { GetProductQuery } from '../contract/get-product.query.js';
import type { InventoryContract } from '../contract/inventory.contract.js';
import type { PriceView } from '../contract/price.view.js';
import type { ProductView } from '../contract/product.view.js';
import type { ReleaseStockCommand } from '../contract/release-stock.command.js';
import type { ReservationView } from '../contract/reservation.view.js';
import type { ReserveStockCommand } from '../contract/reserve-stock.command.js';
import type { RestockProductCommand } from '../contract/restock-product.command.js';
import { CreateProductHandler } from './create-product/create-product.handler.js';
import { GetPricesHandler } from './get-prices/get-prices.handler.js';
import { GetProductHandler } from './get-product/get-product.handler.js';
import { ReleaseStockHandler } from './release-stock/release-stock.handler.js';
import { ReserveStockHandler } from './reserve-stock/reserve-stock.handler.js';
import { RestockProductHandler } from './restock-product/restock-product.handler.js';

/** Inventory's contract, implemented by routing each operation to its use case. */
@Injectable()
export class InventoryHandler implements ContractHandler<typeof InventoryContract> {
  constructor(
    private readonly createProductHandler: CreateProductHandler,
    private readonly restockProductHandler: RestockProductHandler,
    private readonly getProductHandler: GetProductHandler,
    private readonly getPricesHandler: GetPricesHandler,
    private readonly reserveStockHandler: ReserveStockHandler,
    private readonly releaseStockHandler: ReleaseStockHandler,
  ) {}

  createProduct(command: CreateProductCommand): Promise<ProductView> {
    return this.createProductHandler.execute(command);
  }

  restockProduct(command: RestockProductCommand): Promise<ProductView> {
    return this.restockProductHandler.execute(command);
  }

  getProduct(query: GetProductQuery): Promise<ProductView> {
    return this.getProductHandler.execute(query);
  }

  getPrices(query: GetPricesQuery): Promise<PriceView[]> {
    return this.getPricesHandler.execute(query);
  }

  reserveStock(command: ReserveStockCommand): Promise<ReservationView> {
    return this.reserveStockHandler.execute(command);
  }

  releaseStock(command: ReleaseStockCommand): Promise<ReservationView> {
    return this.releaseStockHandler.execute(command);
  }
}
