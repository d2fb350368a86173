import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiExtraModels, ApiResponse } from '@nestjs/swagger';
import type { Response } from 'express';
import { withTimeout } from '../scheduling/with-timeout.js';
import { HealthView, LivenessView, ModuleHealthView, ReadinessView } from './health.view.js';
import { MODULE_PROBES, type ModuleHealth, type ModuleProbe, READINESS_CHECKS, type ReadinessCheck } from './module-health.js';

/** How long a probe may take before its module counts as down. */
const PROBE_TIMEOUT_MS = 2000;

const answers = (check: () => Promise<boolean>) => withTimeout(check(), PROBE_TIMEOUT_MS).catch(() => false);

@Controller('health')
export class HealthController {
  constructor(
    @Inject(MODULE_PROBES) private readonly probes: ReadonlyMap<string, ModuleProbe>,
    @Inject(READINESS_CHECKS) private readonly readiness: readonly ReadinessCheck[],
  ) {}

  /** Every module this process needs, wherever it runs: for people and dashboards, not for an orchestrator's probes. */
  @Get()
  @ApiExtraModels(ModuleHealthView)
  @ApiResponse({ status: 200, description: 'Every module this process needs answers.', type: HealthView })
  @ApiResponse({ status: 503, description: 'A module this process needs does not answer.', type: HealthView })
  async health(@Res() response: Response): Promise<void> {
    const entries = await Promise.all(
      [...this.probes].map(async ([name, probe]) => {
        const up = await answers(() => probe.isUp());
        return [name, probe, { location: probe.location, status: up ? 'up' : 'down' } satisfies ModuleHealth] as const;
      }),
    );
    const healthy = entries.every(([, probe, health]) => !probe.needed || health.status === 'up');
    const modules = Object.fromEntries(entries.map(([name, , health]) => [name, health]));
    response.status(healthy ? 200 : 503).json({ status: healthy ? 'ok' : 'degraded', modules });
  }

  /**
   * Liveness: answering is the check (the event loop turns). Nothing else is asked, so that an
   * outage of a database or of NATS never gets a process restarted: it would come back no better.
   */
  @Get('live')
  @ApiResponse({ status: 200, description: 'The process runs and its event loop answers.', type: LivenessView })
  live(): LivenessView {
    return { status: 'ok' };
  }

  /** Readiness: whether this process can do its own work now (its modules' databases, NATS where it needs it). */
  @Get('ready')
  @ApiResponse({ status: 200, description: 'This process can do its own work.', type: ReadinessView })
  @ApiResponse({ status: 503, description: 'A database of a module it hosts, or NATS where it needs it, does not answer.', type: ReadinessView })
  async ready(@Res() response: Response): Promise<void> {
    const results = await Promise.all(this.readiness.map(async (check) => [check.name, (await answers(() => check.isUp())) ? 'up' : 'down'] as const));
    const ready = results.every(([, status]) => status === 'up');
    response.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'unready', checks: Object.fromEntries(results) } satisfies ReadinessView);
  }
}
