import { RecentKeys } from './recent-keys.js';

describe('RecentKeys', () => {
  it('keeps the last keys up to its capacity, forgetting the least recently added first', () => {
    const keys = new RecentKeys(3);
    for (const key of ['a', 'b', 'c']) keys.add(key);
    keys.add('a'); // seen again: now the youngest
    keys.add('d');
    expect(['a', 'b', 'c', 'd'].filter((key) => keys.has(key))).toEqual(['a', 'c', 'd']);
    for (let i = 0; i < 10_000; i++) keys.add(`k${i}`);
    expect(keys.size).toBe(3);
  });

  it('refuses a capacity below one', () => {
    expect(() => new RecentKeys(0)).toThrow('capacity must be at least 1');
  });
});
