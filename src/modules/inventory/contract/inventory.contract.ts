import { Inject } from '@nestjs/common';
import { command, type ContractClient, defineContract, query } from '../../../platform/contracts/index.js';
import { CommitStockCommand } from './commit-stock.command.js';
import { CreateProductCommand } from './create-product.command.js';
import { GetPricesQuery } from './get-prices.query.js';
import { GetProductQuery } from './get-product.query.js';
import type { PriceView } from './price.view.js';
import { ReleaseStockCommand } from './release-stock.command.js';
import type { ReservationView } from './reservation.view.js';
import { ReserveStockCommand } from './reserve-stock.command.js';
import type { ProductView } from './product.view.js';
import { RestockProductCommand } from './restock-product.command.js';

export const InventoryContract = defineContract('inventory', {
  createProduct: command<CreateProductCommand, ProductView>(CreateProductCommand),
  restockProduct: command<RestockProductCommand, ProductView>(RestockProductCommand),
  getProduct: query<GetProductQuery, ProductView>(GetProductQuery),
  getPrices: query<GetPricesQuery, PriceView[]>(GetPricesQuery),
  reserveStock: command<ReserveStockCommand, ReservationView>(ReserveStockCommand, { idempotent: true }),
  releaseStock: command<ReleaseStockCommand, ReservationView>(ReleaseStockCommand, { idempotent: true }),
  // Keyed by orderId like the two above: the delivery workflow may retry it after a timeout.
  commitStock: command<CommitStockCommand, ReservationView>(CommitStockCommand, { idempotent: true }),
});

/** What other modules and the gateway hold to talk to Inventory, wherever it runs. */
export type Inventory = ContractClient<typeof InventoryContract>;

/** Parameter decorator: `constructor(@InjectInventory() inventory: Inventory)`. */
export const InjectInventory = (): ParameterDecorator => Inject(InventoryContract.client);
