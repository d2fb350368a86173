import { type AppConfig, isDistributed, natsAuthenticates } from '../config/app-config.js';
import { ConfigurationError } from '../config/configuration.error.js';
import { NatsTransport } from '../transport/nats-transport.js';
import type { Transport } from '../transport/transport.js';

/** A transport when some module lives in another process; none (no NATS needed) for the monolith. */
export async function openTransport(config: AppConfig): Promise<Transport | undefined> {
  if (!isDistributed(config)) return undefined;
  if (!config.serviceToken && !natsAuthenticates(config)) {
    throw new ConfigurationError(
      'SERVICE_TOKEN: required when modules run in several processes (MODULES names fewer than all) and NATS does not authenticate them (NATS_USER or NATS_CREDS); use the same secret in every process',
    );
  }
  return NatsTransport.connect({
    url: config.natsUrl,
    prefix: config.natsSubjectPrefix,
    token: config.serviceToken,
    name: `monolith-first[${config.hostedModules.join(',') || 'gateway'}]`,
    credentials: config.natsCredentials,
    startupWaitMs: config.natsStartupWaitMs,
  });
}
