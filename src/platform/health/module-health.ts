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

/**
 * One thing this process needs to do its own work (`/health/ready`): the database of a module
 * it hosts, or its link to NATS. Never another process: a module served elsewhere being down
 * makes the routes that need it answer 503, not this process unready (store-api.md, Operations).
 */
export interface ReadinessCheck {
  readonly name: string;
  isUp(): Promise<boolean>;
}

export const READINESS_CHECKS = Symbol('READINESS_CHECKS');
