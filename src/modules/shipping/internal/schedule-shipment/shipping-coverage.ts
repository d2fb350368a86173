/** Countries no carrier delivers to (store-api.md); every other alpha-2 code is served. */
const UNSERVED_COUNTRIES: ReadonlySet<string> = new Set(['AQ']);

export function isServed(country: string): boolean {
  return !UNSERVED_COUNTRIES.has(country);
}
