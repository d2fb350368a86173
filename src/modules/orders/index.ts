/**
 * Orders' public face: the only file of this module other modules may
 * import. Everything under `internal/` is private to the module.
 */
export { OrdersContract, type Orders, InjectOrders } from './contract/orders.contract.js';
export { CheckoutRequest } from './contract/checkout.request.js';
export { OrderItem } from './contract/order-item.js';
export { PlaceOrderCommand } from './contract/place-order.command.js';
export type { PlaceOrderResult } from './contract/place-order.result.js';
export { GetOrderQuery } from './contract/get-order.query.js';
export { GetCheckoutLogQuery } from './contract/get-checkout-log.query.js';
export { AwaitOrderQuery, MAX_ORDER_WAIT_MS } from './contract/await-order.query.js';
export { CancelOrderCommand } from './contract/cancel-order.command.js';
export type { CancelOrderResult } from './contract/cancel-order.result.js';
export type { FailureReason, OrderLineView, OrderStatus, OrderView } from './contract/order.view.js';
export type { CheckoutStep, CheckoutStepStatus, SagaStepView } from './contract/saga-step.view.js';
export { OrderPlaced, OrderConfirmed, OrderCancelled, ReviewRequested } from './contract/order-events.js';
