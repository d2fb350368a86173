import { readFileSync } from 'node:fs';
import { Logger } from '@nestjs/common';
import {
  connect,
  type ConnectionOptions,
  credsAuthenticator,
  headers as natsHeaders,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
} from '@nats-io/transport-node';
import { ConfigurationError } from '../config/configuration.error.js';
import type { EventStream } from '../messaging/event-stream.js';
import { contextFrom, currentTraceHeaders, inSpan, SpanKind } from '../observability/tracing.js';
import { describeFieldErrors } from '../validation/field-errors.js';
import { inputShapeErrors, parseJson } from '../validation/input-shape.js';
import { type EventStreamOptions, JetStreamEventStream, TOKEN_HEADER, tokenMatches } from './jetstream-event-stream.js';
import { type ModuleResponder, type CallReply, type Transport, TransportError } from './transport.js';

const REFUSED = 'refused: missing or wrong service token';

/** How this process proves who it is to the NATS server (ADR 15); all optional. */
export interface NatsCredentials {
  readonly user?: string;
  readonly password?: string;
  /** A `.creds` file (JWT + nkey seed), for servers in operator mode. */
  readonly credsFile?: string;
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
  /** Replies come to `<inboxPrefix>.<id>`: a prefix of its own lets the server keep other users out of them. */
  readonly inboxPrefix?: string;
}

export interface NatsTransportOptions {
  readonly url: string;
  readonly prefix: string;
  /** The shared secret every message carries; absent when NATS's own authorization separates the services. */
  readonly token: string | undefined;
  readonly name: string;
  readonly credentials?: NatsCredentials;
}

/**
 * The NATS transport: request/reply for contract calls (subject
 * `<prefix>.call.<module>.<operation>`), pings (`<prefix>.ping.<module>`),
 * and the event stream on JetStream (`<prefix>.events.>`, ADR 12).
 * Each module's subscriptions form a queue group, so instances of a module
 * share its load. A message without the deployment's token (when there is
 * one) is refused and logged; one that is not JSON, or has a reserved
 * property name, is answered INVALID.
 */
export class NatsTransport implements Transport {
  private readonly logger = new Logger('transport.nats');
  private connected = true;
  private readonly reconnectListeners: Array<() => void> = [];

  private constructor(
    private readonly connection: NatsConnection,
    private readonly prefix: string,
    private readonly token: Buffer | undefined,
  ) {}

  static async connect(options: NatsTransportOptions): Promise<NatsTransport> {
    let connection: NatsConnection;
    try {
      connection = await connect({
        servers: options.url,
        name: options.name,
        // Keep trying for ever once connected: a NATS restart must not end the process.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        timeout: 5_000,
        ...connectionAuth(options.credentials),
      });
    } catch (error) {
      throw new ConfigurationError(`cannot reach NATS at ${options.url} (TRANSPORT=nats): ${(error as Error).message}`);
    }
    const transport = new NatsTransport(connection, options.prefix, options.token === undefined ? undefined : Buffer.from(options.token));
    void transport.watch();
    return transport;
  }

  serveModule(module: string, respond: ModuleResponder): void {
    this.subscribe(`${this.prefix}.call.${module}.*`, `${this.prefix}.${module}`, module, (subject, input) =>
      respond(subject.slice(`${this.prefix}.call.${module}.`.length), input),
    );
    this.subscribe(`${this.prefix}.ping.${module}`, `${this.prefix}.${module}`, module, async () => ({ ok: true, result: null }));
  }

  async call(module: string, operation: string, input: unknown, timeoutMs: number): Promise<CallReply> {
    return (await this.request(`${this.prefix}.call.${module}.${operation}`, input, timeoutMs)) as CallReply;
  }

  openEventStream(options: EventStreamOptions): Promise<EventStream> {
    return JetStreamEventStream.open(this.connection, { ...options, prefix: this.prefix, token: this.token?.toString() });
  }

