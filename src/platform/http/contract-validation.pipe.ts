import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { describeFieldErrors } from '../validation/field-errors.js';
import { validateInput } from '../validation/validate-input.js';
import { ProblemException } from './problem.js';

const PLAIN_TYPES: readonly unknown[] = [String, Number, Boolean, Array, Object];

/**
 * Validates request bodies and queries against their DTO class with the same
 * policy as a contract call on receipt, so bad input stops at the gateway
 * with a 400 and never reaches a module.
 */
@Injectable()
export class ContractValidationPipe implements PipeTransform {
  async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const { metatype, type } = metadata;
    if ((type !== 'body' && type !== 'query') || !metatype || PLAIN_TYPES.includes(metatype)) return value;
    const result = await validateInput(metatype as new () => object, value ?? {});
    if (!result.ok) throw new ProblemException(400, describeFieldErrors(result.errors), result.errors);
    return result.value;
  }
}
