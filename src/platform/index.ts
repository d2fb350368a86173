/**
 * The platform's public face: everything a module author writes against, and
 * nothing else. A module (src/modules/<name>/) imports the platform from this
 * file, or its contract/ files from the lighter `./contracts/index.js`; any
 * other file of src/platform is private to the platform, and `npm run verify`
 * fails on a module that imports one (rule `platform-internal-import`).
 * docs/platform.md says what each piece is for.
 */

// A module's contract: operations, events, errors.
export * from './contracts/index.js';

// A module's use cases: one @CommandHandler or @QueryHandler class (@nestjs/cqrs) per operation of its
// contract, to which the platform dispatches every call, local or remote. A module never holds a bus (verify: bus-access).
export { CommandHandler, type ICommandHandler, type IQueryHandler, QueryHandler } from '@nestjs/cqrs';

// A module's composition root and what it is given.
export { defineModule, type ModuleDefinition } from './modules/module-definition.js';
export { type EventContext, type EventSubscriber, type HandlingStatement, type Subscription, subscribe } from './modules/subscription.js';
export type { ModuleTransaction } from './modules/module-transaction.js';
export { TransactionRunner, type StatementEvents } from './messaging/transaction-runner.js';
export { MODULE_DATA_SOURCE } from './database/module-data-source.js';
export { queryPrepared } from './database/prepared-query.js';
export { ModuleSettings } from './config/module-settings.js';

// Errors and HTTP routes.
export { describeFieldErrors } from './validation/field-errors.js';
// A module that reads a payload itself (a signed body, checked before it is parsed) validates it as a contract call would.
export { type Validated, validateInput } from './validation/validate-input.js';
export { ApiProblem } from './http/openapi/api-problem.decorator.js';
export { ProblemException } from './http/problem.js';
export { preferences, preferredWait } from './http/prefer-header.js';
export { rawBodyOf } from './http/json-body.middleware.js';

// Bounded lists: keyset pages with an opaque cursor, answered with `Link: <…>; rel="next"` (ADR 23).
export { Keyset, type KeyPart, type PageRequest } from './pagination/keyset.js';
export { answerPage, ApiPage } from './http/page-link.js';

// Observability.
export { Metrics } from './observability/metrics.js';
export { currentTraceHeaders } from './observability/tracing.js';

// Sagas: long-running, compensated flows across modules.
export {
  defineSaga,
  DONE,
  type SagaDefinition,
  type SagaSignalWait,
  SagaPlan,
  type SagaState,
  type Transition,
  type WaitOutcome,
} from './sagas/saga-definition.js';
export { eventSignals, recordSignal, type Signal, signalOf } from './sagas/saga-signals.js';
export { SagaAdmission, type SagaAdmissionOptions } from './sagas/saga-admission.js';
export { RecentKeys } from './sagas/recent-keys.js';
export { type SagaOutcome, SagaRunner, type SagaRunnerOptions } from './sagas/saga-runner.js';
export { SagaEnds, type SagaEndsOptions, type SagaEndWait } from './sagas/saga-ends.js';
