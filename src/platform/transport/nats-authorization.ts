import { randomBytes } from 'node:crypto';
import { consumerName } from '../messaging/messaging.js';
import type { DiscoveredModule } from '../modules/module-definition.js';

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

/** The inbox prefix a user's replies come to (the platform's default for NATS_USER). */
export function inboxPrefixOf(user: string): string {
  return `_INBOX.${user}`;
}

/**
 * What a service may do on the NATS server, and nothing more (ADR 15):
 * - serve the calls and pings of its own modules (subscribe), and answer them
 *   (allow_responses: only to the reply subject of a message it received);
 * - call the modules it calls (module.json `calls`; a gateway, every module it does not host)
 *   and ping any module (health);
 * - receive replies on its own inbox prefix only, so no one else reads them;
 * - publish its own modules' events to the stream, create and read the stream's
 *   info, and create, read, pull from and acknowledge its own durable consumers.
 */
export function permissionsOf(user: NatsServiceUser, modules: readonly DiscoveredModule[], prefix: string): NatsPermissions {
  const hosted = modules.filter((m) => user.modules.includes(m.definition.name));
  const callees = user.gateway
    ? modules.map((m) => m.definition.name).filter((name) => !user.modules.includes(name))
    : [...new Set(hosted.flatMap((m) => m.manifest.calls))].filter((name) => !user.modules.includes(name)).sort();
  const stream = `${prefix}-events`;
  const publish = [...callees.map((name) => `${prefix}.call.${name}.*`), `${prefix}.ping.*`];
  const subscribe = [
    ...hosted.flatMap(({ definition: { name } }) => [`${prefix}.call.${name}.*`, `${prefix}.ping.${name}`]),
    `${inboxPrefixOf(user.user)}.>`,
  ];
  if (hosted.length > 0) {
    publish.push(
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
          `$JS.API.CONSUMER.CREATE.${stream}.${consumer}`,
          `$JS.API.CONSUMER.CREATE.${stream}.${consumer}.>`,
          `$JS.API.CONSUMER.DURABLE.CREATE.${stream}.${consumer}`,
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
  return [
    ...modules.map((m) => ({ user: m.definition.name, modules: [m.definition.name], gateway: false })),
    { user: 'gateway', modules: [], gateway: true },
  ];
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
      '        allow_responses: true',
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
