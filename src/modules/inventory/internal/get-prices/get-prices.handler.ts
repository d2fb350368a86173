import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { type IQueryHandler, MODULE_DATA_SOURCE, QueryHandler, queryPrepared } from '../../../../platform/index.js';
import { GetPricesQuery } from '../../contract/get-prices.query.js';
import type { PriceView } from '../../contract/price.view.js';

interface PriceRow {
  readonly sku: string;
  readonly price_cents: number;
}

@Injectable()
@QueryHandler(GetPricesQuery)
export class GetPricesHandler implements IQueryHandler<GetPricesQuery, PriceView[]> {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  /** One query for the whole basket; answered in the order asked, each sku once, unknown skus left out. */
  async execute(query: GetPricesQuery): Promise<PriceView[]> {
    const rows = await queryPrepared<PriceRow>(this.db, 'inventory.prices', 'SELECT sku, price_cents FROM inventory.products WHERE sku = ANY($1::text[])', [
      query.skus,
    ]);
    const bySku = new Map(rows.map((row) => [row.sku, row.price_cents]));
    return [...new Set(query.skus)].flatMap((sku) => {
      const priceCents = bySku.get(sku);
      return priceCents === undefined ? [] : [{ sku, priceCents }];
    });
  }
}
