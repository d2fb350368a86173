import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a signature's `t` may be from now, either way: a captured request cannot be replayed later than this. */
export const SIGNATURE_TOLERANCE_SECONDS = 300;

export type SignatureVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

const TIMESTAMP = /^\d{1,12}$/;
const HEX_SHA256 = /^[0-9a-f]{64}$/i;

/**
 * Checks a `Carrier-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`
 * header against the body's bytes as received, the way carriers sign webhooks. Several
 * v1 may be given (a carrier signs with its old and new secret while it rolls them):
 * one matching is enough. Each comparison takes the same time whatever the bytes
 * (timingSafeEqual), so a forger learns nothing from how long a refusal takes.
 */
export function verifyCarrierSignature(header: string, body: Buffer, secret: string, nowSeconds: number): SignatureVerdict {
  if (header.trim() === '') return { ok: false, reason: 'missing Carrier-Signature header' };
  const parsed = parseHeader(header);
  if (!parsed) return { ok: false, reason: 'malformed Carrier-Signature header (expected t=<unix seconds>,v1=<hex HMAC-SHA256>)' };
  const expected = createHmac('sha256', secret).update(`${parsed.t}.`).update(body).digest();
  if (!parsed.v1.some((signature) => timingSafeEqual(Buffer.from(signature, 'hex'), expected))) {
    return { ok: false, reason: 'no v1 signature matches the body' };
  }
  if (Math.abs(nowSeconds - parsed.t) > SIGNATURE_TOLERANCE_SECONDS) {
    return { ok: false, reason: `the signature's timestamp is more than ${SIGNATURE_TOLERANCE_SECONDS} s from now` };
  }
  return { ok: true };
}

/** `t` once, `v1` at least once (each 32 bytes of hex); other schemes (v0, ...) are ignored, as carriers document. */
function parseHeader(header: string): { t: number; v1: string[] } | undefined {
  const times: string[] = [];
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const equals = part.indexOf('=');
    if (equals < 0) return undefined;
    const [key, value] = [part.slice(0, equals).trim(), part.slice(equals + 1).trim()];
    if (key === 't') times.push(value);
    if (key === 'v1') v1.push(value);
  }
  if (times.length !== 1 || !TIMESTAMP.test(times[0]) || v1.length === 0 || !v1.every((signature) => HEX_SHA256.test(signature))) return undefined;
  return { t: Number(times[0]), v1 };
}
