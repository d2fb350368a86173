import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ApiProblem } from '../../../../platform/index.js';
import { CreateProductCommand } from '../../contract/create-product.command.js';
import { type Inventory, InjectInventory } from '../../contract/inventory.contract.js';
import type { ProductView } from '../../contract/product.view.js';
import { RestockProductRequest } from './restock-product.request.js';

/** Inventory's public HTTP routes. Served by any gateway process, so it only speaks to the contract. */
@Controller('inventory/products')
export class InventoryController {
  constructor(@InjectInventory() private readonly inventory: Inventory) {}

  @Post()
  @HttpCode(201)
  @ApiProblem(409, 'A product with that sku exists.')
  create(@Body() body: CreateProductCommand): Promise<ProductView> {
    return this.inventory.createProduct(body);
  }

  @Get(':sku')
  get(@Param('sku') sku: string): Promise<ProductView> {
    return this.inventory.getProduct({ sku });
  }

  @Post(':sku/restock')
  @HttpCode(200)
  restock(@Param('sku') sku: string, @Body() body: RestockProductRequest): Promise<ProductView> {
    return this.inventory.restockProduct({ sku, quantity: body.quantity });
  }
}
