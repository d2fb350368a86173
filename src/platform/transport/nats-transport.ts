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
import { inboxNamespaceOf, inboxPrefixOf, isAnswerableReply } from './reply-subjects.js';
import { type ModuleResponder, type CallReply, type ProcessInstance, type Transport, TransportError } from './transport.js';

const REFUSED = 'refused: missing or wrong service token';

/** How this process proves who it is to the NATS server (ADR 15); all optional. */
export interface NatsCredentials {
  readonly user?: string;
  readonly password?: string;
  /** A `.creds` file (JWT + nkey seed), for servers in operator mode. */
  readonly credsFile?: string;
  readonly tls?: { readonly caFile?: string; readonly certFile?: string; readonly keyFile?: string };
  /**
   * Replies come to `<inboxPrefix>.<id>`: a prefix of its own lets the server keep other users out of them.
   * Default `_INBOX.<prefix>.<user>`; it must lie under `_INBOX.<prefix>`, the only replies services answer (ADR 21).
   */
  readonly inboxPrefix?: string;
}

export interface NatsTransportOptions {
  readonly url: string;
  readonly prefix: string;
  /** The shared secret every message carries; absent when NATS's own authorization separates the services. */
  readonly token: string | undefined;
  readonly name: string;
  readonly credentials?: NatsCredentials;
  /** How long a start waits for a NATS it cannot reach (NATS_STARTUP_WAIT_MS); 0 or absent: not at all. */
  readonly startupWaitMs?: number;
}

