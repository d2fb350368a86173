import { Ajv, type AnySchema, type ValidateFunction } from 'ajv';
// class-transformer's metadata singleton (@Type), handed to class-validator-jsonschema as its README
// says to; class-transformer does not re-export it.
import { defaultMetadataStorage as transformerStorage } from 'class-transformer/cjs/storage.js';
import { TransformationType } from 'class-transformer';
import { getMetadataStorage, IS_ISO8601, IS_OPTIONAL, MATCHES, type ValidationArguments, ValidationTypes } from 'class-validator';
import { targetConstructorToSchema } from 'class-validator-jsonschema';
import type { ISchemaConverters } from 'class-validator-jsonschema/build/defaultConverters.js';

/**
 * The fast path of validateInput: a JSON Schema generated from a DTO's own
 * class-validator decorators (class-validator-jsonschema), compiled by ajv.
 * When ajv accepts a payload, the instance class-transformer would build is
 * returned; otherwise (and for any class or value this path does not take)
 * `undefined`, and validate-input.ts runs class-transformer + class-validator,
 * which produce every error message. ajv never says "invalid": it only lets a
 * valid payload skip the reference path, so its schema must never accept what
 * class-validator refuses. What makes that hold:
 *
 * - a class is taken only when every decorator on it is one of
 *   SCHEMA_CONVERTERS' (type, bounds, sizes: JSON Schema means the same thing),
 *   IsOptional, IsDefined, @ValidateNested with @Type, or a synchronous
 *   constraint (at most one of each per property); any
 *   other (ValidateIf, Allow, async, groups, @Transform/@Expose/@Exclude, a
 *   property name of Object.prototype, a field with a default) leaves the whole
 *   class to class-validator (`isCompiled` is false);
 * - every other constraint (Length, Matches, IsUUID, IsIn, a module's own
 *   decorator...) is evaluated by its own class-validator constraint instance,
 *   called by ajv through one keyword per decorator (`x-class-validator-N`):
 *   its rule is never re-implemented, only the keywords the generator emits
 *   for it (minLength, enum, format...; see CHECKED_BY_CONSTRAINT) are evaluated too, which can only
 *   make the schema stricter (a stricter answer costs a trip through
 *   class-validator, never a wrong one);
 * - a built-in name is trusted for a SCHEMA_CONVERTERS keyword only after its
 *   constraint accepts every probe value the keyword accepts (a custom
 *   decorator that takes a built-in's name is run as written);
 * - unknown properties are refused (`additionalProperties: false`), nested
 *   classes by reference to their own schema, and the payload's objects must
 *   be plain and its strings free of NUL (as validate-input.ts requires).
 * validate-input.spec.ts compares this path with class-validator on every DTO
 * of the application and thousands of mutants of them, in the sources and in
 * the build (dist/).
 *
 * Assumed, as class-validator's own caches do: constraint instances are taken
 * once per class. Metadata registered after a class was compiled (a decorator
 * applied later) invalidates every compiled schema.
 */

/**
 * Decorators whose JSON Schema keyword accepts exactly the values class-validator
 * accepts (with ajv's strictNumbers: NaN and ±Infinity are not numbers). Min/Max and
 * ArrayMinSize/ArrayMaxSize emit no `type` of their own (class-validator-jsonschema's
 * say `number`/`array`, which lodash.merge lets override IsInt's `integer` depending on
 * decorator order): the property's type decorator, required beside them, gives it.
 */
export const SCHEMA_CONVERTERS: ISchemaConverters = {
  isString: { type: 'string' },
  isInt: { type: 'integer' },
  isBoolean: { type: 'boolean' },
  isArray: { type: 'array' },
  isObject: { type: 'object' },
  min: (meta) => ({ minimum: meta.constraints[0] as number }),
  max: (meta) => ({ maximum: meta.constraints[0] as number }),
  arrayMinSize: (meta) => ({ minItems: meta.constraints[0] as number }),
  arrayMaxSize: (meta) => ({ maxItems: meta.constraints[0] as number }),
  // Its generic converter makes a `$ref` to the property's design type (#/definitions/Array):
  // a decorator it does not know says nothing in the schema; its keyword (below) does the check.
  [ValidationTypes.CUSTOM_VALIDATION]: {},
};

