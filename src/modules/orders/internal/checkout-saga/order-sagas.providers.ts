import { Logger, type Provider } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { Metrics, MODULE_DATA_SOURCE, TransactionRunner, SagaAdmission, SagaEnds, type SagaOutcome, SagaRunner } from '../../../../platform/index.js';
import { InventoryContract, type Inventory } from '../../../inventory/index.js';
import { PaymentsContract, type Payments } from '../../../payments/index.js';
import { ShippingContract, type Shipping } from '../../../shipping/index.js';
import { cancellationSaga } from './cancellation-saga.js';
import { CHECKOUT_SAGA_OPTIONS, type CheckoutSagaOptions } from './checkout-saga.options.js';
import { checkoutSaga } from './checkout-saga.js';
import type { OrderCustomer, SagaOrder } from './saga-order.js';

/** Orders' two sagas on the platform's engine, and the checkout's admission (ADR 11). */
export const CHECKOUT_SAGA = Symbol('CHECKOUT_SAGA');
export const CANCELLATION_SAGA = Symbol('CANCELLATION_SAGA');
/** The checkout's ends by order id, for clients that wait (ADR 30). */
export const CHECKOUT_SAGA_ENDS = Symbol('CHECKOUT_SAGA_ENDS');

export type CheckoutSagaRunner = SagaRunner<SagaOrder>;
export type CancellationSagaRunner = SagaRunner<OrderCustomer>;

const COMMON = [
  CHECKOUT_SAGA_OPTIONS,
  MODULE_DATA_SOURCE,
  TransactionRunner,
  Metrics,
  PaymentsContract.client,
  InventoryContract.client,
  ShippingContract.client,
];

function outcomes(metrics: Metrics): (orderId: string, outcome: SagaOutcome) => void {
  const logger = new Logger('orders.checkout-saga');
  // Kept from before the engine: dashboards count orders by status and reason.
  const counter = metrics.counter('checkout_saga_outcomes_total', 'Checkout sagas ended, by order status and failure reason', ['status', 'reason']);
  return (orderId, outcome) => {
    const status = outcome.status === 'COMPLETED' ? 'CONFIRMED' : 'CANCELLED';
    const reason = outcome.status === 'COMPENSATED' ? outcome.reason : 'none';
    counter.inc({ status, reason });
    logger.log({ msg: `order ${status}`, orderId, ...(reason === 'none' ? {} : { reason }) });
  };
}

export const ORDER_SAGA_PROVIDERS: Provider[] = [
  {
    provide: CHECKOUT_SAGA,
    inject: COMMON,
    useFactory: (
      options: CheckoutSagaOptions,
      db: DataSource,
      transactions: TransactionRunner,
      metrics: Metrics,
      payments: Payments,
      inventory: Inventory,
      shipping: Shipping,
    ) => new SagaRunner(checkoutSaga({ payments, inventory, shipping, db }, options), options, db, transactions, metrics, outcomes(metrics)),
  },
  {
    provide: CANCELLATION_SAGA,
    inject: COMMON,
    useFactory: (
      options: CheckoutSagaOptions,
      db: DataSource,
      transactions: TransactionRunner,
      metrics: Metrics,
      payments: Payments,
      inventory: Inventory,
      shipping: Shipping,
    ) => {
      const logger = new Logger('orders.cancellation-saga');
      return new SagaRunner(cancellationSaga({ payments, inventory, shipping, db }, options), options, db, transactions, metrics, (orderId) =>
        logger.log({ msg: 'order CANCELLED', orderId, reason: 'CANCELLED_BY_CUSTOMER' }),
      );
    },
  },
  {
    provide: CHECKOUT_SAGA_ENDS,
    inject: [CHECKOUT_SAGA, CHECKOUT_SAGA_OPTIONS, MODULE_DATA_SOURCE, Metrics],
    useFactory: (runner: CheckoutSagaRunner, options: CheckoutSagaOptions, db: DataSource, metrics: Metrics) =>
      new SagaEnds(runner as never, { maxWaiters: options.maxWaiters, listenUrl: (db.options as { url?: string }).url }, metrics),
  },
  {
    provide: SagaAdmission,
    inject: [CHECKOUT_SAGA, CHECKOUT_SAGA_OPTIONS, Metrics],
    useFactory: (runner: CheckoutSagaRunner, options: CheckoutSagaOptions, metrics: Metrics) =>
      new SagaAdmission(
        runner as never,
        {
          targetMs: options.admissionTargetMs,
          minInFlight: options.admissionMinInFlight,
          maxWaitMs: options.admissionMaxWaitMs,
          sampleMs: options.admissionSampleMs,
          refusedMetric: 'checkout_orders_refused_total',
          waitMetric: 'checkout_queued_wait_seconds',
          what: 'checkout',
        },
        metrics,
      ),
  },
];
