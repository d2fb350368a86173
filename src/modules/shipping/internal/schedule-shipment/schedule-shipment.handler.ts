import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { MODULE_DATA_SOURCE } from '../../../../platform/database/module-databases.js';
import type { ScheduleShipmentCommand } from '../../contract/schedule-shipment.command.js';
import type { ShipmentView } from '../../contract/shipment.view.js';
import { ShipmentEntity } from '../infrastructure/shipment.entity.js';
import { rowToShipmentView, type ShipmentRow, toShipmentView } from '../infrastructure/shipment.mapper.js';
import { countryNotServed } from '../shipping.errors.js';
import { isServed } from './shipping-coverage.js';

@Injectable()
export class ScheduleShipmentHandler {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  async execute(command: ScheduleShipmentCommand): Promise<ShipmentView> {
    const { orderId, address } = command;
    // Refused before anything is written, so a refusal never leaves a shipment to cancel.
    if (!isServed(address.country)) throw countryNotServed(address.country);
    // The unique order_id decides which of several concurrent schedules wins;
    // the others insert nothing and answer the winner's shipment.
    const inserted = await this.db
      .createQueryBuilder()
      .insert()
      .into(ShipmentEntity)
      .values({
        orderId,
        status: 'SCHEDULED',
        addressName: address.name,
        addressLine1: address.line1,
        addressCity: address.city,
        addressPostalCode: address.postalCode,
        addressCountry: address.country,
      })
      .orIgnore()
      .returning('*')
      .execute();
    const [row] = inserted.raw as ShipmentRow[];
    if (row) return rowToShipmentView(row);
    // Shipments are never deleted, so the conflicting row is committed and visible to this new statement.
    const existing = await this.db.getRepository(ShipmentEntity).findOneByOrFail({ orderId });
    return toShipmentView(existing);
  }
}
