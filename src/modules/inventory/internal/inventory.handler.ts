import { Injectable } from '@nestjs/common';
import type { ContractHandler } from '../../../platform/contracts/contract.js';
import type { CreateProductCommand } from '../contract/create-product.command.js';
import type { GetProductQuery } from '../contract/get-product.query.js';
import type { InventoryContract } from '../contract/inventory.contract.js';
import type { ProductView } from '../contract/product.view.js';
import type { RestockProductCommand } from '../contract/restock-product.command.js';
import { CreateProductHandler } from './create-product/create-product.handler.js';
import { GetProductHandler } from './get-product/get-product.handler.js';
import { RestockProductHandler } from './restock-product/restock-product.handler.js';

/** Inventory's contract, implemented by routing each operation to its use case. */
@Injectable()
export class InventoryHandler implements ContractHandler<typeof InventoryContract> {
  constructor(
    private readonly createProductHandler: CreateProductHandler,
    private readonly restockProductHandler: RestockProductHandler,
    private readonly getProductHandler: GetProductHandler,
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
}
