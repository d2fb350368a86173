import 'reflect-metadata';
import { IsString } from 'class-validator';
import { IntegrationEvent } from '../contracts/integration-event.js';
import { type EventHandler, subscribe } from './subscription.js';

@IntegrationEvent({ name: 'orders.OrderConfirmed', version: 2, aggregateKey: 'orderId' })
class Confirmed {
  @IsString() readonly orderId!: string;
}

@IntegrationEvent({ name: 'orders.OrderCancelled', version: 1, aggregateKey: 'orderId' })
class Cancelled {
  @IsString() readonly orderId!: string;
}

@IntegrationEvent({ name: 'payments.PaymentCaptured', version: 1, aggregateKey: 'orderId' })
class Captured {
  @IsString() readonly orderId!: string;
}

class NotifyCustomerHandler implements EventHandler<Confirmed | Cancelled> {
  async handle(): Promise<void> {}
}

describe('subscribe', () => {
  it('names the subscription after its handler and its publisher after the events', () => {
    expect(subscribe([Confirmed, Cancelled], NotifyCustomerHandler)).toEqual({
      name: 'notify-customer',
      events: [Confirmed, Cancelled],
      publisher: 'orders',
      handler: NotifyCustomerHandler,
    });
    expect(subscribe(Confirmed, NotifyCustomerHandler, 'confirmations')).toMatchObject({ name: 'confirmations', events: [Confirmed] });
  });

  it('refuses, at definition time, events of two publishers, an event twice, no event, a class that is no event', () => {
    expect(() => subscribe([Confirmed, Captured] as never, NotifyCustomerHandler)).toThrow(
      "subscription 'notify-customer' mixes events of orders and payments: one subscription reads one publisher's events",
    );
    expect(() => subscribe([Confirmed, Confirmed], NotifyCustomerHandler)).toThrow('lists an event twice');
    expect(() => subscribe([], NotifyCustomerHandler)).toThrow('lists no event');
    class NotAnEvent {}
    expect(() => subscribe(NotAnEvent, NotifyCustomerHandler as never)).toThrow('NotAnEvent is not decorated with @IntegrationEvent');
  });
});
