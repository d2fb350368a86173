import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiExtraModels, ApiResponse } from '@nestjs/swagger';
import type { Response } from 'express';
import { withTimeout } from '../scheduling/with-timeout.js';
import { HealthView, ModuleHealthView } from './health.view.js';
import { MODULE_PROBES, type ModuleHealth, type ModuleProbe } from './module-health.js';

/** How long a probe may take before its module counts as down. */
const PROBE_TIMEOUT_MS = 2000;

@Controller('health')
export class HealthController {
  constructor(@Inject(MODULE_PROBES) private readonly probes: ReadonlyMap<string, ModuleProbe>) {}

  @Get()
  @ApiExtraModels(ModuleHealthView)
  @ApiResponse({ status: 200, description: 'Every module this process needs answers.', type: HealthView })
  @ApiResponse({ status: 503, description: 'A module this process needs does not answer.', type: HealthView })
  async health(@Res() response: Response): Promise<void> {
    const entries = await Promise.all(
      [...this.probes].map(async ([name, probe]) => {
        const up = await withTimeout(probe.isUp(), PROBE_TIMEOUT_MS).catch(() => false);
        return [name, probe, { location: probe.location, status: up ? 'up' : 'down' } satisfies ModuleHealth] as const;
      }),
    );
    const healthy = entries.every(([, probe, health]) => !probe.needed || health.status === 'up');
    const modules = Object.fromEntries(entries.map(([name, , health]) => [name, health]));
    response.status(healthy ? 200 : 503).json({ status: healthy ? 'ok' : 'degraded', modules });
  }
}
