import { TransformationType } from 'class-transformer';
// class-transformer keeps its decorators' metadata (@Type, @Expose, @Exclude, @Transform) in this
// singleton and does not re-export it; this is the very module its own decorators write to.
import { defaultMetadataStorage as transformerStorage } from 'class-transformer/cjs/storage.js';
import {
  ARRAY_MAX_SIZE,
  ARRAY_MIN_SIZE,
  arrayMaxSize,
  arrayMinSize,
  getMetadataStorage,
  IS_ARRAY,
  IS_BOOLEAN,
  IS_DEFINED,
  IS_IN,
  IS_INT,
  IS_LENGTH,
  IS_NOT_EMPTY,
  IS_NUMBER,
  IS_OBJECT,
  IS_STRING,
  IS_UUID,
  isArray,
  isBoolean,
  isDefined,
  isIn,
  isInt,
  isNotEmpty,
  isNumber,
  isObject,
  isString,
  isUUID,
  length,
  MATCHES,
  matches,
  MAX,
  max,
  MAX_LENGTH,
  maxLength,
  type MetadataStorage,
  MIN,
  min,
  MIN_LENGTH,
  minLength,
  type ValidationArguments,
  ValidationTypes,
} from 'class-validator';

/**
 * The fast path of validateInput: decides, from class-validator's own
 * metadata read once per class, that a payload is VALID, and then returns the
 * instance `plainToInstance(type, payload, { enableImplicitConversion: false })`
 * would have built. It never produces errors: whenever it is not certain that
 * class-validator would find none (an invalid payload, a shape or a decorator
 * it does not handle, an async constraint), it answers `undefined` and the
 * caller runs the original class-transformer + class-validator path, so that
 * every error (field, message, order) stays exactly class-validator's.
 *
 * Exactness rests on doing what the two libraries do, in the same order, with
 * the same objects:
 * - the instance is built like class-transformer builds it: `new type()` (so
 *   class fields exist as own properties, in declaration order), then each key
 *   of the payload in `Object.keys` order; `@Type(() => X)` properties become
 *   `new X()` the same way, arrays become fresh arrays;
 * - every constraint is evaluated by class-validator's own constraint instance
 *   (`getTargetValidatorConstraints(metadata.constraintCls)`), with the same
 *   ValidationArguments, the same `each` handling, IsOptional/ValidateIf
 *   conditions and nested validation semantics as ValidationExecutor, against
 *   that instance: no rule is re-implemented here;
 * - whitelist + forbidNonWhitelisted: a key without validation metadata makes
 *   the payload invalid (so it falls back), unless class-transformer never
 *   copies it to the instance (`__proto__`, `constructor`, inherited method
 *   names such as `toString`), in which case class-validator never sees it;
 * - validate-input.ts refuses a NUL character anywhere in the payload first:
 *   any string with one falls back.
 * It is deliberately conservative: anything unusual in the payload (non-plain
 * objects, Sets, Maps, Dates, functions, objects under a property without
 * @Type, NUL characters) falls back rather than being modelled.
 *
 * Assumed, as class-validator's own caches do: constraint instances are taken
 * from the container once per class (a `useContainer` installed after the first
 * validation of a class is not seen by this path), and a DTO constructor called
 * without arguments always creates the same own properties. Metadata registered
 * after a class was compiled (a decorator applied later) invalidates the cache.
 */

interface ConstraintValidator {
  validate(value: unknown, args: ValidationArguments): unknown;
}

type ValidateFn = (this: ConstraintValidator, value: unknown, args: ValidationArguments) => unknown;

type ValidationMetadata = ReturnType<MetadataStorage['getTargetValidationMetadatas']>[number];

interface Check {
  readonly property: string;
  /** metadata.constraints, as ValidationArguments carry them (undefined for IsString and the like). */
  readonly constraints: unknown[] | undefined;
  readonly each: boolean;
  readonly validateIf: ((object: object, value: unknown) => boolean) | undefined;
  /** The constraint instances (class-validator's container) and their `validate`, read once: a call site that sees one shape. */
  readonly validators: readonly ConstraintValidator[];
  readonly validates: readonly ValidateFn[];
  /** For a built-in decorator: the function its constraint calls, with the same arguments (see BUILT_INS). */
  readonly builtIn: BuiltIn | undefined;
}

