import type { ModuleErrorData } from '../contracts/module.error.js';
import type { EventStream } from '../messaging/event-stream.js';
import type { EventStreamOptions } from './jetstream-event-stream.js';

/** The answer to a remote call, as it travels back. */
export type CallReply = { readonly ok: true; readonly result: unknown } | { readonly ok: false; readonly error: ModuleErrorData };

export type ModuleResponder = (operation: string, input: unknown) => Promise<CallReply>;

/** One process that hosts a module, as it answers a roll call (the operator console's replicas). */
export interface ProcessInstance {
  /** Host name and process id: which replica. */
  readonly instance: string;
  readonly hosts: readonly string[];
  readonly gateway: boolean;
  readonly startedAt: string;
}

/**
 * How modules in different processes reach each other: calls, and the event
 * stream. Every message carries the deployment's service token; every call
 * has a deadline. Implementations: NATS (required by topology.md).
 */
export interface Transport {
  /** Answers calls to a hosted module's contract, and pings of it. */
  serveModule(module: string, respond: ModuleResponder): void;
  /** Calls an operation of a module hosted elsewhere; rejects with TransportError when it cannot. */
  call(module: string, operation: string, input: unknown, timeoutMs: number): Promise<CallReply>;
  /** The deployment's event stream, which every process publishes to and subscribers read (ADR 12). */
  openEventStream(options: EventStreamOptions): Promise<EventStream>;
  /** Whether some process answers for the module now. */
  ping(module: string, timeoutMs: number): Promise<boolean>;
  /**
   * Answers operators' requests about a hosted module (`<prefix>.operate.<module>`, one replica
   * answers) and roll calls (`<prefix>.instances.<module>`, every replica answers): ADR 40.
   */
  serveOperations?(module: string, respond: (request: unknown) => Promise<CallReply>, instance: ProcessInstance): void;
  /** Sends an operator's request to the process that hosts the module; rejects with TransportError when it cannot. */
  operate?(module: string, request: unknown, timeoutMs: number): Promise<CallReply>;
  /** Every process hosting the module that answers within `waitMs`. */
  instances?(module: string, waitMs: number): Promise<ProcessInstance[]>;
  /** Whether the link to the broker is up now (readiness: a process that needs NATS cannot work without it). */
  isConnected(): boolean;
  /** Called each time the link comes back after an outage (circuits opened meanwhile are stale). */
  onReconnect?(listener: () => void): void;
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
