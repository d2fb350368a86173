import { ModuleSettings } from '../../../../platform/index.js';

/** The carrier webhook's secret (CARRIER_WEBHOOK_SECRET), read by the process that hosts Shipping and by no other (ADR 28). */
export interface CarrierWebhookSettings {
  /** Undefined: the webhook is not configured, and says so (503). */
  readonly secret: string | undefined;
}

export const CARRIER_WEBHOOK_SETTINGS = Symbol('CARRIER_WEBHOOK_SETTINGS');

export function carrierWebhookSettings(settings: ModuleSettings): CarrierWebhookSettings {
  return { secret: settings.secret('CARRIER_WEBHOOK_SECRET') };
}
