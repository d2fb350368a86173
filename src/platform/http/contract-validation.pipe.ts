import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { describeFieldErrors } from '../validation/field-errors.js';
import { decoratorSchemaOf } from '../validation/schema-validator.js';
import { validateInput } from '../validation/validate-input.js';
import { ProblemException } from './problem.js';

const PLAIN_TYPES: readonly unknown[] = [String, Number, Boolean, Array, Object];

/** A query string's integer: digits, an optional sign, no more than a safe integer has (so `1.5`, `1e3`, ` 1` stay text, and fail). */
const INTEGER_TEXT = /^-?[0-9]{1,15}$/;

/**
 * Validates request bodies and queries against their DTO class with the same
 * policy as a contract call on receipt, so bad input stops at the gateway
 * with a 400 and never reaches a module.
 */
@Injectable()
export class ContractValidationPipe implements PipeTransform {
  private readonly integerFields = new Map<Function, readonly string[]>();

  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const { metatype, type } = metadata;
    if ((type !== 'body' && type !== 'query') || !metatype || PLAIN_TYPES.includes(metatype)) return value;
    const input = type === 'query' ? this.readIntegers(metatype, value) : value;
    const result = await validateInput(metatype as new () => object, input ?? {});
    if (!result.ok) throw new ProblemException(400, describeFieldErrors(result.errors), result.errors);
    return result.value;
  }

  /**
   * A query string is all text, so the one policy (nothing is coerced) would refuse every
   * number in it: a field the DTO declares an integer (`limit`) is read as one when its text is
   * an integer's, and left as text otherwise, for validation to refuse with its usual message.
   */
  private readIntegers(metatype: Function, value: unknown): unknown {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
    let fields = this.integerFields.get(metatype);
    if (fields === undefined) {
      const properties = (decoratorSchemaOf(metatype).properties ?? {}) as Record<string, { type?: string }>;
      fields = Object.entries(properties).flatMap(([name, schema]) => (schema.type === 'integer' ? [name] : []));
      this.integerFields.set(metatype, fields);
    }
    if (fields.length === 0) return value;
    const read: Record<string, unknown> = { ...(value as Record<string, unknown>) };
    for (const field of fields) {
      const text = read[field];
      if (typeof text === 'string' && INTEGER_TEXT.test(text)) read[field] = Number(text);
    }
    return read;
  }
}
