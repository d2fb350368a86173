import 'reflect-metadata';
import { IsString } from 'class-validator';
import { IntegrationEvent } from '../contracts/integration-event.js';
import { type EventSubscriber, subscribe } from './subscription.js';

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

class NotifyCustomerSubscriber implements EventSubscriber<Confirmed | Cancelled> {
  async handle(): Promise<void> {}
}

describe('subscribe', () => {
  it('names the subscription after its subscriber class and its publisher after the events', () => {
    expect(subscribe([Confirmed, Cancelled], NotifyCustomerSubscriber)).toEqual({
      name: 'notify-customer',
      events: [Confirmed, Cancelled],
      publisher: 'orders',
      subscriber: NotifyCustomerSubscriber,
    });
    // Classes named before subscribers were called so keep their subscription's name (it keys inboxes and stream consumers).
    class NotifyCustomerHandler implements EventSubscriber<Confirmed> {
      async handle(): Promise<void> {}
    }
    expect(subscribe(Confirmed, NotifyCustomerHandler).name).toBe('notify-customer');
    expect(subscribe(Confirmed, NotifyCustomerSubscriber, 'confirmations')).toMatchObject({ name: 'confirmations', events: [Confirmed] });
  });

  it('refuses, at definition time, events of two publishers, an event twice, no event, a class that is no event', () => {
    expect(() => subscribe([Confirmed, Captured] as never, NotifyCustomerSubscriber)).toThrow(
      "subscription 'notify-customer' mixes events of orders and payments: one subscription reads one publisher's events",
    );
    expect(() => subscribe([Confirmed, Confirmed], NotifyCustomerSubscriber)).toThrow('lists an event twice');
    expect(() => subscribe([], NotifyCustomerSubscriber)).toThrow('lists no event');
    class NotAnEvent {}
    expect(() => subscribe(NotAnEvent, NotifyCustomerSubscriber as never)).toThrow('NotAnEvent is not decorated with @IntegrationEvent');
  });
});
