import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { CommandHandler, type ICommandHandler, TransactionRunner } from '../../../../platform/index.js';
import { ReleaseStockCommand } from '../../contract/release-stock.command.js';
import type { ReservationView } from '../../contract/reservation.view.js';
import { lockStock, shiftReserved } from '../infrastructure/product-stock.store.js';
import { lockReservation } from '../infrastructure/reservation-records.js';
import { RESERVATION_COLUMNS, type ReservationRow, rowToReservationView } from '../infrastructure/reservation.mapper.js';

@Injectable()
@CommandHandler(ReleaseStockCommand)
export class ReleaseStockHandler implements ICommandHandler<ReleaseStockCommand, ReservationView> {
  constructor(private readonly transactions: TransactionRunner) {}

  execute(command: ReleaseStockCommand): Promise<ReservationView> {
    return this.transactions.run(async ({ manager }): Promise<ReservationView> => {
      const tombstone = await insertTombstone(manager, command.orderId);
      if (tombstone) return rowToReservationView(tombstone);
      // ON CONFLICT waited for the insert it conflicted with to commit: the record is there.
      const reservation = (await lockReservation(manager, command.orderId))!;
      // REJECTED held nothing, RELEASED gave it back already, COMMITTED sold it: answered as they stand.
      if (reservation.status !== 'RESERVED') return rowToReservationView(reservation);
      // Products in sku order, as reserveStock locks them, so the two never deadlock
      // on products. reserveStock never waits on this row lock: finding the order's
      // record committed, its insert does nothing, without waiting.
      await lockStock(
        manager,
        reservation.lines.map((line) => line.sku),
      );
      await shiftReserved(manager, reservation.lines, -1);
      await manager.query(`UPDATE inventory.reservations SET status = 'RELEASED', updated_at = now() WHERE order_id = $1`, [command.orderId]);
      return rowToReservationView({ ...reservation, status: 'RELEASED' });
    });
  }
}

/**
 * A release for an order Inventory never heard of (its reservation timed out
 * on the caller's side and may still be on its way) leaves a RELEASED record
 * with no lines, so that the late reservation finds it and reserves nothing.
 * Answers the tombstone, or nothing when the order already had a record.
 */
async function insertTombstone(manager: EntityManager, orderId: string): Promise<ReservationRow | undefined> {
  const [row]: ReservationRow[] = await manager.query(
    `INSERT INTO inventory.reservations (order_id, status, lines)
     VALUES ($1, 'RELEASED', '[]'::jsonb)
     ON CONFLICT (order_id) DO NOTHING
     RETURNING ${RESERVATION_COLUMNS}`,
    [orderId],
  );
  return row;
}
