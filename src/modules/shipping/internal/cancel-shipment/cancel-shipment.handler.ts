import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { MODULE_DATA_SOURCE } from '../../../../platform/database/module-databases.js';
import type { CancelShipmentCommand } from '../../contract/cancel-shipment.command.js';
import type { ShipmentView } from '../../contract/shipment.view.js';
import { ShipmentEntity } from '../infrastructure/shipment.entity.js';
import { rowToShipmentView, type ShipmentRow, toShipmentView } from '../infrastructure/shipment.mapper.js';
import { orderNotShipped } from '../shipping.errors.js';

@Injectable()
export class CancelShipmentHandler {
  constructor(@Inject(MODULE_DATA_SOURCE) private readonly db: DataSource) {}

  async execute(command: CancelShipmentCommand): Promise<ShipmentView> {
    // Conditional on SCHEDULED in one statement, so concurrent cancels agree on one transition.
    const result = await this.db
      .createQueryBuilder()
      .update(ShipmentEntity)
      .set({ status: 'CANCELLED', updatedAt: () => 'now()' })
      .where('order_id = :orderId', { orderId: command.orderId })
      .andWhere('status = :scheduled', { scheduled: 'SCHEDULED' })
      .returning('*')
      .execute();
    const [row] = result.raw as ShipmentRow[];
    if (row) return rowToShipmentView(row);
    const shipment = await this.db.getRepository(ShipmentEntity).findOneBy({ orderId: command.orderId });
    if (!shipment) throw orderNotShipped(command.orderId);
    return toShipmentView(shipment);
  }
}
