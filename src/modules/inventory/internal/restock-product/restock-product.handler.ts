import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { CommandHandler, type ICommandHandler, MODULE_DATA_SOURCE, ModuleError } from '../../../../platform/index.js';
import type { ProductView } from '../../contract/product.view.js';
import { RestockProductCommand } from '../../contract/restock-product.command.js';
import { ProductEntity } from '../infrastructure/product.entity.js';
import { type ProductRow, rowToProductView } from '../infrastructure/product.mapper.js';
import { productNotFound } from '../inventory.errors.js';

/** Keeps `on_hand` far from the integer column's limit whatever the number of restocks. */
const MAX_ON_HAND = 1_000_000_000;

@Injectable()
@CommandHandler(RestockProductCommand)
export class RestockProductHandler implements ICommandHandler<RestockProductCommand, ProductView> {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  async execute(command: RestockProductCommand): Promise<ProductView> {
    // One atomic increment: concurrent restocks never lose an update.
    const result = await this.db
      .createQueryBuilder()
      .update(ProductEntity)
      .set({ onHand: () => 'on_hand + :quantity' })
      .setParameter('quantity', command.quantity)
      .where('sku = :sku', { sku: command.sku })
      .andWhere('on_hand + :quantity <= :max', { max: MAX_ON_HAND })
      .returning('*')
      .execute();
    const [row] = result.raw as ProductRow[];
    if (!row) {
      const exists = await this.db.getRepository(ProductEntity).existsBy({ sku: command.sku });
      if (!exists) throw productNotFound(command.sku);
      throw new ModuleError('UNPROCESSABLE', `restocking '${command.sku}' would exceed ${MAX_ON_HAND} units on hand`, 'inventory');
    }
    return rowToProductView(row);
  }
}
