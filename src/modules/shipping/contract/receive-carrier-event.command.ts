import { IsBase64, IsString, MaxLength } from 'class-validator';

/**
 * The carrier's webhook as it arrived at the gateway, untouched: its
 * `Carrier-Signature` header and the body's bytes (base64, so that they cross
 * any transport exactly as signed). Shipping verifies the signature with the
 * secret only it holds (CARRIER_WEBHOOK_SECRET, ADR 28) before it reads the body,
 * then applies the event once: a repeat, or an event for a shipment that is no
 * longer SCHEDULED, changes nothing. Answers UNAUTHENTICATED for a missing, wrong
 * or stale signature, UNAVAILABLE when no secret is configured, INVALID for a body
 * that is no carrier event, NOT_FOUND for an unknown shipment.
 */
export class ReceiveCarrierEventCommand {
  /** The header's value; empty when the request had none. */
  @IsString()
  @MaxLength(1000)
  readonly signature: string;

  /** At most the 1 MiB an HTTP body may have, in base64. */
  @IsString()
  @IsBase64()
  @MaxLength(1_400_000)
  readonly body: string;
}
