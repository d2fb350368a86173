import { planTopology } from '../../tools/topology/topologies.js';

/** `<topology>-replicas`: every process of the topology twice, the same variables (topology.md: another PORT each). */
describe('planTopology: -replicas', () => {
  const modules = ['inventory', 'notifications', 'orders', 'payments', 'shipping'];

  it('runs two replicas of every process, with the same variables', () => {
    expect(planTopology('monolith-replicas', modules)).toEqual([
      { name: 'monolith#1', env: { GATEWAY: 'on' } },
      { name: 'monolith#2', env: { GATEWAY: 'on' } },
    ]);
    const extracted = planTopology('inventory-extracted-replicas', modules);
    expect(extracted.map((p) => `${p.name} ${p.env.MODULES} ${p.env.GATEWAY}`)).toEqual([
      'inventory#1 inventory off',
      'inventory#2 inventory off',
      'notifications+orders+payments+shipping#1 notifications,orders,payments,shipping on',
      'notifications+orders+payments+shipping#2 notifications,orders,payments,shipping on',
    ]);
  });

  it('names the suffix in the error for an unknown topology', () => {
    expect(() => planTopology('ledger-extracted-replicas', modules)).toThrow(/unknown topology 'ledger-extracted'.*-replicas/);
  });
});
