import { type DynamicModule, Module } from '@nestjs/common';
import { Metrics } from './metrics.js';

/** Makes this application's Metrics injectable everywhere, so a module can count what matters to it. */
@Module({})
export class ObservabilityModule {
  static forRoot(metrics: Metrics): DynamicModule {
    return { module: ObservabilityModule, global: true, providers: [{ provide: Metrics, useValue: metrics }], exports: [Metrics] };
  }
}
