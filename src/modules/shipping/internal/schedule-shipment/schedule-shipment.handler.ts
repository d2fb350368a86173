import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { CommandHandler, type ICommandHandler, MODULE_DATA_SOURCE, TransactionRunner } from '../../../../platform/index.js';
import { ScheduleShipmentCommand } from '../../contract/schedule-shipment.command.js';
import type { ShipmentView } from '../../contract/shipment.view.js';
import { shipmentRecordOf } from '../infrastructure/shipment-records.js';
import { rowToShipmentView, SHIPMENT_COLUMNS, type ShipmentRow } from '../infrastructure/shipment.mapper.js';
import { countryNotServed, orderVoided } from '../shipping.errors.js';
import { isServed } from './shipping-coverage.js';

/**
 * The order's one row, unless it has one already. A concurrent schedule or cancel
 * of the same order waits here on UNIQUE (order_id) until the other commits.
 */
const SCHEDULE = `
  INSERT INTO shipping.shipments (order_id, status, address_name, address_line1, address_city, address_postal_code, address_country)
  VALUES ($1, 'SCHEDULED', $2, $3, $4, $5, $6)
  ON CONFLICT (order_id) DO NOTHING
  RETURNING ${SHIPMENT_COLUMNS}`;

@Injectable()
@CommandHandler(ScheduleShipmentCommand)
export class ScheduleShipmentHandler implements ICommandHandler<ScheduleShipmentCommand, ShipmentView> {
  constructor(
    private readonly transactions: TransactionRunner,
    @Inject(MODULE_DATA_SOURCE) private readonly db: DataSource,
  ) {}

  async execute(command: ScheduleShipmentCommand): Promise<ShipmentView> {
    const { orderId, address } = command;
    // Refused before anything is written, so a refusal never leaves a shipment to cancel.
    if (!isServed(address.country)) throw countryNotServed(address.country);
    const [inserted] = await this.transactions.statement<ShipmentRow>('schedule-shipment', SCHEDULE, [
      orderId,
      address.name,
      address.line1,
      address.city,
      address.postalCode,
      address.country,
    ]);
    // Taken: by an earlier schedule (this is a retry: the same answer), or by a cancel
    // that came first and voided the order (this schedule is a late one and schedules nothing).
    const record = inserted ?? (await shipmentRecordOf(this.db, orderId));
    if (record.status === 'VOIDED') throw orderVoided(orderId);
    return rowToShipmentView(record);
  }
}
