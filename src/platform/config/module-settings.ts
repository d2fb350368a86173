import { parseInteger } from './app-config.js';

/**
 * Settings a module reads for itself (e.g. CHECKOUT_DEADLINE_MS), from the
 * same environment as the platform's, validated the same way: a bad value
 * stops start-up with one clear line.
 */
export class ModuleSettings {
  constructor(private readonly env: Readonly<Record<string, string | undefined>>) {}

  integer(variable: string, fallback: number, min: number, max: number): number {
    return parseInteger(this.env[variable], variable, fallback, min, max);
  }

  /**
   * A secret the module alone holds (e.g. CARRIER_WEBHOOK_SECRET), exactly as set; unset or empty
   * is undefined, for the module to say what it cannot do without it. Never logged by the platform.
   */
  secret(variable: string): string | undefined {
    const value = this.env[variable];
    return value === undefined || value === '' ? undefined : value;
  }
}
