import { Inject, Injectable } from '@nestjs/common';
import { currentTraceHeaders, type EventContext, type EventSubscriber } from '../../../../platform/index.js';
import type { OrderConfirmed } from '../../contract/order-events.js';
import { DELIVERY_SAGA, type DeliverySagaRunner } from './delivery-saga.providers.js';

/**
 * Orders hears its own confirmations (ADR 33): each starts the order's
 * delivery, once (the saga's key is the order), in the inbox's transaction,
 * and only while the order is still CONFIRMED (a customer quick to cancel
 * leaves nothing to deliver). The checkout's last statement publishes the
 * event; starting the delivery there as well would make that statement two
 * sagas' business, and the event is delivered anyway, in every topology.
 */
@Injectable()
export class StartDeliverySubscriber implements EventSubscriber<OrderConfirmed> {
  private readonly startSql: string;

  constructor(@Inject(DELIVERY_SAGA) private readonly delivery: DeliverySagaRunner) {
    this.startSql = `WITH confirmed AS (
           SELECT id::text AS key FROM orders.orders WHERE id = $1::uuid AND status = 'CONFIRMED'
         ), ${delivery.store.startSql({ key: 'confirmed.key', deadlineMs: 'NULL::int', traceContext: '$2::jsonb', leaseMs: 'NULL::int' }, 'FROM confirmed')}
         SELECT count(*)::int AS started FROM saga_started`;
  }

  async handle(event: OrderConfirmed, context: EventContext): Promise<void> {
    await context.tx.manager.query(this.startSql, [event.orderId, JSON.stringify(currentTraceHeaders())]);
  }
}
