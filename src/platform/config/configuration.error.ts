/**
 * A problem an operator must fix before the process can start: printed as one
 * line (never a stack trace) and the process exits with code 1.
 */
export class ConfigurationError extends Error {
  override readonly name = 'ConfigurationError';
}
