/**
 * The last `capacity` keys seen, oldest forgotten first: a memory that stays
 * bounded however many keys go by. `has` answers only what this process saw, so
 * a forgotten (or never seen) key is simply unknown: callers treat it as new.
 */
export class RecentKeys {
  private readonly keys = new Set<string>();

  constructor(private readonly capacity: number) {
    if (!(capacity >= 1)) throw new Error(`RecentKeys: capacity must be at least 1, not ${capacity}`);
  }

  add(key: string): void {
    // Seen again: it moves to the young end (a Set keeps insertion order).
    this.keys.delete(key);
    if (this.keys.size >= this.capacity) this.keys.delete(this.keys.values().next().value!);
    this.keys.add(key);
  }

  has(key: string): boolean {
    return this.keys.has(key);
  }

  get size(): number {
    return this.keys.size;
  }
}
