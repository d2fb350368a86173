import { Injectable } from '@nestjs/common';
import type { ContractHandler } from '../../../platform/index.js';
import type { CancelOrderCommand } from '../contract/cancel-order.command.js';
import type { CancelOrderResult } from '../contract/cancel-order.result.js';
import type { GetOrderQuery } from '../contract/get-order.query.js';
import { CancelOrderHandler } from './cancel-order/cancel-order.handler.js';
import type { OrderView } from '../contract/order.view.js';
import type { OrdersContract } from '../contract/orders.contract.js';
import type { PlaceOrderCommand } from '../contract/place-order.command.js';
import type { PlaceOrderResult } from '../contract/place-order.result.js';
import type { SagaStepView } from '../contract/saga-step.view.js';
import { GetCheckoutLogHandler } from './get-checkout-log/get-checkout-log.handler.js';
import { GetOrderHandler } from './get-order/get-order.handler.js';
import { PlaceOrderHandler } from './place-order/place-order.handler.js';

/** Orders' contract, implemented by routing each operation to its use case. */
@Injectable()
export class OrdersHandler implements ContractHandler<typeof OrdersContract> {
  constructor(
    private readonly placeOrderHandler: PlaceOrderHandler,
    private readonly getOrderHandler: GetOrderHandler,
    private readonly getCheckoutLogHandler: GetCheckoutLogHandler,
    private readonly cancelOrderHandler: CancelOrderHandler,
  ) {}

  cancelOrder(command: CancelOrderCommand): Promise<CancelOrderResult> {
    return this.cancelOrderHandler.execute(command);
  }

  placeOrder(command: PlaceOrderCommand): Promise<PlaceOrderResult> {
    return this.placeOrderHandler.execute(command);
  }

  getOrder(query: GetOrderQuery): Promise<OrderView> {
    return this.getOrderHandler.execute(query);
  }

  getCheckoutLog(query: GetOrderQuery): Promise<SagaStepView[]> {
    return this.getCheckoutLogHandler.execute(query);
  }
}
