import { Logger, type Provider } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { Metrics, MODULE_DATA_SOURCE, SagaRunner, TransactionRunner } from '../../../../platform/index.js';
import { InventoryContract, type Inventory } from '../../../inventory/index.js';
import { PaymentsContract, type Payments } from '../../../payments/index.js';
import { ShippingContract, type Shipping } from '../../../shipping/index.js';
import { CHECKOUT_SAGA_OPTIONS, type CheckoutSagaOptions } from '../checkout-saga/checkout-saga.options.js';
import type { DeliveryOrder } from './delivery-order.js';
import { DELIVERY_OPTIONS, type DeliveryOptions } from './delivery-saga.options.js';
import { deliverySaga } from './delivery-saga.js';

/** Orders' third saga: a CONFIRMED order's delivery, on the platform's engine (ADR 29, 33). */
export const DELIVERY_SAGA = Symbol('DELIVERY_SAGA');

export type DeliverySagaRunner = SagaRunner<DeliveryOrder>;

export const DELIVERY_SAGA_PROVIDERS: Provider[] = [
  {
    provide: DELIVERY_SAGA,
    inject: [
      CHECKOUT_SAGA_OPTIONS,
      DELIVERY_OPTIONS,
      MODULE_DATA_SOURCE,
      TransactionRunner,
      Metrics,
      PaymentsContract.client,
      InventoryContract.client,
      ShippingContract.client,
    ],
    useFactory: (
      options: CheckoutSagaOptions,
      delivery: DeliveryOptions,
      db: DataSource,
      transactions: TransactionRunner,
      metrics: Metrics,
      payments: Payments,
      inventory: Inventory,
      shipping: Shipping,
    ) => {
      const logger = new Logger('orders.delivery-saga');
      return new SagaRunner(
        deliverySaga({ payments, inventory, shipping, db }, { ...options, ...delivery }),
        options,
        db,
        transactions,
        metrics,
        (orderId, outcome) =>
          logger.log({ msg: `delivery ended ${outcome.status}`, orderId, ...(outcome.status === 'COMPENSATED' ? { reason: outcome.reason } : {}) }),
      );
    },
  },
];
