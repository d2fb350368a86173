/**
 * The platform's face for a module's `contract/` files: declaring operations
 * and events, and the errors a call may answer with. Light on purpose (no
 * database, no transport): a contract loads anywhere, the contract gate of
 * `npm run verify` included. Module code imports it from here or from
 * `src/platform/index.ts`, never from the files behind it (verify checks).
 */
export {
  type CallOptions,
  command,
  type Contract,
  type ContractClient,
  defineContract,
  type OperationSpec,
  type OperationUse,
  query,
  uses,
} from './contract.js';
export { IntegrationEvent, type IntegrationEventOptions } from './integration-event.js';
export { MAX_CURSOR_LENGTH, PAGE_LIMIT, type Page, PageQuery } from './page.query.js';
export { type FieldError, ModuleError, type ModuleErrorCode, type ModuleErrorData } from './module.error.js';
