import { moduleRoleName, moduleRolePassword } from './provisioning.js';

const bytes = (text: string) => Buffer.byteLength(text);

describe('moduleRoleName (one role per module and deployment, within PostgreSQL 63 bytes)', () => {
  it('is <database>.<module> while it fits', () => {
    expect(moduleRoleName('store', 'inventory')).toBe('store.inventory');
    expect(moduleRoleName('staging', 'orders')).not.toBe(moduleRoleName('production', 'orders'));
  });

  it('keeps long names within 63 bytes, distinct, ending with the module, never splitting a character', () => {
    const long = 'x'.repeat(80);
    const names = [
      moduleRoleName(long, 'orders'),
      moduleRoleName(`${long}a`, 'orders'),
      moduleRoleName(`${long}b`, 'orders'),
      moduleRoleName(long, 'notifications'),
      moduleRoleName('é'.repeat(40), 'orders'),
      moduleRoleName('é'.repeat(41), 'orders'),
      moduleRoleName('x'.repeat(63 - '.orders'.length), 'orders'),
      moduleRoleName('x'.repeat(64 - '.orders'.length), 'orders'),
      moduleRoleName('store', 'm'.repeat(70)),
      moduleRoleName('shop', 'm'.repeat(70)),
    ];
    for (const name of names) {
      expect(bytes(name)).toBeLessThanOrEqual(63);
      expect(name).not.toContain('\uFFFD');
    }
    expect(new Set(names).size).toBe(names.length);
    expect(names[0]).toMatch(/^x+~[0-9a-f]{12}\.orders$/);
    expect(names[6]).toBe(`${'x'.repeat(56)}.orders`); // exactly 63 bytes: as it is
    expect(names[4]).toMatch(/^é+~[0-9a-f]{12}\.orders$/);
  });

  it('derives a password per role, so the same secret gives two deployments different ones', () => {
    expect(moduleRolePassword('s', 'staging.orders')).not.toBe(moduleRolePassword('s', 'production.orders'));
    expect(moduleRolePassword('s', 'staging.orders')).toBe(moduleRolePassword('s', 'staging.orders'));
  });
});
