import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { CommandHandler, type ICommandHandler, MODULE_DATA_SOURCE, TransactionRunner } from '../../../../platform/index.js';
import { CancelShipmentCommand } from '../../contract/cancel-shipment.command.js';
import type { ShipmentView } from '../../contract/shipment.view.js';
import { shipmentRecordOf } from '../infrastructure/shipment-records.js';
import { rowToShipmentView, SHIPMENT_COLUMNS, type ShipmentRow } from '../infrastructure/shipment.mapper.js';
import { orderNotShipped } from '../shipping.errors.js';

/**
 * One statement, three outcomes:
 * - the order was never scheduled: its row is taken as VOIDED, so a schedule still on its
 *   way (its caller timed out and compensated) finds it and schedules nothing;
 * - SCHEDULED: cancelled, conditionally, so one transition whatever the number of cancels;
 * - anything else (already cancelled, voided): left as it is, and read after.
 */
const CANCEL = `
  INSERT INTO shipping.shipments AS s (order_id, status) VALUES ($1, 'VOIDED')
  ON CONFLICT (order_id) DO UPDATE SET status = 'CANCELLED', updated_at = now() WHERE s.status = 'SCHEDULED'
  RETURNING ${SHIPMENT_COLUMNS}`;

@Injectable()
@CommandHandler(CancelShipmentCommand)
export class CancelShipmentHandler implements ICommandHandler<CancelShipmentCommand, ShipmentView> {
  constructor(
    private readonly transactions: TransactionRunner,
    @Inject(MODULE_DATA_SOURCE) private readonly db: DataSource,
  ) {}

  async execute(command: CancelShipmentCommand): Promise<ShipmentView> {
    const [changed] = await this.transactions.statement<ShipmentRow>('cancel-shipment', CANCEL, [command.orderId]);
    const record = changed ?? (await shipmentRecordOf(this.db, command.orderId));
    // The void is committed by now: refusing does not undo it.
    if (record.status === 'VOIDED') throw orderNotShipped(command.orderId);
    return rowToShipmentView(record);
  }
}
