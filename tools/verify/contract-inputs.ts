import 'reflect-metadata';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type { MetadataStorage as TransformerStorage } from 'class-transformer/types/MetadataStorage.js';
import type { getMetadataStorage } from 'class-validator';
import type * as Jsonschema from 'class-validator-jsonschema';
import type { Shape } from './contract-model.js';

type ValidatorStorage = ReturnType<typeof getMetadataStorage>;

/**
 * Input and event payload shapes from the classes that validate them:
 * class-validator-jsonschema turns each class's class-validator metadata into
 * a JSON Schema (IsInt -> integer, Length -> minLength/maxLength, IsIn -> enum,
 * IsOptional -> not required...), with class-transformer's @Type for nested
 * classes. Nested classes are inlined (the library names them by class name
 * only, which two modules may share), and custom constraints the library does
 * not know (e.g. distinctSkus) are listed by name, so that adding one shows.
 *
 * The libraries are taken as the tree under check resolves them, so that the
 * metadata read is the metadata its classes registered.
 */
export class InputShapes {
  private readonly validators: ValidatorStorage;
  private readonly transformer: TransformerStorage;
  private readonly jsonschema: typeof Jsonschema;
  private readonly known: ReadonlySet<string>;

  constructor(root: string) {
    const require = createRequire(join(root, 'package.json'));
    this.validators = (require('class-validator') as { getMetadataStorage: typeof getMetadataStorage }).getMetadataStorage();
    this.transformer = (require('class-transformer/cjs/storage.js') as { defaultMetadataStorage: TransformerStorage }).defaultMetadataStorage;
    // class-validator-jsonschema is the checker's own dependency; it is handed the tree's storages.
    this.jsonschema = createRequire(import.meta.url)('class-validator-jsonschema') as typeof Jsonschema;
    const converters = (
      createRequire(import.meta.url)('class-validator-jsonschema/build/defaultConverters.js') as {
        defaultConverters: Record<string, unknown>;
      }
    ).defaultConverters;
    this.known = new Set(Object.keys(converters));
  }

  of(type: Function): Shape {
    return this.shape(type, []);
  }

  private shape(type: Function, seen: readonly Function[]): Shape {
    if (seen.includes(type)) return { type: 'object', $ref: type.name };
    const custom = this.customValidators(type);
    const schema = this.jsonschema.targetConstructorToSchema(type, {
      classValidatorMetadataStorage: this.validators,
      classTransformerMetadataStorage: this.transformer,
      // Left to itself, the library describes a custom constraint by the property's design:type (a $ref to Array...).
      additionalConverters: Object.fromEntries([...new Set([...custom.values()].flat())].map((name) => [name, {}])),
    }) as Record<string, unknown>;
    const properties = Object.entries((schema.properties ?? {}) as Record<string, Record<string, unknown>>).map(
      ([name, property]) => [name, this.property(type, name, property, custom.get(name), [...seen, type])] as const,
    );
    return {
      type: 'object',
      properties: Object.fromEntries(properties),
      required: [...((schema.required as string[] | undefined) ?? [])].sort(),
    };
  }

  private property(owner: Function, name: string, schema: Record<string, unknown>, custom: string[] | undefined, seen: readonly Function[]): Shape {
    const nested = (): Shape => {
      const typeMeta = this.transformer.findTypeMetadata(owner, name);
      const child = typeMeta ? typeMeta.typeFunction() : (Reflect.getMetadata('design:type', owner.prototype as object, name) as unknown);
      return typeof child === 'function' && child !== Object && child !== Array ? this.shape(child, seen) : { type: 'object' };
    };
    const clean = (node: Record<string, unknown>): Record<string, unknown> => {
      // IsDefined's `not: { type: 'null' }` is what `required` already says.
      const { $ref, not, items, ...rest } = node;
      const out: Record<string, unknown> = { ...rest };
      if (not !== undefined && JSON.stringify(not) !== '{"type":"null"}') out.not = not;
      if ($ref !== undefined) Object.assign(out, nested(), { type: 'object' });
      if (items !== undefined) out.items = clean(items as Record<string, unknown>);
      return out;
    };
    const shape = clean(schema);
    // IsIn([...]) lists values in any order; the set is the contract.
    const sortEnums = (node: Record<string, unknown>) => {
      if (Array.isArray(node.enum)) node.enum = [...(node.enum as unknown[])].sort();
      if (node.items) sortEnums(node.items as Record<string, unknown>);
    };
    sortEnums(shape);
    if (shape.type === undefined) shape.type = 'unknown';
    if (custom && custom.length > 0) shape.validators = custom;
    return shape;
  }

  /** Custom constraints (registerDecorator, @Validate) per property: the library maps them to nothing. */
  private customValidators(type: Function): Map<string, string[]> {
    const byProperty = new Map<string, string[]>();
    for (const meta of this.validators.getTargetValidationMetadatas(type, '', true, false)) {
      if (!meta.constraintCls) continue;
      const name = this.validators.getTargetValidatorConstraints(meta.constraintCls)[0]?.name ?? meta.name;
      if (!name || this.known.has(name)) continue;
      const names = byProperty.get(meta.propertyName) ?? [];
      if (!names.includes(name)) byProperty.set(meta.propertyName, [...names, name].sort());
    }
    return byProperty;
  }
}
