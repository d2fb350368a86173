import { defineModule } from '../../platform/index.js';
import { OrdersContract } from './contract/orders.contract.js';
import { OrdersHttpModule } from './internal/http/orders-http.module.js';
import { OrderEntity } from './internal/infrastructure/order.entity.js';
import { OrdersCoreModule } from './internal/orders-core.module.js';

/** Orders' composition root: owns orders and drives the checkout saga across the other modules. */
export default defineModule({
  name: 'orders',
  contract: OrdersContract,
  core: OrdersCoreModule,
  http: OrdersHttpModule,
  entities: [OrderEntity],
});
