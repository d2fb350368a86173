import { Inject } from '@nestjs/common';
import { command, type ContractClient, defineContract, query } from '../../../platform/contracts/index.js';
import { AwaitOrderQuery } from './await-order.query.js';
import { CancelOrderCommand } from './cancel-order.command.js';
import type { CancelOrderResult } from './cancel-order.result.js';
import { GetCheckoutLogQuery } from './get-checkout-log.query.js';
import { GetOrderQuery } from './get-order.query.js';
import type { OrderView } from './order.view.js';
import { PlaceOrderCommand } from './place-order.command.js';
import type { PlaceOrderResult } from './place-order.result.js';
import type { SagaStepView } from './saga-step.view.js';

export const OrdersContract = defineContract('orders', {
  placeOrder: command<PlaceOrderCommand, PlaceOrderResult>(PlaceOrderCommand, { idempotencyKey: 'idempotencyKey' }),
  getOrder: query<GetOrderQuery, OrderView>(GetOrderQuery),
  getCheckoutLog: query<GetCheckoutLogQuery, SagaStepView[]>(GetCheckoutLogQuery),
  // Answers when the checkout ends, or after waitMs: a remote caller's deadline is waitMs longer (ADR 30).
  awaitOrder: query<AwaitOrderQuery, OrderView>(AwaitOrderQuery, { waitsUpTo: 'waitMs' }),
  // Idempotent: a repeat answers the cancellation under way and starts nothing. Keyed by request (ADR 32):
  // a remote caller's retry of the request that started it is answered `started`, as its first attempt was.
  cancelOrder: command<CancelOrderCommand, CancelOrderResult>(CancelOrderCommand, { idempotent: true, idempotencyKey: 'requestKey' }),
});

/** What the gateway (and any future module) holds to talk to Orders, wherever it runs. */
export type Orders = ContractClient<typeof OrdersContract>;

export const InjectOrders = (): ParameterDecorator => Inject(OrdersContract.client);
