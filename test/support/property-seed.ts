/**
 * The seed of a property test: PROPERTY_SEED when given (a replay); in CI a fixed one, so that a
 * landing is judged on the same schedules every time (a soak or a developer's run searches further:
 * outside CI each run draws a new seed, and prints it).
 */
export function propertySeed(): number {
  if (process.env.PROPERTY_SEED !== undefined) return Number(process.env.PROPERTY_SEED);
  if (process.env.CI === 'true') return 20261207;
  return Math.floor(Math.random() * 2 ** 31);
}
