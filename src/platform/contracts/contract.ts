import type { Type } from '@nestjs/common';

/**
 * A module's public contract: the operations other modules (and the gateway)
 * may call, whatever process the module runs in. Inputs are classes validated
 * with class-validator on receipt; outputs are plain JSON data.
 */
export interface OperationSpec<I extends object = object, O = unknown> {
  readonly kind: 'command' | 'query';
  readonly input: Type<I>;
  /**
   * Safe to retry after an unknown outcome (a timeout of a remote call).
   * Queries always are; a command is when its handler is idempotent by key.
   */
  readonly idempotent: boolean;
  /**
   * The input field of a command that is idempotent by key (the same key
   * answers the first outcome, creates nothing). A remote caller fills it
   * when its caller left it empty, so that its own retries after a timeout
   * carry one key and can never act twice.
   */
  readonly idempotencyKey?: string;
  /**
   * The input field (ms) of a query that waits on purpose before it answers
   * (a saga's end, ADR 30): a remote call's deadline is that much longer than usual.
   */
  readonly waitsUpTo?: string;
  /** Phantom field carrying the output type; never set at run time. */
  readonly __output?: O;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- the bound every spec meets whatever its types (an input class is invariant: unknown would refuse them)
export type OperationMap = Readonly<Record<string, OperationSpec<any, any>>>;

export interface Contract<Ops extends OperationMap = OperationMap> {
  readonly module: string;
  readonly operations: Ops;
  /** Injection token of the client other modules use: local or remote, they cannot tell. */
  readonly client: symbol;
}

export function command<I extends object, O>(input: Type<I>, options: { idempotent?: boolean; idempotencyKey?: keyof I & string } = {}): OperationSpec<I, O> {
  return {
    kind: 'command',
    input,
    idempotent: options.idempotent ?? false,
    ...(options.idempotencyKey === undefined ? {} : { idempotencyKey: options.idempotencyKey }),
  };
}

export function query<I extends object, O>(input: Type<I>, options: { waitsUpTo?: keyof I & string } = {}): OperationSpec<I, O> {
  return { kind: 'query', input, idempotent: true, ...(options.waitsUpTo === undefined ? {} : { waitsUpTo: options.waitsUpTo }) };
}

/**
 * A module's contract. Each operation's input class is its own: the platform
 * dispatches a call to the @CommandHandler or @QueryHandler of that class, so
 * two operations taking one class could not be told apart.
 */
export function defineContract<Ops extends OperationMap>(module: string, operations: Ops): Contract<Ops> {
  const operationOf = new Map<Function, string>();
  for (const [operation, spec] of Object.entries(operations)) {
    const other = operationOf.get(spec.input);
    if (other) {
      throw new Error(
        `${module} contract: operations '${other}' and '${operation}' both take ${spec.input.name}: give each operation an input class of its own`,
      );
    }
    operationOf.set(spec.input, operation);
  }
  return { module, operations, client: Symbol(`${module}.client`) };
}

/**
 * Some operations of one module's contract that a piece of code calls: how a module declares
 * what it needs (ModuleDefinition `calls`, `httpCalls`), so that its NATS user may send those
 * operations and no others (ADR 21). The names are checked against the contract by the compiler.
 */
export interface OperationUse {
  readonly module: string;
  readonly operations: readonly string[];
}

export function uses<C extends Contract>(contract: C, ...operations: ReadonlyArray<keyof C['operations'] & string>): OperationUse {
  return { module: contract.module, operations: [...operations] };
}

/* eslint-disable @typescript-eslint/no-explicit-any -- a wildcard in a pattern, never a value's type */
type InputOf<S> = S extends OperationSpec<infer I, any> ? I : never;
type OutputOf<S> = S extends OperationSpec<any, infer O> ? O : never;
/* eslint-enable @typescript-eslint/no-explicit-any */

/** How one call is made. */
export interface CallOptions {
  /**
   * Aborting it gives the call up: the caller stops waiting at once, a remote
   * call makes no further attempt, a local one that has not begun never does.
   * The callee may still complete an attempt already under way (steps are idempotent).
   */
  readonly signal?: AbortSignal;
}

/** What a caller holds: every operation as an async function of a plain input object. */
export type ContractClient<C extends Contract> = {
  readonly [K in keyof C['operations']]: (input: InputOf<C['operations'][K]>, options?: CallOptions) => Promise<OutputOf<C['operations'][K]>>;
};
