import type { Type } from '@nestjs/common';

/**
 * What makes a class an integration event: a stable name (`<module>.<PastTense>`),
 * a version bumped on any incompatible change of its payload, and the payload
 * field that identifies the aggregate, whose events reach a subscriber in order.
 */
export interface IntegrationEventOptions {
  readonly name: string;
  readonly version: number;
  readonly aggregateKey: string;
}

const EVENT_OPTIONS = Symbol('integration-event');

const EVENT_NAME = /^[a-z][a-z0-9_]*\.[A-Z][A-Za-z0-9]*$/;

/** Class decorator for an event of a module's contract; its properties are the payload, validated with class-validator. */
export function IntegrationEvent(options: IntegrationEventOptions): ClassDecorator {
  if (!EVENT_NAME.test(options.name)) {
    throw new Error(`event name '${options.name}' must look like '<module>.<PastTenseName>'`);
  }
  if (!Number.isInteger(options.version) || options.version < 1) {
    throw new Error(`event '${options.name}' needs a positive integer version`);
  }
  return (target) => {
    Object.defineProperty(target, EVENT_OPTIONS, { value: Object.freeze({ ...options }) });
  };
}

export function eventOptions(type: Function): IntegrationEventOptions {
  const options = (type as unknown as Record<symbol, IntegrationEventOptions | undefined>)[EVENT_OPTIONS];
  if (!options) throw new Error(`${type.name} is not decorated with @IntegrationEvent`);
  return options;
}

export function isIntegrationEventType(type: unknown): type is Type<object> {
  return typeof type === 'function' && EVENT_OPTIONS in type;
}

/** An event as it is stored in an outbox and travels to subscribers: plain JSON only. */
export interface EventEnvelope {
  readonly id: string;
  readonly name: string;
  readonly version: number;
  /** The module whose outbox holds the event. */
  readonly publisher: string;
  readonly aggregateId: string;
  readonly occurredAt: string;
  readonly payload: Record<string, unknown>;
  /** Cross-cutting context such as `traceparent`. */
  readonly headers: Readonly<Record<string, string>>;
}
