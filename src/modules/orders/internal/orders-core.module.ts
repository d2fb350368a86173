import { Module } from '@nestjs/common';
import { ModuleSettings } from '../../../platform/config/module-settings.js';
import { OrdersContract } from '../contract/orders.contract.js';
import { CheckoutAdmission } from './checkout-saga/checkout-admission.js';
import { CHECKOUT_SAGA_OPTIONS, checkoutSagaOptions } from './checkout-saga/checkout-saga.options.js';
import { CheckoutSagaRepository } from './checkout-saga/checkout-saga.repository.js';
import { CheckoutSagaRunner } from './checkout-saga/checkout-saga.runner.js';
import { CheckoutSteps } from './checkout-saga/checkout-steps.js';
import { GetCheckoutLogHandler } from './get-checkout-log/get-checkout-log.handler.js';
import { GetOrderHandler } from './get-order/get-order.handler.js';
import { OrderRepository } from './infrastructure/order.repository.js';
import { OrdersHandler } from './orders.handler.js';
import { PlaceOrderHandler } from './place-order/place-order.handler.js';

/** Hosts Orders and its checkout saga; the platform supplies the DataSource, transactions and the other modules' clients. */
@Module({
  providers: [
    { provide: CHECKOUT_SAGA_OPTIONS, inject: [ModuleSettings], useFactory: checkoutSagaOptions },
    OrderRepository,
    CheckoutSagaRepository,
    CheckoutSteps,
    CheckoutSagaRunner,
    CheckoutAdmission,
    PlaceOrderHandler,
    GetOrderHandler,
    GetCheckoutLogHandler,
    { provide: OrdersContract.handler, useClass: OrdersHandler },
  ],
})
export class OrdersCoreModule {}