interface PropertyPlan {
  readonly name: string;
  /** IsOptional / ValidateIf: when one answers false, nothing else of the property is checked. */
  readonly conditions: ReadonlyArray<(object: object, value: unknown) => boolean>;
  /** IS_DEFINED checks first, then the other constraints, in metadata order (as ValidationExecutor runs them). */
  readonly checks: readonly Check[];
  /** Has @ValidateNested. */
  readonly nested: boolean;
  /** @Type(() => X): X compiled (or null when X cannot be: an object value then falls back); undefined without @Type. */
  type: CompiledClass | null | undefined;
  /** class-transformer would turn an array value into a plain new array (false: e.g. a Set-typed property). */
  arrays: boolean;
}

interface CompiledClass {
  readonly ctor: new () => object;
  /** A fresh instance, to tell which unknown keys class-transformer skips (see skipsKey). */
  readonly probe: Record<string, unknown>;
  readonly targetName: string;
  readonly properties: Map<string, PropertyPlan>;
  readonly plans: PropertyPlan[];
  /** False while being compiled (a cycle of @Type) or when compilation gave up. */
  ok: boolean;
}

const storage = getMetadataStorage();
const FAIL: unique symbol = Symbol('fall back');
type Built = unknown | typeof FAIL;

/** Types class-transformer converts primitives to (String(value), Number(value)...): not handled here. */
const CONVERTING_TYPES: readonly unknown[] = [String, Number, Boolean, Date, globalThis.Buffer, Map, Set, Promise];

// ---------------------------------------------------------------------------
// Built-in decorators, called without their wrappers.

type BuiltIn = (value: unknown, constraints: unknown[] | undefined) => unknown;

/**
 * class-validator's built-in decorators register (through ValidateBy) a constraint whose
 * `validate(value, args)` is exactly one of these calls: `IsString` -> `isString(value)`,
 * `Length(a, b)` -> `length(value, args.constraints[0], args.constraints[1])`... (see
 * class-validator/esm2015/decorator/). Calling the function directly skips two wrappers and
 * the ValidationArguments. A constraint is taken for the built-in of its name only when it is
 * registered the way ValidateBy registers it and answers like the function on a set of probes
 * (builtInOf), so that a custom decorator that happens to use a built-in's name is run as it is.
 */
const BUILT_INS: ReadonlyMap<string, BuiltIn> = new Map<string, BuiltIn>([
  [IS_STRING, (value) => isString(value)],
  [IS_INT, (value) => isInt(value)],
  [IS_BOOLEAN, (value) => isBoolean(value)],
  [IS_NUMBER, (value, constraints) => isNumber(value, constraints![0] as Parameters<typeof isNumber>[1])],
  [IS_ARRAY, (value) => isArray(value)],
  [IS_OBJECT, (value) => isObject(value)],
  [IS_DEFINED, (value) => isDefined(value)],
  [IS_NOT_EMPTY, (value) => isNotEmpty(value)],
  [IS_IN, (value, constraints) => isIn(value, constraints![0] as readonly unknown[])],
  [IS_UUID, (value, constraints) => isUUID(value, constraints![0] as Parameters<typeof isUUID>[1])],
  [MIN, (value, constraints) => min(value, constraints![0] as number)],
  [MAX, (value, constraints) => max(value, constraints![0] as number)],
  [IS_LENGTH, (value, constraints) => length(value, constraints![0] as number, constraints![1] as number)],
  [MIN_LENGTH, (value, constraints) => minLength(value, constraints![0] as number)],
  [MAX_LENGTH, (value, constraints) => maxLength(value, constraints![0] as number)],
  [MATCHES, (value, constraints) => (matches as (value: unknown, pattern: unknown, modifiers: unknown) => boolean)(value, constraints![0], constraints![1])],
  [ARRAY_MIN_SIZE, (value, constraints) => arrayMinSize(value, constraints![0] as number)],
  [ARRAY_MAX_SIZE, (value, constraints) => arrayMaxSize(value, constraints![0] as number)],
]);

