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
