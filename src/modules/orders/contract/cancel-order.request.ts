/** Body of `POST /orders/:id/cancel` (store-api.md): none, or `{}`; any property is 400. */
export class CancelOrderRequest {}
