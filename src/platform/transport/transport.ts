import type { EventEnvelope } from '../messaging/integration-event.js';
import type { ModuleErrorData } from '../contracts/module.error.js';

/** The answer to a remote call, as it travels back. */
export type CallReply =
  | { readonly ok: true; readonly result: unknown }
  | { readonly ok: false; readonly error: ModuleErrorData };

/** The answer to an event delivered to another process. */
export type EventReply = { readonly ok: true } | { readonly ok: false; readonly poison: boolean; readonly message: string };

export type CallHandler = (operation: string, input: unknown) => Promise<CallReply>;
export type EventHandler = (subscriberId: string, envelope: EventEnvelope) => Promise<EventReply>;

/**
 * How modules in different processes reach each other. Every message carries
 * the deployment's service token; every call has a deadline. Implementations:
 * NATS (required by topology.md).
 */
export interface Transport {
  /** Answers calls to a hosted module's contract, and pings of it. */
  serveModule(module: string, handler: CallHandler): void;
  /** Takes events for a hosted module's subscribers. */
  serveEvents(module: string, handler: EventHandler): void;
  /** Calls an operation of a module hosted elsewhere; rejects with TransportError when it cannot. */
  call(module: string, operation: string, input: unknown, timeoutMs: number): Promise<CallReply>;
  /** Hands an event to a subscriber hosted elsewhere and waits for its acknowledgement. */
  deliverEvent(subscriberId: string, envelope: EventEnvelope, timeoutMs: number): Promise<EventReply>;
  /** Whether some process answers for the module now. */
  ping(module: string, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** The message did not get an answer: nobody serves the subject, the deadline passed, or the link is down. */
export class TransportError extends Error {
  override readonly name = 'TransportError';

  constructor(
    message: string,
    /** Whether the callee may have acted (a deadline passed after sending). */
    readonly outcomeUnknown: boolean,
  ) {
    super(message);
  }
}
