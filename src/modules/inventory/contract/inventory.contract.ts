import { Inject } from '@nestjs/common';
import { command, type ContractClient, defineContract, query } from '../../../platform/contracts/contract.js';
import { CreateProductCommand } from './create-product.command.js';
import { GetProductQuery } from './get-product.query.js';
import type { ProductView } from './product.view.js';
import { RestockProductCommand } from './restock-product.command.js';

export const InventoryContract = defineContract('inventory', {
  createProduct: command<CreateProductCommand, ProductView>(CreateProductCommand),
  restockProduct: command<RestockProductCommand, ProductView>(RestockProductCommand),
  getProduct: query<GetProductQuery, ProductView>(GetProductQuery),
});

/** What other modules and the gateway hold to talk to Inventory, wherever it runs. */
export type Inventory = ContractClient<typeof InventoryContract>;

/** Parameter decorator: `constructor(@InjectInventory() inventory: Inventory)`. */
export const InjectInventory = (): ParameterDecorator => Inject(InventoryContract.client);
