import { Logger } from '@nestjs/common';
import type { ContractClient } from '../contracts/contract.js';
import { ModuleError } from '../contracts/module.error.js';
import type { EventEnvelope } from '../messaging/integration-event.js';
import { NoRouteError, PoisonMessageError } from '../messaging/message-bus.js';
import type { Messaging } from '../messaging/messaging.js';
import type { ModuleDefinition } from '../modules/module-definition.js';
import { type Transport, TransportError } from './transport.js';

/**
 * Puts the hosted modules on the transport (their contracts answer remote
 * calls through the same local adapter that in-process callers use, so the
 * payload is validated on receipt either way), and routes events for
 * subscribers hosted elsewhere through it.
 */
export function bindTransport(options: {
  transport: Transport;
  definitions: readonly ModuleDefinition[];
  hosted: readonly string[];
  messaging: Messaging;
  clientOf: (definition: ModuleDefinition) => ContractClient<ModuleDefinition['contract']>;
  eventTimeoutMs: number;
}): void {
  const { transport, definitions, hosted, messaging } = options;
  const logger = new Logger('transport');
  for (const definition of definitions.filter((d) => hosted.includes(d.name))) {
    const client = options.clientOf(definition) as Record<string, (input: object) => Promise<unknown>>;
    transport.serveModule(definition.name, async (operation, input) => {
      if (!Object.hasOwn(definition.contract.operations, operation)) {
        return { ok: false, error: new ModuleError('INVALID', `'${definition.name}' has no operation '${operation}'`, definition.name).toData() };
      }
      try {
        return { ok: true, result: await client[operation](input as object) };
      } catch (error) {
        if (error instanceof ModuleError) return { ok: false, error: error.toData() };
        throw error;
      }
    });
    transport.serveEvents(definition.name, async (subscriberId, envelope) => {
      if (messaging.registry.subscriber(subscriberId)?.module !== definition.name) {
        return { ok: false, poison: true, message: `no subscriber '${subscriberId}' in module '${definition.name}'` };
      }
      try {
        await messaging.bus.deliver(subscriberId, envelope);
        return { ok: true };
      } catch (error) {
        return { ok: false, poison: error instanceof PoisonMessageError, message: (error as Error).message };
      }
    });
  }
  for (const definition of definitions.filter((d) => !hosted.includes(d.name))) {
    for (const subscriber of messaging.registry.subscribersIn(definition.name)) {
      messaging.bus.route(subscriber.id, async (envelope: EventEnvelope) => {
        let reply;
        try {
          reply = await transport.deliverEvent(subscriber.id, envelope, options.eventTimeoutMs);
        } catch (error) {
          // Nobody serves the subscriber right now: keep the event until its process is back.
          if (error instanceof TransportError && !error.outcomeUnknown) throw new NoRouteError(error.message);
          throw error;
        }
        if (reply.ok) return;
        if (reply.poison) throw new PoisonMessageError(reply.message);
        throw new Error(`${subscriber.id} failed: ${reply.message}`);
      });
    }
  }
  logger.log(`serving [${hosted.join(', ')}] over the transport`);
}
