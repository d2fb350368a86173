/** COMMITTED: sold (commitStock), its lines taken out of onHand; it holds nothing reserved any more. */
export type ReservationStatus = 'RESERVED' | 'REJECTED' | 'RELEASED' | 'COMMITTED';

export interface ReservationView {
  readonly orderId: string;
  readonly status: ReservationStatus;
  /** What is (or was) held, or was sold when COMMITTED; empty for a REJECTED reservation and for a release that found none. */
  readonly lines: ReadonlyArray<{ readonly sku: string; readonly quantity: number }>;
  /** Skus that lacked available stock (or do not exist), when REJECTED. */
  readonly shortages: readonly string[];
}
