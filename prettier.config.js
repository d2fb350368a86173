/**
 * Prettier, close to how the code was written by hand (ADR 41): single quotes, trailing commas,
 * and 160 columns, the width most long lines already keep, so the one mass format is small.
 * @type {import('prettier').Config}
 */
export default {
  singleQuote: true,
  printWidth: 160,
  trailingComma: 'all',
};