/**
 * What the validation schema says for decorators whose class-validator-jsonschema keywords
 * would refuse values their constraint accepts (the OpenAPI document keeps those keywords):
 * - IsISO8601 (IsDate, MinDate, MaxDate) emit `oneOf: [date, date-time]` formats; ajv does not
 *   validate formats here, so both branches match every string and `oneOf` refuses them all;
 * - Matches emits the RegExp's `source` without its flags (`i`, `s`, `m`, `u`...), and nothing
 *   usable for Matches(string, modifiers).
 * Each still requires the string its constraint requires (`typeof value === 'string'`), and its
 * constraint, called by its own keyword, decides the rest.
 */
const CHECKED_BY_CONSTRAINT: ISchemaConverters = {
  [IS_ISO8601]: { type: 'string' },
  [MATCHES]: { type: 'string' },
};

/** The JSON type each type decorator gives; the bounds that need one of them beside them. */
const TYPE_OF: Readonly<Record<string, string>> = { isString: 'string', isInt: 'integer', isBoolean: 'boolean', isArray: 'array', isObject: 'object' };
const NEEDS_TYPE: Readonly<Record<string, readonly string[]>> = {
  min: ['integer'],
  max: ['integer'],
  arrayMinSize: ['array'],
  arrayMaxSize: ['array'],
};

interface ConstraintInstance {
  validate(value: unknown, args: ValidationArguments): unknown;
}
type ValidationMetadata = ReturnType<ReturnType<typeof getMetadataStorage>['getTargetValidationMetadatas']>[number];
type Schema = Record<string, unknown> & { properties?: Record<string, Schema>; items?: Schema; required?: string[] };

interface CompiledClass {
  readonly ctor: new () => object;
  readonly id: string;
  /** Properties whose value may be an object or an array of objects: the @Type class class-transformer builds them as. */
  readonly nested: Map<string, CompiledClass>;
  validate: ValidateFunction | undefined;
  ok: boolean;
}

const storage = getMetadataStorage();

// ---------------------------------------------------------------------------
// Cache, dropped whenever metadata is registered after a class was compiled.

let metadataVersion = 0;
let state = freshState();

function freshState() {
  return {
    version: metadataVersion,
    // unicodeRegExp: false compiles `pattern` as class-validator's RegExp objects are (no u flag);
    // formats (uuid) are documentation here: IsUUID is checked by its own constraint.
    ajv: new Ajv({
      strict: true,
      strictTypes: false,
      strictTuples: false,
      strictRequired: false,
      strictNumbers: true,
      validateFormats: false,
      unicodeRegExp: false,
    }),
    classes: new Map<Function, CompiledClass | null>(),
    keywords: 0,
  };
}

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
  if (state.version !== metadataVersion) state = freshState();
  const known = state.classes.get(type);
  if (known !== undefined) return known?.ok ? known : null;
  const compiled = compile(type);
  return compiled?.ok ? compiled : null;
}

/** Whether valid payloads of `type` are decided by the schema (for tests and diagnostics). */
export function isCompiled(type: Function): boolean {
  return compiledFor(type) !== null;
}

/** The JSON Schema validating `type` (nested classes referenced by `$ref`), or undefined when the class is left to class-validator. */
export function validationSchemaOf(type: Function): AnySchema | undefined {
  const compiled = compiledFor(type);
  return compiled === null ? undefined : state.ajv.getSchema(compiled.id)?.schema;
}

/**
 * What class-validator-jsonschema makes of a class's decorators with SCHEMA_CONVERTERS: the one
 * reading of the decorators that both validation (below) and the OpenAPI document draw from.
 */
export function decoratorSchemaOf(type: Function, converters: ISchemaConverters = {}): Schema {
  return targetConstructorToSchema(type, {
    classTransformerMetadataStorage: transformerStorage,
    additionalConverters: { ...SCHEMA_CONVERTERS, ...converters },
  }) as Schema;
}

// ---------------------------------------------------------------------------
// Compilation: decorators -> JSON Schema -> ajv.