/** Values a built-in and its supposed constraint must agree on (plus the decorator's own constraints). */
const PROBES: readonly unknown[] = [
  undefined, null, true, false, 0, -0, 1, -1, 1.5, 2, 99, 100, 101, 1000, 1001, 1e6, 1e6 + 1, 2 ** 31, 2 ** 53, NaN, Infinity, -Infinity,
  '', ' ', 'a', 'A', 'ab', 'abc', '1', '1.5', 'true', 'SKU-1', 'A_B-9', 'tok_abc', 'FR', 'fr', 'F', 'FRA', '\u0000', 'é', '\u{1F600}',
  'a'.repeat(64), 'a'.repeat(65), 'a'.repeat(100), 'a'.repeat(101), 'a'.repeat(200), 'a'.repeat(201),
  '3f2504e0-4f89-41d3-9a0c-0305e82c3301', '3F2504E0-4F89-11D3-9A0C-0305E82C3301', '00000000-0000-0000-0000-000000000000', '3f2504e0-4f89-41d3-9a0c-0305e82c330',
  [], ['a'], [1, 2], [{}], new Array(100).fill('a'), new Array(101).fill('a'), {}, { a: 1 }, new String('s'), new Boolean(true), () => true,
];

function builtInOf(metadata: ValidationMetadata, validators: readonly ConstraintValidator[]): BuiltIn | undefined {
  const builtIn = metadata.name === undefined ? undefined : BUILT_INS.get(metadata.name);
  if (builtIn === undefined || validators.length !== 1) return undefined;
  // ValidateBy -> registerDecorator with a validator object: one constraint class of that name, not async.
  const constraints = storage.getTargetValidatorConstraints(metadata.constraintCls);
  if (constraints.length !== 1 || constraints[0].name !== metadata.name || metadata.constraintCls.name !== 'CustomConstraint') return undefined;
  const [validator] = validators;
  const given = metadata.constraints;
  const probes = [...PROBES, ...(given ?? []), ...(given ?? []).flatMap((c) => (typeof c === 'number' ? [c - 1, c + 1, 'a'.repeat(Math.max(0, Math.min(c, 1e4)))] : Array.isArray(c) ? c : []))];
  try {
    for (const value of probes) {
      const args: ValidationArguments = { targetName: '', property: metadata.propertyName, object: {}, value, constraints: metadata.constraints };
      const expected = validator.validate(value, args);
      if (isPromise(expected) || !expected !== !builtIn(value, given)) return undefined;
    }
  } catch {
    return undefined;
  }
  return builtIn;
}

// ---------------------------------------------------------------------------
// Cache, invalidated by any metadata registered after a class was compiled.

let metadataVersion = 0;
const cache = new WeakMap<Function, { version: number; compiled: CompiledClass | null }>();

function watchAdditions(target: object, methods: readonly string[]): void {
  const record = target as Record<string, unknown>;
  for (const method of methods) {
    const original = record[method];
    if (typeof original !== 'function') continue;
    record[method] = function (this: unknown, ...args: unknown[]) {
      metadataVersion++;
      return (original as (...a: unknown[]) => unknown).apply(this, args);
    };
  }
}
watchAdditions(storage, ['addValidationMetadata', 'addConstraintMetadata']);
watchAdditions(transformerStorage, ['addTypeMetadata', 'addTransformMetadata', 'addExposeMetadata', 'addExcludeMetadata']);

function compiledFor(type: Function): CompiledClass | null {
  const entry = cache.get(type);
  if (entry !== undefined && entry.version === metadataVersion) return entry.compiled;
  return compile(type);
}

/** Whether `type` is fully handled by the fast path (for tests and diagnostics). */
export function isCompiled(type: Function): boolean {
  return compiledFor(type)?.ok === true;
}

// ---------------------------------------------------------------------------
// Compilation: class-validator + class-transformer metadata -> plans.

