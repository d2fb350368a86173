import { ApiProperty, getSchemaPath } from '@nestjs/swagger';

/** One module in `GET /health`: where this process reaches it, and whether it answers. */
export class ModuleHealthView {
  @ApiProperty({ enum: ['local', 'remote'] })
  readonly location: 'local' | 'remote';

  @ApiProperty({ enum: ['up', 'down'] })
  readonly status: 'up' | 'down';
}

/** The body of `GET /health` (store-api.md, Operations), 200 or 503 alike. */
export class HealthView {
  @ApiProperty({ enum: ['ok', 'degraded'] })
  readonly status: 'ok' | 'degraded';

  @ApiProperty({ type: 'object', additionalProperties: { $ref: getSchemaPath(ModuleHealthView) }, description: 'Every module, by name.' })
  readonly modules: Record<string, ModuleHealthView>;
}

/** The body of `GET /health/ready`, 200 or 503 alike: each of this process's own needs, up or down. */
export class ReadinessView {
  @ApiProperty({ enum: ['ready', 'unready'] })
  readonly status: 'ready' | 'unready';

  @ApiProperty({
    type: 'object',
    additionalProperties: { type: 'string', enum: ['up', 'down'] },
    description: 'The database of each module this process hosts (`database:<module>`) and, where it needs NATS, `nats`.',
  })
  readonly checks: Record<string, 'up' | 'down'>;
}

/** The body of `GET /health/live`: the process answers, nothing else is checked. */
export class LivenessView {
  @ApiProperty({ enum: ['ok'] })
  readonly status: 'ok';
}