function compile(type: Function): CompiledClass | null {
  const compiled: CompiledClass = { ctor: type as new () => object, id: `class-${state.classes.size}`, nested: new Map(), validate: undefined, ok: false };
  // Registered first, so that a cycle of @Type finds it (a class refers to its own schema by id).
  state.classes.set(type, compiled);
  try {
    const schema = schemaOf(compiled);
    if (schema === undefined) return fail(type);
    state.ajv.addSchema(schema, compiled.id);
    compiled.validate = state.ajv.getSchema(compiled.id);
    if (compiled.validate === undefined) return fail(type);
    compiled.ok = true;
    return compiled;
  } catch {
    // A schema ajv refuses (a pattern it cannot compile, a cycle through another class...).
    return fail(type);
  }
}

function fail(type: Function): null {
  state.classes.set(type, null);
  return null;
}

function schemaOf(compiled: CompiledClass): Schema | undefined {
  const type = compiled.ctor;
  const metadatas = storage.getTargetValidationMetadatas(type, '', false, false, undefined);
  // forbidUnknownValues: a class without metadata is always invalid.
  if (metadatas.length === 0) return undefined;
  if (transformerStorage.getStrategy(type) !== 'none') return undefined;
  if (transformerStorage.getExposedMetadatas(type).length > 0 || transformerStorage.getExcludedMetadatas(type).length > 0) return undefined;
  const grouped = storage.groupByPropertyName(metadatas);

  // class-transformer starts from `new type()`: a field it creates must be validated and unset
  // (a default would be validated by class-validator but is not in the payload ajv sees).
  const probe = new type() as Record<string, unknown>;
  for (const key of Object.keys(probe)) if (!Object.hasOwn(grouped, key) || probe[key] !== undefined) return undefined;

  const generated = decoratorSchemaOf(type, {
    ...CHECKED_BY_CONSTRAINT,
    // Nested classes by their own schema's id (class-validator-jsonschema's refs are by class name, which two classes may share).
    [ValidationTypes.NESTED_VALIDATION]: (meta) => {
      const child = nestedClass(meta.target as Function, meta.propertyName);
      return child === undefined ? { not: {} } : { $ref: child.id };
    },
  });
  const properties = generated.properties ?? {};
  if (Object.keys(properties).sort().join() !== Object.keys(grouped).sort().join()) return undefined;

  for (const [name, group] of Object.entries(grouped)) {
    if (name in Object.prototype || shadowedByPrototype(type, name)) return undefined;
    // @Transform changes the value class-validator sees: not in the schema.
    if (transformerStorage.findTransformMetadatas(type, name, TransformationType.PLAIN_TO_CLASS).length > 0) return undefined;
    const property = properties[name];
    if (!addConstraints(compiled, property, group)) return undefined;
    // IsOptional: class-validator skips every other decorator of the property when its value is
    // null (or undefined, which ajv already skips): so must the schema.
    if (group.some((m) => m.type === ValidationTypes.CONDITIONAL_VALIDATION && m.name === IS_OPTIONAL))
      properties[name] = { anyOf: [{ type: 'null' }, property] };
    const child = nestedClassOf(compiled, group, name);
    if (child === null) return undefined;
    if (child !== undefined) compiled.nested.set(name, child);
  }
  return { ...generated, properties, additionalProperties: false };
}

/** The class a nested property's objects are built as; null when not modelled, undefined when the property has none. */
function nestedClassOf(compiled: CompiledClass, group: readonly ValidationMetadata[], name: string): CompiledClass | null | undefined {
  const typeMetadata = transformerStorage.findTypeMetadata(compiled.ctor, name);
  if (!typeMetadata) return group.some((m) => m.type === ValidationTypes.NESTED_VALIDATION) ? null : undefined;
  return nestedClass(compiled.ctor, name) ?? null;
}

function nestedClass(target: Function, name: string): CompiledClass | undefined {
  const typeMetadata = transformerStorage.findTypeMetadata(target, name);
  if (!typeMetadata) return undefined;
  const { typeFunction, options } = typeMetadata;
  const reflectedType = typeMetadata.reflectedType as unknown;
  // A discriminator, a type chosen from the object, a Map or a Set: not modelled.
  if (options?.discriminator || typeof typeFunction !== 'function' || typeFunction.length > 0 || reflectedType === Map || reflectedType === Set)
    return undefined;
  const child = (typeFunction as () => unknown)();
  if (typeof child !== 'function' || [String, Number, Boolean, Date, Map, Set, Promise, Object, Array].includes(child as never)) return undefined;
  const known = state.classes.get(child);
  if (known !== undefined) return known ?? undefined;
  return compile(child) ?? undefined;
}