function compile(type: Function): CompiledClass | null {
  const version = metadataVersion;
  const compiled: CompiledClass = {
    ctor: type as new () => object,
    probe: {},
    targetName: type.name,
    properties: new Map(),
    plans: [],
    ok: false,
  };
  // Registered before its properties are compiled, so that a cycle of @Type finds it (not yet ok).
  cache.set(type, { version, compiled });
  let result: CompiledClass | null = null;
  try {
    if (fillPlans(compiled)) {
      compiled.ok = true;
      result = compiled;
    }
  } catch {
    result = null;
  }
  cache.set(type, { version, compiled: result });
  return result;
}

function fillPlans(compiled: CompiledClass): boolean {
  const type = compiled.ctor;
  const metadatas = storage.getTargetValidationMetadatas(type, '', false, false, undefined);
  // forbidUnknownValues: a class without metadata is always invalid.
  if (metadatas.length === 0) return false;
  const grouped = storage.groupByPropertyName(metadatas);

  // class-transformer: only its default behaviour (keys of the payload, as they are) is modelled.
  if (transformerStorage.getStrategy(type) !== 'none') return false;
  if (transformerStorage.getExposedMetadatas(type).length > 0 || transformerStorage.getExcludedMetadatas(type).length > 0) return false;

  // What class-transformer starts from. A constructor that cannot run without arguments, or that
  // creates a property without validation metadata (always refused by the whitelist), is left to the slow path.
  const probe = new type() as Record<string, unknown>;
  (compiled as { probe: Record<string, unknown> }).probe = probe;
  for (const key of Object.keys(probe)) {
    if (!Object.hasOwn(grouped, key) || grouped[key].length === 0) return false;
  }

  for (const name of Object.keys(grouped)) {
    // Names class-transformer or class-validator treat specially (constructor, __proto__, toString...),
    // or that an accessor or method of the class shadows.
    if (name in Object.prototype || shadowedByPrototype(type, name)) return false;
    if (typeof probe[name] === 'function') return false;
    if (transformerStorage.findTransformMetadatas(type, name, TransformationType.PLAIN_TO_CLASS).length > 0) return false;
    const plan = planOf(type, name, grouped[name]);
    if (plan === undefined) return false;
    compiled.properties.set(name, plan);
    compiled.plans.push(plan);
  }
  return true;
}

function shadowedByPrototype(type: Function, name: string): boolean {
  for (let proto = type.prototype as object | null; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    if (Object.hasOwn(proto, name)) return true;
  }
  return false;
}

function planOf(type: Function, name: string, metadatas: readonly ValidationMetadata[]): PropertyPlan | undefined {
  const conditions: Array<(object: object, value: unknown) => boolean> = [];
  const defined: Check[] = [];
  const custom: Check[] = [];
  let nested = false;
  for (const metadata of metadatas) {
    switch (metadata.type) {
      case ValidationTypes.CONDITIONAL_VALIDATION: {
        const condition = metadata.constraints?.[0] as unknown;
        if (typeof condition !== 'function') return undefined;
        conditions.push(condition as (object: object, value: unknown) => boolean);
        break;
      }
      case ValidationTypes.IS_DEFINED:
      case ValidationTypes.CUSTOM_VALIDATION: {
        const check = checkOf(metadata);
        if (check === undefined) return undefined;
        (metadata.type === ValidationTypes.IS_DEFINED ? defined : custom).push(check);
        break;
      }
      case ValidationTypes.NESTED_VALIDATION:
        nested = true;
        break;
      case ValidationTypes.WHITELIST:
        break;
      default:
        // PROMISE_VALIDATION, or anything newer: not modelled.
        return undefined;
    }
  }
  const plan: PropertyPlan = { name, conditions, checks: [...defined, ...custom], nested, type: undefined, arrays: true };

  const typeMetadata = transformerStorage.findTypeMetadata(type, name);
  if (typeMetadata) {
    const { typeFunction, options, reflectedType } = typeMetadata;
    // A discriminator, a type chosen from the object (a function of its options), or a Map: not modelled.
    if (options?.discriminator || typeof typeFunction !== 'function' || typeFunction.length > 0 || reflectedType === Map) return undefined;
    const target = (typeFunction as () => unknown)();
    if (typeof target !== 'function' || CONVERTING_TYPES.includes(target)) return undefined;
    const entry = cache.get(target);
    plan.type = entry !== undefined && entry.version === metadataVersion ? entry.compiled : compile(target);
    plan.arrays = reflectedType === undefined || yieldsPlainArray(reflectedType);
  } else if (nested) {
    // @ValidateNested without @Type: an object value stays a plain object, which forbidUnknownValues refuses.
    plan.type = null;
  }
  return plan;
}

