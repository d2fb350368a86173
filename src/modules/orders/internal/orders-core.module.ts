import { Module } from '@nestjs/common';
import { ModuleSettings } from '../../../platform/index.js';
import { AwaitOrderHandler } from './await-order/await-order.handler.js';
import { CancelOrderHandler } from './cancel-order/cancel-order.handler.js';
import { CHECKOUT_SAGA_OPTIONS, checkoutSagaOptions } from './checkout-saga/checkout-saga.options.js';
import { DELIVERY_SAGA_PROVIDERS } from './delivery-saga/delivery-saga.providers.js';
import { DELIVERY_OPTIONS, deliveryOptions } from './delivery-saga/delivery-saga.options.js';
import { carrierSignals } from './delivery-saga/delivery-signals.js';
import { StartDeliverySubscriber } from './delivery-saga/start-delivery.subscriber.js';
import { ORDER_SAGA_PROVIDERS } from './checkout-saga/order-sagas.providers.js';
import { GetCheckoutLogHandler } from './get-checkout-log/get-checkout-log.handler.js';
import { GetOrderHandler } from './get-order/get-order.handler.js';
import { OrderRepository } from './infrastructure/order.repository.js';
import { PlaceOrderHandler } from './place-order/place-order.handler.js';

/** Hosts Orders and its sagas (checkout, cancellation by the customer, delivery) on the platform's engine; the platform supplies the DataSource, transactions and the other modules' clients. */
@Module({
  providers: [
    { provide: CHECKOUT_SAGA_OPTIONS, inject: [ModuleSettings], useFactory: checkoutSagaOptions },
    { provide: DELIVERY_OPTIONS, inject: [ModuleSettings], useFactory: deliveryOptions },
    OrderRepository,
    ...ORDER_SAGA_PROVIDERS,
    ...DELIVERY_SAGA_PROVIDERS,
    StartDeliverySubscriber,
    carrierSignals.subscriber,
    CancelOrderHandler,
    PlaceOrderHandler,
    GetOrderHandler,
    AwaitOrderHandler,
    GetCheckoutLogHandler,
  ],
})
export class OrdersCoreModule {}