function shadowedByPrototype(type: Function, name: string): boolean {
  for (let proto = type.prototype as object | null; proto !== null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto) as object | null) {
    if (Object.hasOwn(proto, name)) return true;
  }
  return false;
}

/**
 * Checks a property's decorators are all taken, and adds a keyword calling each constraint
 * SCHEMA_CONVERTERS does not express; false when the property (so the class) is not taken.
 */
function addConstraints(compiled: CompiledClass, property: Schema | undefined, group: readonly ValidationMetadata[]): boolean {
  if (property === undefined) return false;
  const types = { top: new Set<string>(), items: new Set<string>() };
  const seen = new Set<string>();
  const bounds: Array<{ name: string; each: boolean }> = [];
  for (const metadata of group) {
    if ((metadata.groups?.length ?? 0) > 0 || metadata.always) return false;
    switch (metadata.type) {
      case ValidationTypes.CONDITIONAL_VALIDATION:
        if (metadata.name !== IS_OPTIONAL) return false; // ValidateIf: its condition is not in the schema
        continue;
      case ValidationTypes.NESTED_VALIDATION:
        (metadata.each ? types.items : types.top).add('object');
        if (metadata.each) types.top.add('array');
        continue;
      case ValidationTypes.IS_DEFINED:
        continue;
      case ValidationTypes.CUSTOM_VALIDATION:
        break;
      default:
        return false; // Allow (WHITELIST), PROMISE_VALIDATION, anything newer
    }
    const constraints = storage.getTargetValidatorConstraints(metadata.constraintCls);
    if (constraints.length !== 1 || constraints[0].async) return false;
    const { name } = constraints[0];
    const instance = constraints[0].instance as ConstraintInstance | undefined;
    if (!instance || typeof instance.validate !== 'function') return false;
    // Two of one decorator on a property: lodash.merge would keep one of their keywords.
    if (seen.has(name)) return false;
    seen.add(name);
    const each = metadata.each === true;
    if (each) types.top.add('array');
    if (Object.hasOwn(SCHEMA_CONVERTERS, name) && trustedAs(name, metadata, instance)) {
      if (TYPE_OF[name]) (each ? types.items : types.top).add(TYPE_OF[name]);
      if (NEEDS_TYPE[name]) bounds.push({ name, each });
      continue;
    }
    // Called as ValidationExecutor calls it: the same arguments, `each` item by item over an array.
    const keyword = `x-class-validator-${state.keywords++}`;
    const { name: targetName } = compiled.ctor;
    const { propertyName, constraints: given } = metadata;
    const passes = (value: unknown, object: unknown): boolean => {
      const result = instance.validate(value, { targetName, property: propertyName, constraints: given, value, object: object as object });
      return !!result && typeof (result as { then?: unknown }).then !== 'function';
    };
    state.ajv.addKeyword({
      keyword,
      schemaType: 'boolean',
      errors: false,
      validate: (_schema: boolean, value: unknown, _parent: unknown, context?: { parentData?: unknown }) => {
        const object = context?.parentData;
        if (!each || !Array.isArray(value)) return passes(value, object);
        for (let i = 0; i < value.length; i++) if (i in value && !passes(value[i], object)) return false;
        return true;
      },
    });
    property[keyword] = true;
  }
  // One JSON type at each level, and bounds beside the type they refine.
  if (types.top.size > 1 || types.items.size > 1) return false;
  for (const { name, each } of bounds) {
    const level = each ? types.items : types.top;
    if (![...level].some((type) => NEEDS_TYPE[name].includes(type))) return false;
  }
  return true;
}

