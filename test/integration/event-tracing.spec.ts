import { fileURLToPath } from 'node:url';
import { context, propagation, trace } from '@opentelemetry/api';
import type { ContractClient } from '../../src/platform/contracts/contract.js';
import { inSpan, startTracing, type Tracing } from '../../src/platform/observability/tracing.js';
import { LedgerContract } from '../fixtures/messaging/src/modules/ledger/ledger.contract.js';
import { eventually } from '../support/eventually.js';
import { OtlpReceiver, type ReceivedSpan } from '../support/otlp-receiver.js';
import { startTestStore, type TestStore } from '../support/test-store.js';

const FIXTURE_MODULES = fileURLToPath(new URL('../fixtures/messaging/src/modules/', import.meta.url));

/*
 * An event's trace, through the outbox: the publication, the relay's delivery and the
 * subscriber's handling are one trace with the command that published it, although
 * the delivery runs later, from a row. (The store's own modules subscribe to nothing,
 * so the checkout trace test cannot show this; the messaging fixture can.)
 * Tracing is process-wide: jest runs each test file in a context of its own.
 */
describe('event tracing through the outbox (real Postgres, OTLP on loopback)', () => {
  const receiver = new OtlpReceiver();
  let tracing: Tracing;
  let store: TestStore;

  beforeAll(async () => {
    const endpoint = await receiver.start();
    tracing = startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }, 'event-tracing-test');
    store = await startTestStore({}, { modulesRoot: FIXTURE_MODULES });
  });

  afterAll(async () => {
    await store?.close();
    await tracing?.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
    await receiver.stop();
  });

  it('joins publish, deliver and handle to the trace of the command that published', async () => {
    const ledger: ContractClient<typeof LedgerContract> = store.application.app.get(LedgerContract.client, { strict: false });
    const traceId = await inSpan('test request', {}, async (span) => {
      await ledger.recordEntry({ accountId: 'acc-traced', amount: 7 });
      return span.spanContext().traceId;
    });

    const spans = await eventually(
      async () => {
        await tracing.shutdown(); // flushes what has ended so far
        const found = receiver.trace(traceId);
        expect(found.map((span) => span.name)).toEqual(expect.arrayContaining(['ledger.EntryRecorded handle']));
        return found;
      },
      10_000,
      100,
    );

    const byName = (name: string): ReceivedSpan => {
      const span = spans.find((candidate) => candidate.name === name);
      if (!span) throw new Error(`no span '${name}' in ${spans.map((s) => s.name).join(', ')}`);
      return span;
    };
    const root = byName('test request');
    const publish = byName('ledger.EntryRecorded publish');
    const deliver = byName('ledger.EntryRecorded deliver');
    const handle = byName('ledger.EntryRecorded handle');
    const ids = new Map(spans.map((span) => [span.spanId, span] as const));
    const ancestry = (span: ReceivedSpan): string[] => {
      const names: string[] = [];
      for (let parent = ids.get(span.parentSpanId ?? ''); parent; parent = ids.get(parent.parentSpanId ?? '')) names.push(parent.name);
      return names;
    };
    expect(ancestry(publish)).toContain(root.name);
    // The delivery continues the publication carried in the outbox row; the handling is inside the delivery.
    expect(deliver.parentSpanId).toBe(publish.spanId);
    expect(ancestry(handle)).toContain(deliver.name);
    expect(handle.attributes).toMatchObject({ module: 'audit', 'messaging.consumer': 'audit.on-entry-recorded' });
  });
});
