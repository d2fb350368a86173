import { Injectable } from '@nestjs/common';
import { ModuleTransactions } from '../../../../platform/messaging/module-transactions.js';
import type { ScheduleShipmentCommand } from '../../contract/schedule-shipment.command.js';
import type { ShipmentView } from '../../contract/shipment.view.js';
import { lockOrder } from '../infrastructure/order-lock.js';
import { ShipmentEntity } from '../infrastructure/shipment.entity.js';
import { rowToShipmentView, type ShipmentRow, toShipmentView } from '../infrastructure/shipment.mapper.js';
import { isVoided } from '../infrastructure/voided-orders.store.js';
import { countryNotServed, orderVoided } from '../shipping.errors.js';
import { isServed } from './shipping-coverage.js';

@Injectable()
export class ScheduleShipmentHandler {
  constructor(private readonly transactions: ModuleTransactions) {}

  async execute(command: ScheduleShipmentCommand): Promise<ShipmentView> {
    const { orderId, address } = command;
    // Refused before anything is written, so a refusal never leaves a shipment to cancel.
    if (!isServed(address.country)) throw countryNotServed(address.country);
    return this.transactions.run(async ({ manager }) => {
      // Concurrent schedules and cancels of this order queue here; each statement
      // below then sees whatever the ones before it committed.
      await lockOrder(manager, orderId);
      const existing = await manager.getRepository(ShipmentEntity).findOneBy({ orderId });
      if (existing) return toShipmentView(existing);
      // Cancelled before it was ever scheduled: the caller has given up on this
      // order, so this schedule is a late one and must schedule nothing.
      if (await isVoided(manager, orderId)) throw orderVoided(orderId);
      // The lock makes a conflict impossible; the unique order_id would turn one into an error, never a second shipment.
      const inserted = await manager
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
        .returning('*')
        .execute();
      return rowToShipmentView((inserted.raw as ShipmentRow[])[0]);
    });
  }
}
