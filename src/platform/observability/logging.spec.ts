import { jest } from '@jest/globals';
import { bounded, RepeatedLines, repeatKey, truncate } from './logging.js';
import { parseEnvelope } from '../transport/jetstream-event-stream.js';

describe('log lines stay bounded', () => {
  it('cuts long strings and says how much was cut', () => {
    const line = bounded({ field: 'x'.repeat(900_000), nested: { list: new Array(500).fill('y') } }) as Record<string, any>;
    expect(line.field.length).toBeLessThan(2_100);
    expect(line.field).toMatch(/… \(898000 more characters\)$/);
    expect(line.nested.list).toHaveLength(51);
    expect(truncate('short')).toBe('short');
  });

  it('writes a repeated warning once, then one line with the count', () => {
    jest.useFakeTimers();
    try {
      const written: Array<number | undefined> = [];
      const lines = new RepeatedLines(5_000);
      const key = (n: number) => repeatKey('warn', 'orders.remote', `inventory.getPrices: nobody serves mf.call.inventory.getPrices (attempt ${n})`);
      for (let n = 0; n < 2_500; n++) lines.offer(key(n), (repeated) => written.push(repeated));
      expect(written).toEqual([undefined]);
      jest.advanceTimersByTime(5_000);
      expect(written).toEqual([undefined, 2_499]);
      lines.offer(key(1), (repeated) => written.push(repeated));
      expect(written).toEqual([undefined, 2_499, undefined]);
    } finally {
      jest.useRealTimers();
    }
  });
});

describe('stream envelopes', () => {
  const envelope = { id: 'e1', name: 'orders.OrderPlaced', version: 1, publisher: 'orders', aggregateId: 'a', occurredAt: 't', payload: {}, headers: {} };
  const bytes = (text: string) => new TextEncoder().encode(text);

  it('takes a well-formed one, and refuses non-JSON and reserved property names anywhere', () => {
    expect(parseEnvelope(bytes(JSON.stringify(envelope)))).toEqual(envelope);
    expect(parseEnvelope(bytes('not json'))).toBeUndefined();
    expect(parseEnvelope(bytes(JSON.stringify(envelope).replace('"payload":{}', '"payload":{"__proto__":{"x":1}}')))).toBeUndefined();
    expect(parseEnvelope(bytes(JSON.stringify(envelope).replace('"headers":{}', '"headers":{"constructor":1}')))).toBeUndefined();
  });
});
