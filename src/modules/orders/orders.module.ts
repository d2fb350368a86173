import { defineModule, subscribe, uses } from '../../platform/index.js';
import { InventoryContract } from '../inventory/index.js';
import { PaymentsContract } from '../payments/index.js';
import { ShippingContract } from '../shipping/index.js';
import { OrderConfirmed } from './contract/order-events.js';
import { OrdersContract } from './contract/orders.contract.js';
import { OrdersHttpModule } from './internal/http/orders-http.module.js';
import { OrderEntity } from './internal/infrastructure/order.entity.js';
import { carrierSignals } from './internal/delivery-saga/delivery-signals.js';
import { StartDeliverySubscriber } from './internal/delivery-saga/start-delivery.subscriber.js';
import { OrdersCoreModule } from './internal/orders-core.module.js';

/** Orders' composition root: owns orders and drives the checkout, cancellation and delivery sagas across the other modules. */
export default defineModule({
  name: 'orders',
  contract: OrdersContract,
  core: OrdersCoreModule,
  http: OrdersHttpModule,
  entities: [OrderEntity],
  // Placing an order prices it; the checkout and cancellation sagas do and undo each step; a delivery sells the stock.
  calls: [
    uses(InventoryContract, 'getPrices', 'reserveStock', 'releaseStock', 'commitStock'),
    uses(PaymentsContract, 'chargePayment', 'refundPayment'),
    uses(ShippingContract, 'scheduleShipment', 'cancelShipment'),
  ],
  httpCalls: [uses(OrdersContract, 'placeOrder', 'awaitOrder', 'getOrder', 'cancelOrder', 'getCheckoutLog')],
  // A confirmed order's delivery starts from its own confirmation; the carrier's word (Shipping's events) ends its wait.
  // The names key deliveries, inbox records and stream consumers: keep them stable.
  subscriptions: [subscribe([OrderConfirmed], StartDeliverySubscriber, 'delivery-start'), carrierSignals.subscription],
});
