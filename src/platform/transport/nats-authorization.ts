import { randomBytes } from 'node:crypto';
import { consumerName } from '../messaging/messaging.js';
import type { DiscoveredModule } from '../modules/module-definition.js';
import { inboxNamespaceOf, inboxPrefixOf } from './reply-subjects.js';

/** One NATS user: the processes that host `modules` (and serve the public API when `gateway`). */
export interface NatsServiceUser {
  readonly user: string;
  readonly password: string;
  readonly modules: readonly string[];
  readonly gateway: boolean;
}

export interface NatsPermissions {
  readonly publish: readonly string[];
  readonly subscribe: readonly string[];
}

/**
 * What a service may do on the NATS server, and nothing more (ADR 15, ADR 21):
 * - serve the calls and pings of its own modules (subscribe), and answer them into
 *   the deployment's inboxes only (publish `_INBOX.<prefix>.*.>`, no allow_responses:
 *   a request cannot aim an answer anywhere else, whatever reply subject it names);
 * - send the operations its code declares it calls, and no others: its modules'
 *   `calls`, and for a gateway every module's `httpCalls` (what the HTTP API exposes);
 *   ping any module (health); a gateway, which serves the operator console, also sends operators'
 *   requests and roll calls to any module, which each process answers for its own (ADR 40);
 * - receive replies on its own inbox prefix only, so no one else reads them;
 * - publish its own modules' events to the stream, create and read the stream's
 *   info, and create (with its own filter only), read, pull from and acknowledge
 *   its own durable consumers.
 */
export function permissionsOf(user: NatsServiceUser, modules: readonly DiscoveredModule[], prefix: string): NatsPermissions {
  const hosted = modules.filter((m) => user.modules.includes(m.definition.name));
  const needs = [...hosted.flatMap((m) => m.definition.calls ?? []), ...(user.gateway ? modules.flatMap((m) => m.definition.httpCalls ?? []) : [])];
  const operations = new Set(
    needs.filter((use) => !user.modules.includes(use.module)).flatMap((use) => use.operations.map((operation) => `${prefix}.call.${use.module}.${operation}`)),
  );
  const stream = `${prefix}-events`;
  const publish = [...[...operations].sort(), `${prefix}.ping.*`];
  // The operator console is served by gateways only: they may ask every module's process about its
  // sagas and outbox and act on them (ADR 40); a headless process may not, and answers only of its own.
  if (user.gateway) publish.push(`${prefix}.operate.*`, `${prefix}.instances.*`);
  const subscribe = [
    ...hosted.flatMap(({ definition: { name } }) => [
      `${prefix}.call.${name}.*`,
      `${prefix}.ping.${name}`,
      `${prefix}.operate.${name}`,
      `${prefix}.instances.${name}`,
    ]),
    `${inboxPrefixOf(prefix, user.user)}.>`,
  ];
  if (hosted.length > 0) {
    publish.push(
      `${inboxNamespaceOf(prefix)}.*.>`,
      ...hosted.map(({ definition: { name } }) => `${prefix}.events.${name}.>`),
      '$JS.API.INFO',
      `$JS.API.STREAM.INFO.${stream}`,
      `$JS.API.STREAM.CREATE.${stream}`,
    );
    for (const { definition } of hosted) {
      for (const subscription of definition.subscriptions ?? []) {
        const consumer = consumerName({ id: `${definition.name}.${subscription.name}`, module: definition.name, subscription }, subscription.publisher);
        publish.push(
          `$JS.API.CONSUMER.INFO.${stream}.${consumer}`,
          // Only the form that names the filter (NATS 2.9+): the server holds the request's filter to it.
          // The others (`CREATE.<stream>.<consumer>`, `DURABLE.CREATE`) would take any filter in the body.
          `$JS.API.CONSUMER.CREATE.${stream}.${consumer}.${prefix}.events.${subscription.publisher}.>`,
          `$JS.API.CONSUMER.MSG.NEXT.${stream}.${consumer}`,
          `$JS.ACK.${stream}.${consumer}.>`,
        );
      }
    }
  }
  return { publish, subscribe };
}

/** The users of a deployment by default: one per module, headless, and a gateway hosting none. */
export function defaultUsers(modules: readonly DiscoveredModule[]): Array<Omit<NatsServiceUser, 'password'>> {
  return [...modules.map((m) => ({ user: m.definition.name, modules: [m.definition.name], gateway: false })), { user: 'gateway', modules: [], gateway: true }];
}

export function generatePassword(): string {
  return randomBytes(24).toString('base64url');
}

/** The server's `authorization { users = [...] }` block for these users. */
export function authorizationConfig(users: readonly NatsServiceUser[], modules: readonly DiscoveredModule[], prefix: string): string {
  const list = (items: readonly string[]) => `[${items.map((item) => JSON.stringify(item)).join(', ')}]`;
  const blocks = users.map((user) => {
    const { publish, subscribe } = permissionsOf(user, modules, prefix);
    const hosts = user.modules.length > 0 ? user.modules.join(', ') : 'no module';
    return [
      `    # ${user.user}: hosts ${hosts}${user.gateway ? ', serves the public API' : ''}`,
      '    {',
      `      user: ${JSON.stringify(user.user)}`,
      `      password: ${JSON.stringify(user.password)}`,
      '      permissions: {',
      `        publish: { allow: ${list(publish)} }`,
      `        subscribe: { allow: ${list(subscribe)} }`,
      '      }',
      '    }',
    ].join('\n');
  });
  return [
    `# NATS authorization for the deployment with subject prefix '${prefix}' (npm run nats-auth).`,
    '# Each process connects with NATS_USER/NATS_PASSWORD of its user; nobody else connects.',
    'authorization {',
    '  users = [',
    blocks.join('\n'),
    '  ]',
    '}',
    '',
  ].join('\n');
}
