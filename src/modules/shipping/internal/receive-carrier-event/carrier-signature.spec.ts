import { createHmac } from 'node:crypto';
import { verifyCarrierSignature } from './carrier-signature.js';

const SECRET = 'whsec_unit';
const NOW = 1_765_200_000;
const body = Buffer.from('{"shipmentId":"x","event":"DELIVERED","at":"2025-12-08T10:15:00Z"}');
const hmac = (t: number, bytes: Buffer, secret = SECRET) =>
  createHmac('sha256', secret)
    .update(Buffer.concat([Buffer.from(`${t}.`), bytes]))
    .digest('hex');

describe('verifyCarrierSignature', () => {
  it('accepts a signature of the exact bytes within 5 minutes either side of now', () => {
    for (const t of [NOW, NOW - 300, NOW + 300]) expect(verifyCarrierSignature(`t=${t},v1=${hmac(t, body)}`, body, SECRET, NOW)).toEqual({ ok: true });
  });

  it('accepts any of several v1 (a carrier rolling its secret signs with both), in any order, with spaces', () => {
    expect(verifyCarrierSignature(`v1=${hmac(NOW, body, 'old')}, t=${NOW}, v1=${hmac(NOW, body)}`, body, SECRET, NOW)).toEqual({ ok: true });
  });

  it('signs bytes, not text: a body that is not UTF-8 verifies as sent', () => {
    const latin1 = Buffer.from([0x7b, 0x22, 0xe9, 0x22, 0x7d]);
    expect(verifyCarrierSignature(`t=${NOW},v1=${hmac(NOW, latin1)}`, latin1, SECRET, NOW)).toEqual({ ok: true });
    expect(verifyCarrierSignature(`t=${NOW},v1=${hmac(NOW, latin1)}`, Buffer.from(latin1.toString('utf8')), SECRET, NOW).ok).toBe(false);
  });

  it.each([
    ['no header', '', 'missing Carrier-Signature'],
    ['a stale timestamp', `t=${NOW - 301},v1=${hmac(NOW - 301, body)}`, 'more than 300 s from now'],
    ['a timestamp ahead', `t=${NOW + 301},v1=${hmac(NOW + 301, body)}`, 'more than 300 s from now'],
    ['another secret', `t=${NOW},v1=${hmac(NOW, body, 'other')}`, 'no v1 signature matches'],
    ['another timestamp than signed', `t=${NOW + 1},v1=${hmac(NOW, body)}`, 'no v1 signature matches'],
    ['no t', `v1=${hmac(NOW, body)}`, 'malformed'],
    ['two t', `t=${NOW},t=${NOW},v1=${hmac(NOW, body)}`, 'malformed'],
    ['a t that is no number', `t=now,v1=${hmac(NOW, body)}`, 'malformed'],
    ['no v1', `t=${NOW}`, 'malformed'],
    ['a v1 of the wrong length', `t=${NOW},v1=${hmac(NOW, body).slice(2)}`, 'malformed'],
    ['a v1 that is not hex', `t=${NOW},v1=${'g'.repeat(64)}`, 'malformed'],
    ['garbage', 'garbage', 'malformed'],
  ])('refuses %s', (_case, header, reason) => {
    const verdict = verifyCarrierSignature(header, body, SECRET, NOW);
    expect(verdict.ok).toBe(false);
    expect(verdict.ok ? '' : verdict.reason).toContain(reason);
  });
});
