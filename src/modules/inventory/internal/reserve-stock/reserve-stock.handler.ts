import { Inject, Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import { CommandHandler, type ICommandHandler, MODULE_DATA_SOURCE, TransactionRunner } from '../../../../platform/index.js';
import type { ReservationView } from '../../contract/reservation.view.js';
import { ReserveStockCommand } from '../../contract/reserve-stock.command.js';
import { RESERVATION_COLUMNS, type ReservationRow, rowToReservationView } from '../infrastructure/reservation.mapper.js';
import { invalidInput } from '../inventory.errors.js';
import { duplicateSkus } from './duplicate-skus.js';

/**
 * All-or-nothing, in one statement (one round trip):
 * 1. `locked`: the products of the order's skus, locked in sku order, so two
 *    reservations that share products queue on the first one they share
 *    instead of deadlocking. Under READ COMMITTED a row lock answers the row's
 *    latest committed version, not the statement's snapshot: what is checked
 *    is the stock as it is, and it cannot change until this commits;
 * 2. `verdict`: the skus short of stock (or unknown);
 * 3. `claimed`: the order's record, RESERVED or REJECTED, unless the order
 *    already has one (a retry, or a release that came first and left a
 *    tombstone): then nothing at all changes;
 * 4. `moved`: the reserved counts, only if this statement reserved.
 * The products' CHECK (0 <= reserved <= on_hand) is only the last line of defence.
 */
const RESERVE = `
  WITH wanted AS (
    SELECT sku, quantity FROM unnest($2::text[], $3::int[]) AS w (sku, quantity)
  ), locked AS (
    SELECT sku, on_hand, reserved FROM inventory.products WHERE sku = ANY($2::text[]) ORDER BY sku FOR UPDATE
  ), verdict AS (
    SELECT coalesce(jsonb_agg(w.sku) FILTER (WHERE l.sku IS NULL OR l.on_hand - l.reserved < w.quantity), '[]'::jsonb)
           AS shortages
      FROM wanted w LEFT JOIN locked l ON l.sku = w.sku
  ), claimed AS (
    INSERT INTO inventory.reservations (order_id, status, lines, shortages)
    SELECT $1,
           CASE WHEN v.shortages = '[]'::jsonb THEN 'RESERVED' ELSE 'REJECTED' END,
           CASE WHEN v.shortages = '[]'::jsonb THEN $4::jsonb ELSE '[]'::jsonb END,
           v.shortages
      FROM verdict v
    ON CONFLICT (order_id) DO NOTHING
    RETURNING ${RESERVATION_COLUMNS}
  ), moved AS (
    UPDATE inventory.products p SET reserved = p.reserved + w.quantity, updated_at = now()
      FROM wanted w
     WHERE p.sku = w.sku AND EXISTS (SELECT 1 FROM claimed WHERE status = 'RESERVED')
  )
  SELECT ${RESERVATION_COLUMNS} FROM claimed`;

@Injectable()
@CommandHandler(ReserveStockCommand)
export class ReserveStockHandler implements ICommandHandler<ReserveStockCommand, ReservationView> {
  constructor(
    private readonly transactions: TransactionRunner,
    @Inject(MODULE_DATA_SOURCE) private readonly db: DataSource,
  ) {}

  async execute(command: ReserveStockCommand): Promise<ReservationView> {
    const duplicates = duplicateSkus(command.lines);
    if (duplicates.length > 0) throw invalidInput(duplicates);
    const lines = command.lines.map(({ sku, quantity }) => ({ sku, quantity }));
    const [claimed] = await this.transactions.statement<ReservationRow>('reserve-stock', RESERVE, [
      command.orderId,
      lines.map((line) => line.sku),
      lines.map((line) => line.quantity),
      JSON.stringify(lines),
    ]);
    if (claimed) return rowToReservationView(claimed);
    // The order already had a record: a retry, or a call that arrived after its compensation.
    // ON CONFLICT waited for that record's writer to commit, and records are never deleted,
    // so this new statement sees it.
    const [existing]: ReservationRow[] = await this.db.query(`SELECT ${RESERVATION_COLUMNS} FROM inventory.reservations WHERE order_id = $1`, [
      command.orderId,
    ]);
    return rowToReservationView(existing);
  }
}