function checkOf(metadata: ValidationMetadata): Check | undefined {
  if (!metadata.constraintCls) return undefined;
  const validators: ConstraintValidator[] = [];
  const validates: ValidateFn[] = [];
  for (const constraint of storage.getTargetValidatorConstraints(metadata.constraintCls)) {
    // Async constraints answer with a promise: not worth trying on every call.
    if (constraint.async) return undefined;
    const instance = constraint.instance as ConstraintValidator | undefined;
    if (!instance || typeof instance.validate !== 'function') return undefined;
    validators.push(instance);
    validates.push(instance.validate as ValidateFn);
  }
  return {
    builtIn: builtInOf(metadata, validators),
    property: metadata.propertyName,
    constraints: metadata.constraints,
    each: metadata.each === true,
    validateIf: (metadata as { validateIf?: (object: object, value: unknown) => boolean }).validateIf,
    validators,
    validates,
  };
}

/** class-transformer's instantiateArrayType: `new reflectedType()`, kept only if it is a Set or has `push`, else `[]`. */
function yieldsPlainArray(reflectedType: Function): boolean {
  try {
    const made = new (reflectedType as new () => unknown)();
    if (!(made instanceof Set) && !(typeof made === 'object' && made !== null && 'push' in made)) return true;
    return Array.isArray(made) && Object.getPrototypeOf(made) === Array.prototype && made.length === 0;
  } catch {
    return false;
  }
}

// ---------------------------------------------------------------------------
// Run time.

/**
 * The instance class-transformer would build from `payload`, when class-validator
 * would find it valid under VALIDATOR_OPTIONS; undefined when that is not certain.
 */
export function fastValidInstance<T extends object>(type: Function, payload: object): T | undefined {
  const compiled = compiledFor(type);
  if (compiled === null || !compiled.ok || !isPlainObject(payload)) return undefined;
  try {
    const instance = build(compiled, payload);
    if (instance === FAIL) return undefined;
    return validObject(compiled, instance as Record<string, unknown>) ? (instance as T) : undefined;
  } catch {
    // A constraint or constructor that throws: the slow path will do (and report) the same.
    return undefined;
  }
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** plainToInstance for a compiled class; FAIL for anything invalid or not modelled. */
function build(compiled: CompiledClass, plain: object): Built {
  const instance = new compiled.ctor() as Record<string, unknown>;
  const keys = Object.keys(plain);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i];
    const plan = compiled.properties.get(key);
    if (plan === undefined) {
      // A key class-transformer never copies is not seen by the whitelist (but still by the NUL scan);
      // any other key without metadata is refused by forbidNonWhitelisted.
      if (skipsKey(compiled, key) && !containsNul((plain as Record<string, unknown>)[key])) continue;
      return FAIL;
    }
    const value = convert((plain as Record<string, unknown>)[key], plan);
    if (value === FAIL) return FAIL;
    instance[key] = value;
  }
  return instance;
}

/**
 * Keys TransformOperationExecutor passes over on the way to a new instance: `__proto__` and
 * `constructor`, a property of the class's prototype without a setter, and whatever the fresh
 * instance holds a function under (inherited methods: toString, hasOwnProperty...).
 */
function skipsKey(compiled: CompiledClass, key: string): boolean {
  if (key === '__proto__' || key === 'constructor') return true;
  const descriptor = Object.getOwnPropertyDescriptor(compiled.ctor.prototype, key);
  return (descriptor !== undefined && !descriptor.set) || compiled.probe[key] instanceof Function;
}

/** validate-input.ts fieldsWithNul(value).length > 0. */
function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some((item) => containsNul(item));
  if (value !== null && typeof value === 'object') return Object.values(value).some((item) => containsNul(item));
  return false;
}

