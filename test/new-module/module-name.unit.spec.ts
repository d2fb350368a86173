import { invalidModuleName, moduleNames } from '../../tools/new-module/module-name.js';

describe('new module names', () => {
  it('spells a name for classes, files and prose', () => {
    expect(moduleNames('gift_cards')).toEqual({ name: 'gift_cards', pascal: 'GiftCards', kebab: 'gift-cards', title: 'Gift cards' });
    expect(moduleNames('loyalty')).toEqual({ name: 'loyalty', pascal: 'Loyalty', kebab: 'loyalty', title: 'Loyalty' });
  });

  it('accepts a fresh lower-case name', () => {
    expect(invalidModuleName('loyalty', ['orders'])).toBeUndefined();
    expect(invalidModuleName('gift_cards2', ['orders'])).toBeUndefined();
  });

  it.each([
    ['Loyalty', /not a module name/],
    ['gift-cards', /not a module name/],
    ['9lives', /not a module name/],
    ['', /not a module name/],
    ['a'.repeat(32), /not a module name/],
    ['public', /reserved/],
    ['pg_stats', /reserved/],
    ['gift__cards', /stray _/],
    ['loyalty_', /stray _/],
    ['orders', /exists already/],
  ])('refuses %j with one line saying why', (name, reason) => {
    const message = invalidModuleName(name, ['orders']);
    expect(message).toMatch(reason);
    expect(message).not.toContain('\n');
  });
});
