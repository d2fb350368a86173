import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { ModuleTransactions } from '../../../../platform/messaging/module-transactions.js';
import type { ReservationView } from '../../contract/reservation.view.js';
import type { ReserveStockCommand } from '../../contract/reserve-stock.command.js';
import { lockStock, shiftReserved, type StockChange } from '../infrastructure/product-stock.store.js';
import { RESERVATION_COLUMNS, type ReservationRow, rowToReservationView } from '../infrastructure/reservation.mapper.js';
import { invalidInput } from '../inventory.errors.js';
import { duplicateSkus } from './duplicate-skus.js';
import { shortages } from './shortages.js';

@Injectable()
export class ReserveStockHandler {
  constructor(private readonly transactions: ModuleTransactions) {}

  async execute(command: ReserveStockCommand): Promise<ReservationView> {
    const duplicates = duplicateSkus(command.lines);
    if (duplicates.length > 0) throw invalidInput(duplicates);
    const lines: StockChange[] = command.lines.map(({ sku, quantity }) => ({ sku, quantity }));
    return this.transactions.run(async ({ manager }): Promise<ReservationView> => {
      const claimed = await claim(manager, command.orderId, lines);
      // The order already has a record (reserved, rejected, or released before it
      // was ever reserved): a retry, or a call that arrived after its compensation.
      if (!claimed) return existing(manager, command.orderId);
      const stock = await lockStock(manager, lines.map((line) => line.sku));
      const short = shortages(lines, stock);
      if (short.length > 0) return reject(manager, command.orderId, short);
      await shiftReserved(manager, lines, 1);
      return { orderId: command.orderId, status: 'RESERVED', lines, shortages: [] };
    });
  }
}

/**
 * Inserts the order's record, provisionally RESERVED (nobody sees it before
 * commit), first of all: a concurrent call for the same order blocks on the
 * primary key until this transaction ends, then finds the record, so only one
 * of them ever touches the stock. False when the order already had a record.
 */
async function claim(manager: EntityManager, orderId: string, lines: readonly StockChange[]): Promise<boolean> {
  const inserted: unknown[] = await manager.query(
    `INSERT INTO inventory.reservations (order_id, status, lines)
     VALUES ($1, 'RESERVED', $2::jsonb)
     ON CONFLICT (order_id) DO NOTHING
     RETURNING order_id`,
    [orderId, JSON.stringify(lines)],
  );
  return inserted.length === 1;
}

async function existing(manager: EntityManager, orderId: string): Promise<ReservationView> {
  // Records are never deleted, and ON CONFLICT waited for the other insert to
  // commit, so this new statement sees it.
  const [row]: ReservationRow[] = await manager.query(
    `SELECT ${RESERVATION_COLUMNS} FROM inventory.reservations WHERE order_id = $1`,
    [orderId],
  );
  return rowToReservationView(row);
}

/** All-or-nothing: one short line and nothing is reserved; the record says which skus were short. */
async function reject(manager: EntityManager, orderId: string, short: readonly string[]): Promise<ReservationView> {
  await manager.query(
    `UPDATE inventory.reservations
     SET status = 'REJECTED', lines = '[]'::jsonb, shortages = $2::jsonb, updated_at = now()
     WHERE order_id = $1`,
    [orderId, JSON.stringify(short)],
  );
  return { orderId, status: 'REJECTED', lines: [], shortages: [...short] };
}