/** Values every SCHEMA_CONVERTERS keyword is tried on, plus each decorator's own bounds and their neighbours. */
const PROBES: readonly unknown[] = [
  undefined,
  null,
  true,
  false,
  0,
  -0,
  1,
  -1,
  1.5,
  -1.5,
  2,
  99,
  100,
  101,
  1e6,
  2 ** 31,
  2 ** 53,
  Number.MAX_VALUE,
  -Number.MAX_VALUE,
  '',
  ' ',
  'a',
  '1',
  'true',
  '0',
  [],
  ['a'],
  [1, 2],
  [{}],
  [null],
  {},
  { a: 1 },
];

/**
 * Whether the constraint registered under a SCHEMA_CONVERTERS name accepts every probe its
 * keyword (with the type its bounds require) accepts: a decorator that only borrows the name is
 * then run as written rather than replaced by the keyword.
 */
function trustedAs(name: string, metadata: ValidationMetadata, instance: ConstraintInstance): boolean {
  const piece = SCHEMA_CONVERTERS[name] as ((meta: unknown) => Schema) | Schema;
  const keyword = typeof piece === 'function' ? piece(metadata) : piece;
  const schema = NEEDS_TYPE[name] ? { ...keyword, type: NEEDS_TYPE[name][0] === 'integer' ? 'number' : 'array' } : keyword;
  const accepts = probeAjv.compile(schema);
  const given = (metadata.constraints ?? []).filter((c): c is number => typeof c === 'number');
  const probes = [
    ...PROBES,
    ...given.flatMap((c) => [
      c - 1,
      c - 0.5,
      c,
      c + 0.5,
      c + 1,
      new Array(Math.max(0, Math.min(c + 1, 1e4))).fill('a'),
      new Array(Math.max(0, Math.min(c, 1e4))).fill('a'),
    ]),
  ];
  try {
    for (const value of probes) {
      if (!accepts(value)) continue;
      const result = instance.validate(value, { targetName: '', property: metadata.propertyName, object: {}, value, constraints: metadata.constraints });
      if (result !== true) return false;
    }
  } catch {
    return false;
  }
  return true;
}

const probeAjv = new Ajv({ strict: true, strictNumbers: true });

// ---------------------------------------------------------------------------
// Run time.

const FAIL: unique symbol = Symbol('fall back');

/**
 * The instance `plainToInstance(type, payload, { enableImplicitConversion: false })` builds,
 * when ajv finds `payload` valid under the class's schema; undefined otherwise.
 */
export function fastValidInstance<T extends object>(type: Function, payload: object): T | undefined {
  const compiled = compiledFor(type);
  if (compiled === null || !isPlainObject(payload) || !compiled.validate!(payload)) return undefined;
  try {
    const built = build(compiled, payload as Record<string, unknown>);
    return built === FAIL ? undefined : (built as T);
  } catch {
    return undefined;
  }
}

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value) as object | null;
  return proto === Object.prototype || proto === null;
}

/**
 * class-transformer's plainToInstance on a payload the schema accepted: `new type()`, then each
 * key of the payload in order, arrays as new arrays (holes skipped), objects as instances of their
 * @Type class. Anything else (an untyped object, an array in an array, a non-plain object, a NUL)
 * goes to the reference path rather than being modelled.
 */
function build(compiled: CompiledClass, plain: Record<string, unknown>): unknown {
  const instance = new compiled.ctor() as Record<string, unknown>;
  for (const key of Object.keys(plain)) {
    const value = copyOf(plain[key], compiled.nested.get(key), false);
    if (value === FAIL) return FAIL;
    instance[key] = value;
  }
  return instance;
}

function copyOf(value: unknown, nested: CompiledClass | undefined, inArray: boolean): unknown {
  if (typeof value === 'string') return value.includes('\u0000') ? FAIL : value;
  if (typeof value !== 'object' || value === null) return typeof value === 'function' ? FAIL : value;
  if (Array.isArray(value)) {
    if (inArray || Object.getPrototypeOf(value) !== Array.prototype) return FAIL;
    const copy: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      if (!(i in value)) continue;
      const item = copyOf(value[i], nested, true);
      if (item === FAIL) return FAIL;
      copy.push(item);
    }
    return copy;
  }
  if (nested === undefined || !isPlainObject(value)) return FAIL;
  return build(nested, value as Record<string, unknown>);
}
