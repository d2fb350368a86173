import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { type IQueryHandler, MODULE_DATA_SOURCE, QueryHandler } from '../../../../platform/index.js';
import { GetProductQuery } from '../../contract/get-product.query.js';
import type { ProductView } from '../../contract/product.view.js';
import { ProductEntity } from '../infrastructure/product.entity.js';
import { toProductView } from '../infrastructure/product.mapper.js';
import { productNotFound } from '../inventory.errors.js';

@Injectable()
@QueryHandler(GetProductQuery)
export class GetProductHandler implements IQueryHandler<GetProductQuery, ProductView> {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  async execute(query: GetProductQuery): Promise<ProductView> {
    const product = await this.db.getRepository(ProductEntity).findOneBy({ sku: query.sku });
    if (!product) throw productNotFound(query.sku);
    return toProductView(product);
  }
}
