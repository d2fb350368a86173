import { type DynamicModule, type INestApplication, Logger, type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import { APP_FILTER, APP_PIPE, NestFactory } from '@nestjs/core';
import { SwaggerModule } from '@nestjs/swagger';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { AppConfig } from '../config/app-config.js';
import { ConfigurationError } from '../config/configuration.error.js';
import { ModuleSettings } from '../config/module-settings.js';
import { ContractsModule } from '../dispatch/contracts.module.js';
import { createLocalClient } from '../dispatch/local-client.js';
import { dispatchTo, findOperationHandlers } from '../dispatch/operation-handlers.js';
import { instrumentClient } from '../observability/instrumented-client.js';
import { MODULE_DATA_SOURCE } from '../database/module-data-source.js';
import { httpLogging } from './http-logging.js';
import { ModuleDatabases } from './module-databases.js';
import { serveOperatorRequests } from './operator-binding.js';
import { ConsoleAuth } from '../console/console-auth.js';
import { ConsoleController } from '../console/console.controller.js';
import { OperatorConsole } from '../console/operator-console.js';
import { moduleProbes, readinessChecks } from './module-probes.js';
import { openTransport } from './process-transport.js';
import { EventsHealthController } from '../health/events-health.controller.js';
import { HealthController } from '../health/health.controller.js';
import { MODULE_PROBES, READINESS_CHECKS } from '../health/module-health.js';
import { ContractValidationPipe } from '../http/contract-validation.pipe.js';
import { JsonBodyMiddleware } from '../http/json-body.middleware.js';
import { createOpenApiDocument } from '../http/openapi/openapi-document.js';
import { EarlyRefusals } from '../http/early-refusals.js';
import { ProblemDetailsFilter } from '../http/problem-details.filter.js';
import { Messaging } from '../messaging/messaging.js';
import type { MessagingOptions } from '../config/messaging-options.js';
import { TransactionRunner } from '../messaging/transaction-runner.js';
import type { DiscoveredModule } from '../modules/module-definition.js';
import { httpTracing } from '../observability/http-tracing.middleware.js';
import { createRootLogger, PinoNestLogger } from '../observability/logging.js';
import { startTracing } from '../observability/tracing.js';
import { HttpMetricsMiddleware } from '../observability/http-metrics.middleware.js';
import { Metrics } from '../observability/metrics.js';
import { MetricsController } from '../observability/metrics.controller.js';
import { ObservabilityModule } from '../observability/observability.module.js';
import { DEFAULT_RESILIENCE, type ResilienceOptions } from '../transport/resilience.js';
import { bindTransport } from '../transport/transport-bindings.js';
import type { ProcessInstance } from '../transport/transport.js';

export interface StoreApplication {
  readonly app: INestApplication;
  /** Base URL of this process's HTTP server. */
  readonly url: string;
  readonly port: number;
  readonly databases: ModuleDatabases;
  readonly messaging: Messaging;
  close(): Promise<void>;
}

/** Knobs for embedding the store (tests, benchmarks); `npm start` uses the defaults. */
export interface StoreApplicationOptions {
  readonly messaging?: MessagingOptions;
  /** Node's process metrics (CPU, memory, event loop) on /metrics; default on. */
  readonly defaultMetrics?: boolean;
}

/** The composition root of a process: which modules it hosts and serves is configuration. */
@Module({})
class StoreRootModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(HttpMetricsMiddleware, JsonBodyMiddleware).forRoutes('{*path}');
  }
}

