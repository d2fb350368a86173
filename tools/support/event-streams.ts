import { connect } from '@nats-io/transport-node';
import { JetStreamApiError, jetstreamManager } from '@nats-io/jetstream';

/**
 * Deletes the event stream (and with it its consumers) of a deployment that
 * used NATS subject prefix `prefix`: tests and `npm run compare` each use a
 * prefix of their own, and leave nothing behind on the NATS server.
 */
export async function deleteEventStream(natsUrl: string, prefix: string): Promise<void> {
  const connection = await connect({ servers: natsUrl, timeout: 2_000 });
  try {
    const jsm = await jetstreamManager(connection);
    await jsm.streams.delete(`${prefix}-events`).catch((error: unknown) => {
      // Never created: that deployment published nothing and subscribed to nothing.
      if (!(error instanceof JetStreamApiError && error.code === 10059)) throw error;
    });
  } finally {
    await connection.close();
  }
}
