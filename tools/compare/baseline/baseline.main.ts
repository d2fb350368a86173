import 'reflect-metadata';
import { Module, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import { BaselineController } from './baseline.controller.js';
import { BaselineCheckoutService, POOL, SCHEMA } from './baseline-checkout.service.js';

/**
 * The plain-monolith BASELINE of `npm run compare` (not the store): the same
 * checkout as one NestJS controller and one database transaction, to tell
 * what the store's modularity costs before any extraction. DATABASE_URL, PORT;
 * DB_POOL_SIZE (default 10) connections.
 */
async function main(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error('DATABASE_URL is not set');
  const pool = new pg.Pool({ connectionString: url, max: Number(process.env.DB_POOL_SIZE ?? 10) });
  await pool.query(SCHEMA);

  @Module({ controllers: [BaselineController], providers: [BaselineCheckoutService, { provide: POOL, useValue: pool }] })
  class BaselineModule {}

  const app = await NestFactory.create(BaselineModule, { logger: ['error'] });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true }));
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  const stop = () => {
    app
      .close()
      .then(() => pool.end())
      .catch((error: unknown) => console.error(`baseline: stopping: ${(error as Error)?.message ?? String(error)}`))
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  console.error(`baseline: ${(error as Error)?.message ?? error}`);
  process.exit(1);
});
