import { defineModule, uses } from '../../platform/index.js';
import { InventoryContract } from '../inventory/index.js';
import { PaymentsContract } from '../payments/index.js';
import { ShippingContract } from '../shipping/index.js';
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
  // Placing an order prices it; the checkout and cancellation sagas do and undo each step.
  calls: [
    uses(InventoryContract, 'getPrices', 'reserveStock', 'releaseStock'),
    uses(PaymentsContract, 'chargePayment', 'refundPayment'),
    uses(ShippingContract, 'scheduleShipment', 'cancelShipment'),
  ],
  httpCalls: [uses(OrdersContract, 'placeOrder', 'awaitOrder', 'getOrder', 'cancelOrder', 'getCheckoutLog')],
});