/** What NATS answers credentials it refuses: said at once, never waited out. */
const REFUSED_CREDENTIALS = /authoriz|authenticat|permissions? violation|user.*(revoked|expired)/i;

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
    // A misconfigured inbox is a configuration error, said before any connection is tried.
    const inboxPrefix = inboxPrefixFor(options.prefix, options.credentials);
    let connection: NatsConnection | undefined;
    // A process started while NATS restarts (or its link is cut) waits for it, within a bound, as it
    // waits for its database (ADR 43); a refusal of its credentials is said at once: no restart mends it.
    const waitUntil = Date.now() + (options.startupWaitMs ?? 0);
    for (let attempt = 0; connection === undefined; attempt++) {
      try {
        connection = await connect({
          servers: options.url,
          name: options.name,
          // Keep trying for ever once connected: a NATS restart must not end the process.
          maxReconnectAttempts: -1,
          reconnectTimeWait: 500,
          timeout: 5_000,
          ...connectionAuth(options.credentials),
          inboxPrefix,
        });
      } catch (error) {
        const message = (error as Error)?.message ?? String(error);
        if (REFUSED_CREDENTIALS.test(message) || Date.now() >= waitUntil) {
          throw new ConfigurationError(`cannot reach NATS at ${options.url} (TRANSPORT=nats): ${message}`);
        }
        if (attempt === 0) {
          new Logger('transport.nats').warn(
            `waiting for NATS at ${options.url} (${message}): up to ${Math.round((options.startupWaitMs ?? 0) / 1000)} s, NATS_STARTUP_WAIT_MS`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, Math.min(2_000, 200 * 2 ** attempt, Math.max(0, waitUntil - Date.now()))));
      }
    }
    const transport = new NatsTransport(connection, options.prefix, options.token === undefined ? undefined : Buffer.from(options.token));
    transport.watch().catch((error: unknown) => transport.logger.warn(`watching the NATS connection failed: ${(error as Error)?.message ?? error}`));
    return transport;
  }

  serveModule(module: string, respond: ModuleResponder): void {
    this.subscribe(`${this.prefix}.call.${module}.*`, `${this.prefix}.${module}`, module, (subject, input) =>
      respond(subject.slice(`${this.prefix}.call.${module}.`.length), input),
    );
    this.subscribe(`${this.prefix}.ping.${module}`, `${this.prefix}.${module}`, module, async () => ({ ok: true, result: null }));
  }

  serveOperations(module: string, respond: (request: unknown) => Promise<CallReply>, instance: ProcessInstance): void {
    // The module's queue group: one replica answers (they share the database).
    this.subscribe(`${this.prefix}.operate.${module}`, `${this.prefix}.${module}`, module, (_subject, input) => respond(input));
    // No queue group: every replica answers a roll call.
    this.subscribe(`${this.prefix}.instances.${module}`, undefined, module, async () => ({ ok: true, result: instance }));
  }

  async operate(module: string, request: unknown, timeoutMs: number): Promise<CallReply> {
    return (await this.request(`${this.prefix}.operate.${module}`, request, timeoutMs)) as CallReply;
  }

  async instances(module: string, waitMs: number): Promise<ProcessInstance[]> {
    if (!this.connected) return [];
    const headers = natsHeaders();
    if (this.token !== undefined) headers.set(TOKEN_HEADER, this.token.toString());
    const found: ProcessInstance[] = [];
    try {
      // Every answer that comes within waitMs counts: a replica slower than that is not listed this time.
      const replies = await this.connection.requestMany(`${this.prefix}.instances.${module}`, 'null', { maxWait: waitMs, headers });
      for await (const reply of replies) {
        const parsed = parseJson(reply.string());
        const body = parsed?.value as { ok?: boolean; result?: ProcessInstance } | undefined;
        if (body?.ok === true && body.result) found.push(body.result);
      }
    } catch {
      // No responders, or the link went: whatever answered is what there is.
    }
    return found;
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
    return inSpan(`nats request ${subject}`, { kind: SpanKind.CLIENT, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': subject } }, () =>
      this.send(subject, payload, timeoutMs),
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
        noResponders
          ? `nobody serves ${subject}`
          : permission
            ? `${subject}: not permitted by the NATS server (check this service's NATS user)`
            : `${subject}: ${text}`,
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

  private subscribe(subject: string, queue: string | undefined, module: string, answer: (subject: string, input: unknown) => Promise<unknown>): void {
    this.connection.subscribe(subject, {
      ...(queue === undefined ? {} : { queue }),
      callback: (error, message) => {
        if (error) {
          this.logger.warn(`subscription ${subject} failed: ${error.message}`);
          return;
        }
        // A throw here would escape into the NATS client's dispatch loop: whatever goes wrong is a log line.
        try {
          this.receive(message, module, answer);
        } catch (failure) {
          this.logger.error(`handling ${message.subject} failed: ${(failure as Error)?.stack ?? String(failure)}`);
        }
      },
    });
  }

  private isOperatorSubject(subject: string): boolean {
    return subject.startsWith(`${this.prefix}.operate.`) || subject.startsWith(`${this.prefix}.instances.`);
  }

  private receive(message: Msg, module: string, answer: (subject: string, input: unknown) => Promise<unknown>): void {
    // Checked first, before anything is answered: a request chooses its reply subject, so one
    // that is not an inbox of this deployment would aim our answer at whatever it names (ADR 21).
    if (!isAnswerableReply(message.reply, this.prefix)) {
      this.logger.warn(
        `refused a message on ${message.subject}: its reply subject ${JSON.stringify((message.reply ?? '').slice(0, 200))} is not under ${inboxNamespaceOf(this.prefix)}.; not handled, not answered`,
      );
      return;
    }
    if (!this.authenticated(message.headers)) {
      this.logger.warn(`refused a message on ${message.subject}: missing or wrong service token`);
      this.answer(message, module, REFUSED);
      return;
    }
    const input = decode(message);
    if (!input.ok) {
      // Bad input is the sender's problem: one warning, an INVALID answer, no stack trace.
      this.logger.warn(`refused a message on ${message.subject}: ${input.message}`);
      this.answer(
        message,
        module,
        JSON.stringify({ ok: false, error: { code: 'INVALID', message: input.message, module, ...(input.errors ? { errors: input.errors } : {}) } }),
      );
      return;
    }
    const parent = contextFrom({ traceparent: message.headers?.get('traceparent'), tracestate: message.headers?.get('tracestate') });
    inSpan(
      `nats handle ${message.subject}`,
      { kind: SpanKind.SERVER, parent, attributes: { 'messaging.system': 'nats', 'messaging.destination.name': message.subject } },
      async () => {
        const started = performance.now();
        const result = await answer(message.subject, input.value);
        // One line per handled message, inside its span: it carries the trace id. Not for an open
        // console's polling (overviews, roll calls every 2 s): its actions are logged where they are done.
        if (!this.isOperatorSubject(message.subject))
          this.logger.log({
            msg: 'handled message',
            subject: message.subject,
            ok: (result as { ok?: boolean }).ok !== false,
            durationMs: Math.round((performance.now() - started) * 100) / 100,
            ...orderIdOf(input.value),
          });
        return result;
      },
    )
      .then(
        (result) => this.answer(message, module, JSON.stringify(result)),
        (failure: unknown) => {
          this.logger.error(`handling ${message.subject} failed: ${(failure as Error)?.stack ?? String(failure)}`);
          this.answer(message, module, JSON.stringify({ ok: false, error: { code: 'INTERNAL', message: 'internal error', module } }));
        },
      )
      // answer() does not throw; this is the last guard against a rejection nobody handles, which would end the process.
      .catch((failure: unknown) => this.logger.error(`answering ${message.subject} failed: ${(failure as Error)?.message ?? failure}`));
  }

  /**
   * Sends an answer; never throws. `respond` throws at once when the answer is over the
   * server's max_payload, or when the connection is draining or closed. An answer too large
   * becomes a small UNAVAILABLE answer (the caller's 503 says why, at once, rather than
   * after its deadline); one that cannot be sent at all is a log line, and the caller's
   * deadline passes. Either way one line, and the process goes on.
   */
  private answer(message: Msg, module: string, body: string): void {
    const what = message.subject.startsWith(`${this.prefix}.call.`) ? message.subject.slice(`${this.prefix}.call.`.length) : message.subject;
    try {
      message.respond(body);
      return;
    } catch (error) {
      const size = Buffer.byteLength(body);
      const limit = this.connection.info?.max_payload;
      if (limit === undefined || size <= limit) {
        this.logger.warn(`could not send the answer of ${what}: ${(error as Error)?.message ?? error}`);
        return;
      }
      const text = `the answer of ${what} is too large to send (${size} bytes; the NATS server takes at most ${limit})`;
      this.logger.error(`could not send the answer of ${what}: ${size} bytes is too large to send (max_payload ${limit}); answered UNAVAILABLE instead`);
      try {
        message.respond(JSON.stringify({ ok: false, error: { code: 'UNAVAILABLE', message: text, module } }));
      } catch (again) {
        this.logger.warn(`could not send the error answer of ${what} either: ${(again as Error)?.message ?? again}`);
      }
    }
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

/** This process's inbox prefix: NATS_INBOX_PREFIX when set (within the deployment's inboxes), else its user's. */
function inboxPrefixFor(prefix: string, credentials: NatsCredentials | undefined): string {
  const chosen = credentials?.inboxPrefix;
  if (chosen === undefined) return inboxPrefixOf(prefix, credentials?.user);
  if (chosen !== inboxNamespaceOf(prefix) && !isAnswerableReply(chosen, prefix)) {
    throw new ConfigurationError(
      `NATS_INBOX_PREFIX: '${String(chosen)}' is not under ${inboxNamespaceOf(prefix)}, the only replies services answer (e.g. ${inboxPrefixOf(prefix, 'orders')})`,
    );
  }
  return chosen;
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