  async ping(module: string, timeoutMs: number): Promise<boolean> {
    try {
      await this.request(`${this.prefix}.ping.${module}`, null, timeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  onReconnect(listener: () => void): void {
    this.reconnectListeners.push(listener);
  }

  async close(): Promise<void> {
    // drain: stop taking messages, finish the ones in hand, then close.
    await this.connection.drain().catch(() => this.connection.close());
  }

  private request(subject: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    return inSpan(
      `nats request ${subject}`,
      { kind: SpanKind.CLIENT, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject } },
      () => this.send(subject, payload, timeoutMs),
    );
  }

  private async send(subject: string, payload: unknown, timeoutMs: number): Promise<unknown> {
    // Cut off from the server, a request would only wait out its deadline: say so now, nothing was sent.
    if (!this.connected) throw new TransportError(`${subject}: not connected to NATS`, false);
    const headers = natsHeaders();
    if (this.token !== undefined) headers.set(TOKEN_HEADER, this.token.toString());
    // The trace goes with the message, so the other process continues it.
    for (const [name, value] of Object.entries(currentTraceHeaders())) headers.set(name, value);
    let reply: Msg;
    try {
      reply = await this.connection.request(subject, JSON.stringify(payload ?? null), { timeout: timeoutMs, headers });
    } catch (error) {
      const text = (error as Error).message ?? String(error);
      const noResponders = /no responders/i.test(text);
      const permission = /permission/i.test(text);
      throw new TransportError(
        noResponders ? `nobody serves ${subject}` : permission ? `${subject}: not permitted by the NATS server (check this service's NATS user)` : `${subject}: ${text}`,
        // With no responders (or no permission) the message reached nobody; otherwise it may have been handled.
        !noResponders && !permission,
      );
    }
    const body = reply.string();
    if (body === REFUSED) throw new TransportError(`${subject} ${REFUSED}: check SERVICE_TOKEN of both processes`, false);
    const parsed = parseJson(body);
    if (parsed === undefined) throw new TransportError(`${subject}: the answer is not JSON`, true);
    return parsed.value;
  }

  private subscribe(
    subject: string,
    queue: string,
    module: string,
    answer: (subject: string, input: unknown) => Promise<unknown>,
  ): void {
    this.connection.subscribe(subject, {
      queue,
      callback: (error, message) => {
        if (error) {
          this.logger.warn(`subscription ${subject} failed: ${error.message}`);
          return;
        }
        if (!this.authenticated(message.headers)) {
          this.logger.warn(`refused a message on ${message.subject}: missing or wrong service token`);
          message.respond(REFUSED);
          return;
        }
        const input = decode(message);
        if (!input.ok) {
          // Bad input is the sender's problem: one warning, an INVALID answer, no stack trace.
          this.logger.warn(`refused a message on ${message.subject}: ${input.message}`);
          message.respond(JSON.stringify({ ok: false, error: { code: 'INVALID', message: input.message, module, ...(input.errors ? { errors: input.errors } : {}) } }));
          return;
        }
        const parent = contextFrom({ traceparent: message.headers?.get('traceparent'), tracestate: message.headers?.get('tracestate') });
        inSpan(
          `nats handle ${message.subject}`,
          { kind: SpanKind.SERVER, parent, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': message.subject } },
          async () => {
            const started = performance.now();
            const result = await answer(message.subject, input.value);
            // One line per handled message, inside its span: it carries the trace id.
            this.logger.log({
              msg: 'handled message',
              subject: message.subject,
              ok: (result as { ok?: boolean }).ok !== false,
              durationMs: Math.round((performance.now() - started) * 100) / 100,
              ...orderIdOf(input.value),
            });
            return result;
          },
        ).then(
          (result) => message.respond(JSON.stringify(result)),
          (failure: unknown) => {
            this.logger.error(`handling ${message.subject} failed: ${(failure as Error)?.stack ?? failure}`);
            message.respond(JSON.stringify({ ok: false, error: { code: 'INTERNAL', message: 'internal error', module } }));
          },
        );
      },
    });
  }

  isConnected(): boolean {
    return this.connected && !this.connection.isClosed();
  }

  private authenticated(headers: MsgHdrs | undefined): boolean {
    return this.token === undefined || tokenMatches(headers?.get(TOKEN_HEADER), this.token);
  }

  private async watch(): Promise<void> {
    for await (const status of this.connection.status()) {
      if (status.type === 'disconnect') {
        this.connected = false;
        this.logger.warn('NATS disconnect');
      } else if (status.type === 'reconnect') {
        this.connected = true;
        this.logger.warn('NATS reconnect');
        for (const listener of this.reconnectListeners) listener();
      }
    }
  }
}

/** The connection options that authenticate this process, from its configuration. */
function connectionAuth(credentials: NatsCredentials | undefined): Partial<ConnectionOptions> {
  if (credentials === undefined) return {};
  const options: Partial<ConnectionOptions> = {};
  if (credentials.user !== undefined) {
    options.user = credentials.user;
    options.pass = credentials.password;
  }
  if (credentials.credsFile !== undefined) {
    let creds: Uint8Array;
    try {
      creds = readFileSync(credentials.credsFile);
    } catch (error) {
      throw new ConfigurationError(`NATS_CREDS: cannot read ${credentials.credsFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    options.authenticator = credsAuthenticator(creds);
  }
  if (credentials.tls !== undefined) options.tls = { ...credentials.tls };
  if (credentials.inboxPrefix !== undefined) options.inboxPrefix = credentials.inboxPrefix;
  return options;
}

type Decoded = { ok: true; value: unknown } | { ok: false; message: string; errors?: Array<{ field: string; message: string }> };

function decode(message: Msg): Decoded {
  const parsed = parseJson(message.string());
  if (parsed === undefined) return { ok: false, message: 'the message is not valid JSON' };
  const errors = inputShapeErrors(parsed.value);
  if (errors.length > 0) return { ok: false, message: describeFieldErrors(errors), errors };
  return { ok: true, value: parsed.value };
}

/** The order a message is about, when it says (`orderId` of a call's input or of an event's payload). */
function orderIdOf(value: unknown): { orderId?: string } {
  const candidate = value as { orderId?: unknown; payload?: { orderId?: unknown } } | null | undefined;
  const orderId = candidate?.orderId ?? candidate?.payload?.orderId;
  return typeof orderId === 'string' ? { orderId } : {};
}