export async function startStoreApplication(
  config: AppConfig,
  modules: readonly DiscoveredModule[],
  options: StoreApplicationOptions = {},
): Promise<StoreApplication> {
  const service = `monolith-first:${config.hostedModules.join('+') || 'gateway'}`;
  const tracing = startTracing(config.env, service);
  const pinoRoot = createRootLogger(config.logLevel, service);
  const logger = new PinoNestLogger(pinoRoot);
  // Everything logged from here on, start-up included, goes through the one logger.
  Logger.overrideLogger(logger);
  const definitions = modules.map((module) => module.definition);
  const hostedModules = modules.filter((module) => config.hostedModules.includes(module.definition.name));
  const hosted = hostedModules.map((module) => module.definition);
  const transport = await openTransport(config);
  let databases: ModuleDatabases;
  try {
    databases = await ModuleDatabases.open(config, hostedModules);
  } catch (error) {
    await transport?.close();
    throw error;
  }
  let messaging: Messaging;
  try {
    // Events cross processes on the stream whenever modules do; one process keeps them in-process, without NATS.
    const stream = transport && hosted.length > 0 ? await transport.openEventStream(config.eventStream) : undefined;
    messaging = new Messaging(definitions, hosted, databases, options.messaging ?? config.messaging, stream);
  } catch (error) {
    await transport?.close();
    await databases.close();
    throw error;
  }
  const resilience: ResilienceOptions = { ...DEFAULT_RESILIENCE, callTimeoutMs: config.remoteCallTimeoutMs };
  const metrics = new Metrics({
    defaultMetrics: options.defaultMetrics ?? true,
    outboxStats: () => messaging.stats(),
    consumerStats: () => messaging.consumerStats(),
  });
  const earlyRefusals = new EarlyRefusals(metrics);
  const probes = moduleProbes(config, modules, databases, transport);
  // Which process this is, as a roll call of the console answers it (several stores share a test's pid).
  const instance: ProcessInstance = {
    instance: `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`,
    hosts: config.hostedModules,
    gateway: config.gateway,
    startedAt: new Date().toISOString(),
  };
  // The operator console: gateways only, and only with an admin token (ADR 40); otherwise /console is not routed.
  const operatorConsole =
    config.gateway && config.consoleToken
      ? new OperatorConsole({
          modules,
          hosted: config.hostedModules,
          database: (name) => databases.get(name),
          consumerStats: () => messaging.consumerStats(),
          probes,
          transport,
          metrics,
          instance,
        })
      : undefined;
  try {
    const root: DynamicModule = {
      module: StoreRootModule,
      imports: [
        httpLogging(pinoRoot),
        ObservabilityModule.forRoot(metrics),
        ContractsModule.forRoot(definitions, config.hostedModules, transport ? { transport, resilience } : undefined, metrics),
        ...hosted.map((definition): DynamicModule => ({
          module: definition.core,
          providers: [
            { provide: ModuleSettings, useValue: new ModuleSettings(config.env) },
            { provide: MODULE_DATA_SOURCE, useValue: databases.get(definition.name) },
            { provide: TransactionRunner, useValue: messaging.transactionsFor(definition.name) },
          ],
        })),
        ...(config.gateway ? definitions.flatMap((definition) => (definition.http ? [definition.http] : [])) : []),
      ],
      controllers: [HealthController, EventsHealthController, MetricsController, ...(operatorConsole ? [ConsoleController] : [])],
      providers: [
        { provide: MODULE_PROBES, useValue: probes },
        ...(operatorConsole
          ? [
              { provide: OperatorConsole, useValue: operatorConsole },
              { provide: ConsoleAuth, useValue: new ConsoleAuth(config.consoleToken!) },
            ]
          : []),
        { provide: READINESS_CHECKS, useValue: readinessChecks(config, databases, transport) },
        { provide: Messaging, useValue: messaging },
        { provide: EarlyRefusals, useValue: earlyRefusals },
        { provide: APP_FILTER, useClass: ProblemDetailsFilter },
        { provide: APP_PIPE, useClass: ContractValidationPipe },
      ],
    };
    const app = await NestFactory.create(root, { bodyParser: false, logger, abortOnError: false });
    (app.getHttpAdapter().getInstance() as { disable(setting: string): void }).disable('x-powered-by');
    // First: a route refusing at capacity answers before any other work, tracing and express included (ADR 16, 24).
    earlyRefusals.attach(app.getHttpServer() as Server);
    app.use(httpTracing);
    if (config.gateway) {
      // The OpenAPI document, generated from the same DTOs that validate requests (nest build's swagger plugin).
      const document = createOpenApiDocument(app);
      SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs/openapi.json' });
    }
    await app.init();
    messaging.bindLocalSubscribers((type) => app.get(type, { strict: false }));
    if (transport) {
      bindTransport({
        transport,
        definitions,
        hosted: config.hostedModules,
        // Calls that arrive over the transport are parsed from JSON and answered as JSON: no copy on top.
        clientOf: (definition) =>
          instrumentClient(
            definition.contract,
            createLocalClient(definition.contract, dispatchTo(findOperationHandlers(definition), app), { copy: false }),
            'local',
            metrics,
          ),
      });
      serveOperatorRequests({
        transport,
        hosted: config.hostedModules,
        database: (name) => databases.get(name),
        consumerStats: () => messaging.consumerStats(),
        instance,
      });
    }
    await messaging.start();
    await app.listen(config.port).catch((error: unknown) => {
      if ((error as { code?: string })?.code !== 'EADDRINUSE') throw error;
      throw new ConfigurationError(
        `PORT: ${config.port} is already in use (by another process of the store?): every process on one machine needs a PORT of its own, e.g. PORT=${config.port + 1}`,
      );
    });
    const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
    logger.log(`serving on port ${port}: hosts [${config.hostedModules.join(', ')}], gateway ${config.gateway ? 'on' : 'off'}`, 'Store');
    let closing: Promise<void> | undefined;
    return {
      app,
      port,
      url: `http://127.0.0.1:${port}`,
      databases,
      messaging,
      close: () =>
        (closing ??= (async () => {
          // Stop taking requests and events first, let work in flight finish, then let go of the databases.
          await app.close();
          await messaging.stop();
          await transport?.close();
          await databases.close();
          await tracing.shutdown();
        })()),
    };
  } catch (error) {
    await messaging.stop().catch(() => {});
    await transport?.close().catch(() => {});
    await databases.close().catch(() => {});
    throw error;
  }
}
