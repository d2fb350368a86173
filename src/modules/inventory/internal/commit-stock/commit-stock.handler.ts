import { Injectable } from '@nestjs/common';
import { CommandHandler, type ICommandHandler, TransactionRunner } from '../../../../platform/index.js';
import { CommitStockCommand } from '../../contract/commit-stock.command.js';
import type { ReservationView } from '../../contract/reservation.view.js';
import { lockStock, takeReserved } from '../infrastructure/product-stock.store.js';
import { lockReservation } from '../infrastructure/reservation-records.js';
import { rowToReservationView } from '../infrastructure/reservation.mapper.js';
import { reservationNotCommittable, reservationNotFound } from '../inventory.errors.js';

@Injectable()
@CommandHandler(CommitStockCommand)
export class CommitStockHandler implements ICommandHandler<CommitStockCommand, ReservationView> {
  constructor(private readonly transactions: TransactionRunner) {}

  execute(command: CommitStockCommand): Promise<ReservationView> {
    return this.transactions.run(async ({ manager }): Promise<ReservationView> => {
      // The record first, then its products in sku order, as releaseStock does: a commit and a
      // release of one order queue on the record, and neither deadlocks with reserveStock on products.
      const reservation = await lockReservation(manager, command.orderId);
      if (!reservation) throw reservationNotFound(command.orderId);
      if (reservation.status === 'COMMITTED') return rowToReservationView(reservation);
      if (reservation.status !== 'RESERVED') throw reservationNotCommittable(command.orderId, reservation.status);
      await lockStock(
        manager,
        reservation.lines.map((line) => line.sku),
      );
      await takeReserved(manager, reservation.lines);
      await manager.query(`UPDATE inventory.reservations SET status = 'COMMITTED', updated_at = now() WHERE order_id = $1`, [command.orderId]);
      return rowToReservationView({ ...reservation, status: 'COMMITTED' });
    });
  }
}
