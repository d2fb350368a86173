import { Injectable } from '@nestjs/common';
import { ModuleTransactions } from '../../../../platform/messaging/module-transactions.js';
import type { CancelShipmentCommand } from '../../contract/cancel-shipment.command.js';
import type { ShipmentView } from '../../contract/shipment.view.js';
import { lockOrder } from '../infrastructure/order-lock.js';
import { ShipmentEntity } from '../infrastructure/shipment.entity.js';
import { rowToShipmentView, type ShipmentRow, toShipmentView } from '../infrastructure/shipment.mapper.js';
import { recordVoid } from '../infrastructure/voided-orders.store.js';
import { orderNotShipped } from '../shipping.errors.js';

@Injectable()
export class CancelShipmentHandler {
  constructor(private readonly transactions: ModuleTransactions) {}

  async execute(command: CancelShipmentCommand): Promise<ShipmentView> {
    const shipment = await this.transactions.run(async ({ manager }): Promise<ShipmentView | undefined> => {
      // Concurrent schedules and cancels of this order queue here.
      await lockOrder(manager, command.orderId);
      // Conditional on SCHEDULED: one transition, whatever the number of cancels.
      const result = await manager
        .createQueryBuilder()
        .update(ShipmentEntity)
        .set({ status: 'CANCELLED', updatedAt: () => 'now()' })
        .where('order_id = :orderId', { orderId: command.orderId })
        .andWhere('status = :scheduled', { scheduled: 'SCHEDULED' })
        .returning('*')
        .execute();
      const [row] = result.raw as ShipmentRow[];
      if (row) return rowToShipmentView(row);
      const existing = await manager.getRepository(ShipmentEntity).findOneBy({ orderId: command.orderId });
      if (existing) return toShipmentView(existing);
      // Never scheduled, yet cancelled: the schedule may still be on its way
      // (its caller timed out). Void the order so that it schedules nothing when it arrives.
      await recordVoid(manager, command.orderId);
      return undefined;
    });
    // Thrown after commit: thrown inside, it would roll the void back.
    if (!shipment) throw orderNotShipped(command.orderId);
    return shipment;
  }
}
