/**
 * A module's contract as the compatibility gate records it: JSON-Schema-like
 * shapes (a subset of JSON Schema / OpenAPI 3.0 keywords: type, properties,
 * required, items, enum, format, pattern, min/max..., nullable), so that the
 * snapshot reads like what it is and diffs stay small.
 */
export interface Shape {
  /** `unknown`: anything (an untyped or unrecognised type); `void`: an operation that answers nothing. */
  readonly type?: 'string' | 'integer' | 'number' | 'boolean' | 'object' | 'array' | 'null' | 'unknown' | 'void';
  readonly properties?: Readonly<Record<string, Shape>>;
  /** Properties that must be present, sorted. */
  readonly required?: readonly string[];
  readonly items?: Shape;
  readonly enum?: readonly (string | number | boolean)[];
  /** May be null (outputs: `T | null`). */
  readonly nullable?: boolean;
  /** A union of different shapes (outputs only), compared as a whole. */
  readonly anyOf?: readonly Shape[];
  /** A type met again inside itself: named, not expanded. */
  readonly $ref?: string;
  /** Validators the gate cannot describe (custom class-validator constraints), by name, sorted. */
  readonly validators?: readonly string[];
  /** format, pattern, minLength, maxLength, minimum, maximum, minItems, maxItems, and any other keyword. */
  readonly [keyword: string]: unknown;
}

export interface OperationContract {
  readonly kind: 'command' | 'query';
  readonly idempotent: boolean;
  /** From the input class's class-validator metadata: exactly what is validated on receipt. */
  readonly input: Shape;
  /** From the TypeScript type the contract declares as the result (`command<I, O>`, `query<I, O>`). */
  readonly output: Shape;
}

export interface EventContract {
  readonly version: number;
  /** From the event class's class-validator metadata: what a subscriber validates. */
  readonly payload: Shape;
}

/** A workflow (saga) definition's version and steps in order, as `<name> v<version>` (ADR 29). */
export interface WorkflowContract {
  readonly version: number;
  /** `NAME`, `NAME (waits)`, `NAME (sleeps)`, `NAME / undo UNDO`. */
  readonly steps: readonly string[];
}

export interface ModuleContract {
  readonly operations: Readonly<Record<string, OperationContract>>;
  /** Its workflows by `<name> v<version>`: their steps may not change under a version. */
  readonly workflows?: Readonly<Record<string, WorkflowContract>>;
  /** Published events (the @IntegrationEvent classes the module's index.ts exports), by name. */
  readonly events: Readonly<Record<string, EventContract>>;
}

export type Contracts = Readonly<Record<string, ModuleContract>>;

/** A value with every object's keys sorted (arrays keep their order): the same contract always writes the same text. */
export function sorted<T>(value: T): T {
  if (Array.isArray(value)) return value.map(sorted) as T;
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => [key, sorted((value as Record<string, unknown>)[key])]),
  ) as T;
}
