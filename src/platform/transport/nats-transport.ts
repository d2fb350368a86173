import { timingSafeEqual } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { connect, headers as natsHeaders, type Msg, type MsgHdrs, type NatsConnection } from '@nats-io/transport-node';
import { ConfigurationError } from '../config/configuration.error.js';
import type { EventStream } from '../messaging/event-stream.js';
import { contextFrom, currentTraceHeaders, inSpan, SpanKind } from '../observability/tracing.js';
import { type EventStreamOptions, JetStreamEventStream, TOKEN_HEADER } from './jetstream-event-stream.js';
import { type CallHandler, type CallReply, type Transport, TransportError } from './transport.js';

const REFUSED = 'refused: missing or wrong service token';

/**
 * The NATS transport: request/reply for contract calls (subject
 * `<prefix>.call.<module>.<operation>`), pings (`<prefix>.ping.<module>`),
 * and the event stream on JetStream (`<prefix>.events.>`, ADR 12).
 * Each module's subscriptions form a queue group, so instances of a module
 * share its load. A message without the deployment's token is refused and logged.
 */
export class NatsTransport implements Transport {
  private readonly logger = new Logger('transport.nats');

  private constructor(
    private readonly connection: NatsConnection,
    private readonly prefix: string,
    private readonly token: Buffer,
  ) {}

  static async connect(options: { url: string; prefix: string; token: string; name: string }): Promise<NatsTransport> {
    let connection: NatsConnection;
    try {
      connection = await connect({
        servers: options.url,
        name: options.name,
        // Keep trying for ever once connected: a NATS restart must not end the process.
        maxReconnectAttempts: -1,
        reconnectTimeWait: 500,
        timeout: 5_000,
      });
    } catch (error) {
      throw new ConfigurationError(`cannot reach NATS at ${options.url} (TRANSPORT=nats): ${(error as Error).message}`);
    }
    const transport = new NatsTransport(connection, options.prefix, Buffer.from(options.token));
    void transport.watch();
    return transport;
  }

  serveModule(module: string, handler: CallHandler): void {
    this.subscribe(`${this.prefix}.call.${module}.*`, `${this.prefix}.${module}`, (subject, input) =>
      handler(subject.slice(`${this.prefix}.call.${module}.`.length), input),
    );
    this.subscribe(`${this.prefix}.ping.${module}`, `${this.prefix}.${module}`, async () => ({ ok: true, result: null }));
  }

  async call(module: string, operation: string, input: unknown, timeoutMs: number): Promise<CallReply> {
    return (await this.request(`${this.prefix}.call.${module}.${operation}`, input, timeoutMs)) as CallReply;
  }

  openEventStream(options: EventStreamOptions): Promise<EventStream> {
    return JetStreamEventStream.open(this.connection, { ...options, prefix: this.prefix, token: this.token.toString() });
  }

  async ping(module: string, timeoutMs: number): Promise<boolean> {
    try {
      await this.request(`${this.prefix}.ping.${module}`, null, timeoutMs);
      return true;
    } catch {
      return false;
    }
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
    const headers = natsHeaders();
    headers.set(TOKEN_HEADER, this.token.toString());
    // The trace goes with the message, so the other process continues it.
    for (const [name, value] of Object.entries(currentTraceHeaders())) headers.set(name, value);
    let reply: Msg;
    try {
      reply = await this.connection.request(subject, JSON.stringify(payload ?? null), { timeout: timeoutMs, headers });
    } catch (error) {
      const text = (error as Error).message ?? String(error);
      const noResponders = /no responders/i.test(text);
      throw new TransportError(
        noResponders ? `nobody serves ${subject}` : `${subject}: ${text}`,
        // With no responders the message reached nobody; otherwise it may have been handled.
        !noResponders,
      );
    }
    const body = reply.string();
    if (body === REFUSED) throw new TransportError(`${subject} ${REFUSED}: check SERVICE_TOKEN of both processes`, false);
    return JSON.parse(body);
  }

  private subscribe(subject: string, queue: string, answer: (subject: string, input: unknown) => Promise<unknown>): void {
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
        const parent = contextFrom({ traceparent: message.headers?.get('traceparent'), tracestate: message.headers?.get('tracestate') });
        inSpan(
          `nats handle ${message.subject}`,
          { kind: SpanKind.SERVER, parent, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': message.subject } },
          async () => {
            const started = performance.now();
            const input = decode(message);
            const result = await answer(message.subject, input);
            // One line per handled message, inside its span: it carries the trace id.
            this.logger.log({
              msg: 'handled message',
              subject: message.subject,
              ok: (result as { ok?: boolean }).ok !== false,
              durationMs: Math.round((performance.now() - started) * 100) / 100,
              ...orderIdOf(input),
            });
            return result;
          },
        ).then(
          (result) => message.respond(JSON.stringify(result)),
          (failure: unknown) => {
            this.logger.error(`handling ${message.subject} failed: ${(failure as Error)?.stack ?? failure}`);
            message.respond(JSON.stringify({ ok: false, error: { code: 'INTERNAL', message: 'internal error', module: '' } }));
          },
        );
      },
    });
  }

  private authenticated(headers: MsgHdrs | undefined): boolean {
    const given = Buffer.from(headers?.get(TOKEN_HEADER) ?? '');
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }

  private async watch(): Promise<void> {
    for await (const status of this.connection.status()) {
      if (status.type === 'disconnect' || status.type === 'reconnect') this.logger.warn(`NATS ${status.type}`);
    }
  }
}

function decode(message: Msg): unknown {
  const text = message.string();
  return text.length === 0 ? null : JSON.parse(text);
}


/** The order a message is about, when it says (`orderId` of a call's input or of an event's payload). */
function orderIdOf(value: unknown): { orderId?: string } {
  const candidate = value as { orderId?: unknown; payload?: { orderId?: unknown } } | null | undefined;
  const orderId = candidate?.orderId ?? candidate?.payload?.orderId;
  return typeof orderId === 'string' ? { orderId } : {};
}
