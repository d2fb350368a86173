/** One module as `/health` reports it (store-api.md, Operations). */
export interface ModuleHealth {
  readonly location: 'local' | 'remote';
  readonly status: 'up' | 'down';
}

/** Probes whether a module answers; each binding (local, remote) supplies its own. */
export interface ModuleProbe {
  readonly location: 'local' | 'remote';
  /** Whether this process needs the module to serve what it serves. */
  readonly needed: boolean;
  isUp(): Promise<boolean>;
}

export const MODULE_PROBES = Symbol('MODULE_PROBES');
