import { posix } from 'node:path';
import { importSites } from './import-sites.js';
import type { Violation } from './violation.js';
import type { Workspace } from './workspace.js';

const CQRS = /^@nestjs\/cqrs(\/|$)/;

/**
 * Modules never reach @nestjs/cqrs themselves: the platform dispatches each
 * contract call to the handler of its input class, and a module that held a
 * CommandBus or QueryBus could execute another module's command in-process,
 * bypassing its contract (validation, copies, errors) and breaking the day
 * that module moves out.
 * What a module writes, @CommandHandler and @QueryHandler classes, comes
 * from the platform's face instead.
 */
export function busRules(workspace: Workspace): Violation[] {
  const violations: Violation[] = [];
  for (const module of workspace.modules) {
    for (const file of workspace.filesOf(module.name)) {
      if (!workspace.read(file).includes('@nestjs/cqrs')) continue;
      for (const site of importSites(workspace.source(file))) {
        if (!CQRS.test(site.specifier)) continue;
        const names = site.names === '*' ? 'the whole of' : `${site.names.join(', ')} from`;
        const face = posix.relative(posix.dirname(file), 'src/platform/index.js');
        violations.push({
          rule: 'bus-access',
          file,
          line: site.line,
          touches: `${site.specifier} ${site.names === '*' ? '*' : [...site.names].sort().join(',')}`,
          what: `imports ${names} ${site.specifier}: a module that holds a bus can reach another module's handlers without its contract`,
          fix: `call other modules through their contract client; declare your own use cases with CommandHandler/QueryHandler from '${face}'`,
        });
      }
    }
  }
  return violations;
}
