import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { CommandHandler, type ICommandHandler, MODULE_DATA_SOURCE, TransactionRunner, validateInput } from '../../../../platform/index.js';
import { CarrierEvent } from '../../contract/carrier-event.js';
import { ReceiveCarrierEventCommand } from '../../contract/receive-carrier-event.command.js';
import { ShipmentDelivered, ShipmentReturned } from '../../contract/shipment-events.js';
import { carrierEventInvalid, carrierSignatureRefused, carrierWebhookNotConfigured, shipmentNotFound } from '../shipping.errors.js';
import { CARRIER_WEBHOOK_SETTINGS, type CarrierWebhookSettings } from './carrier-webhook.settings.js';
import { verifyCarrierSignature } from './carrier-signature.js';

/**
 * The carrier's outcome, taken only by a SCHEDULED shipment: a repeat finds it
 * DELIVERED or RETURNED already, a cancelled one stays CANCELLED, and either way
 * nothing changes and nothing is published. Concurrent deliveries of one event
 * queue on the row; the first changes it, the others then find it changed.
 */
const SETTLE = `
  UPDATE shipping.shipments SET status = $2, carrier_event_at = $3, updated_at = now()
   WHERE id = $1 AND status = 'SCHEDULED'
  RETURNING id, order_id, status, carrier_event_at`;

interface SettledRow {
  readonly id: string;
  readonly order_id: string;
  readonly status: 'DELIVERED' | 'RETURNED';
  readonly carrier_event_at: Date;
}

@Injectable()
@CommandHandler(ReceiveCarrierEventCommand)
export class ReceiveCarrierEventHandler implements ICommandHandler<ReceiveCarrierEventCommand, void> {
  constructor(
    private readonly transactions: TransactionRunner,
    @Inject(MODULE_DATA_SOURCE) private readonly db: DataSource,
    @Inject(CARRIER_WEBHOOK_SETTINGS) private readonly settings: CarrierWebhookSettings,
  ) {}

  async execute(command: ReceiveCarrierEventCommand): Promise<void> {
    const { secret } = this.settings;
    if (secret === undefined) throw carrierWebhookNotConfigured();
    const body = Buffer.from(command.body, 'base64');
    // Nothing of the body is read before its signature holds.
    const verdict = verifyCarrierSignature(command.signature, body, secret, Math.floor(Date.now() / 1000));
    if (!verdict.ok) throw carrierSignatureRefused(verdict.reason);
    const event = await readCarrierEvent(body);
    const at = new Date(event.at).toISOString();
    const [settled] = await this.transactions.statement<SettledRow>('settle-shipment', SETTLE, [event.shipmentId, event.event, at], {
      types: [ShipmentDelivered, ShipmentReturned],
      of: (rows) =>
        rows.map((row) => (row.status === 'DELIVERED' ? new ShipmentDelivered(row.order_id, row.id, at) : new ShipmentReturned(row.order_id, row.id, at))),
    });
    if (settled) return;
    // Nothing changed: a repeat, a shipment no longer SCHEDULED (both 204), or no such shipment (404).
    const [found]: unknown[] = await this.db.query(`SELECT 1 FROM shipping.shipments WHERE id = $1 AND status <> 'VOIDED'`, [event.shipmentId]);
    if (!found) throw shipmentNotFound(event.shipmentId);
  }
}

/** The verified body as a carrier event, or INVALID naming what is wrong with it. */
async function readCarrierEvent(body: Buffer): Promise<CarrierEvent> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw carrierEventInvalid([{ field: '', message: 'must be a JSON object' }]);
  }
  const checked = await validateInput(CarrierEvent, parsed);
  if (!checked.ok) throw carrierEventInvalid(checked.errors);
  return checked.value;
}
