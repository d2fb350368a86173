import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { CommandHandler, type ICommandHandler, MODULE_DATA_SOURCE } from '../../../../platform/index.js';
import { CreateProductCommand } from '../../contract/create-product.command.js';
import type { ProductView } from '../../contract/product.view.js';
import { ProductEntity } from '../infrastructure/product.entity.js';
import { type ProductRow, rowToProductView } from '../infrastructure/product.mapper.js';
import { productExists } from '../inventory.errors.js';

@Injectable()
@CommandHandler(CreateProductCommand)
export class CreateProductHandler implements ICommandHandler<CreateProductCommand, ProductView> {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  async execute(command: CreateProductCommand): Promise<ProductView> {
    // ON CONFLICT DO NOTHING keeps two concurrent creates from racing into a 500.
    const inserted = await this.db
      .createQueryBuilder()
      .insert()
      .into(ProductEntity)
      .values({ sku: command.sku, name: command.name, priceCents: command.priceCents, onHand: command.stock, reserved: 0 })
      .orIgnore()
      .returning('*')
      .execute();
    const [row] = inserted.raw as ProductRow[];
    if (!row) throw productExists(command.sku);
    return rowToProductView(row);
  }
}