function convert(value: unknown, plan: PropertyPlan): Built {
  if (typeof value === 'string') return value.includes('\u0000') ? FAIL : value;
  if (typeof value !== 'object') return typeof value === 'function' ? FAIL : value;
  if (value === null) return null;
  if (Array.isArray(value)) return plan.arrays ? convertArray(value, plan.type) : FAIL;
  return convertObject(value, plan.type);
}

/** A new plain array of the converted items; holes are skipped, as forEach skips them. */
function convertArray(value: unknown[], type: CompiledClass | null | undefined): Built {
  if (Object.getPrototypeOf(value) !== Array.prototype) return FAIL;
  const copy: unknown[] = [];
  for (let i = 0; i < value.length; i++) {
    if (!(i in value)) continue;
    const item = convertItem(value[i], type);
    if (item === FAIL) return FAIL;
    copy.push(item);
  }
  return copy;
}

/** An item of an array: the same, except that an array in an array is always a plain new array. */
function convertItem(value: unknown, type: CompiledClass | null | undefined): Built {
  if (typeof value === 'string') return value.includes('\u0000') ? FAIL : value;
  if (typeof value !== 'object') return typeof value === 'function' ? FAIL : value;
  if (value === null) return null;
  if (Array.isArray(value)) return convertArray(value, type);
  return convertObject(value, type);
}

function convertObject(value: object, type: CompiledClass | null | undefined): Built {
  // Untyped objects (class-transformer copies them as plain objects) and non-plain ones (Date, Map...): not modelled.
  if (type === undefined || type === null || !type.ok || !isPlainObject(value)) return FAIL;
  return build(type, value);
}

/** ValidationExecutor.execute on a built instance, with no errors; false also when unsure (a promise). */
function validObject(compiled: CompiledClass, object: Record<string, unknown>): boolean {
  const plans = compiled.plans;
  for (let p = 0; p < plans.length; p++) {
    const plan = plans[p];
    const value = object[plan.name];
    // conditionalValidations: every condition is evaluated, then and-ed.
    let applies = true;
    for (let c = 0; c < plan.conditions.length; c++) {
      if (!plan.conditions[c](object, value)) applies = false;
    }
    if (!applies) continue;
    for (let c = 0; c < plan.checks.length; c++) {
      if (!passes(plan.checks[c], compiled.targetName, object, value)) return false;
    }
    if (plan.nested && value !== undefined && !validNested(value, plan.type)) return false;
  }
  return true;
}

function passes(check: Check, targetName: string, object: object, value: unknown): boolean {
  if (check.validateIf !== undefined && !check.validateIf(object, value)) return true;
  const builtIn = check.builtIn;
  if (builtIn !== undefined) {
    if (!check.each || !Array.isArray(value)) return !!builtIn(value, check.constraints);
    for (let i = 0; i < value.length; i++) {
      if (i in value && !builtIn(value[i], check.constraints)) return false;
    }
    return true;
  }
  const { validators, validates } = check;
  for (let v = 0; v < validators.length; v++) {
    const args: ValidationArguments = { targetName, property: check.property, object, value, constraints: check.constraints as unknown[] };
    if (!check.each || !Array.isArray(value)) {
      // (Sets and Maps, which `each` would also iterate, never come out of build().)
      const result = validates[v].call(validators[v], value, args);
      if (!result || isPromise(result)) return false;
    } else {
      for (let i = 0; i < value.length; i++) {
        if (!(i in value)) continue;
        const result = validates[v].call(validators[v], value[i], args);
        if (!result || isPromise(result)) return false;
      }
    }
  }
  return true;
}

/**
 * nestedValidations: arrays item by item (undefined items pass), objects by the metadata of their
 * class, anything else (a primitive, null) fails. build() nests only instances of the property's
 * @Type class (with whitelisted keys only) and arrays of them, so anything else is not expected.
 */
function validNested(value: unknown, type: CompiledClass | null | undefined): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) continue;
      const item = value[i];
      if (item !== undefined && !validNested(item, type)) return false;
    }
    return true;
  }
  return type !== null && type !== undefined && type.ok && value.constructor === type.ctor && validObject(type, value as Record<string, unknown>);
}

function isPromise(value: unknown): boolean {
  return value !== null && typeof value === 'object' && typeof (value as { then?: unknown }).then === 'function';
}
