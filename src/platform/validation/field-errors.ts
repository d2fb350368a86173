import type { ValidationError } from 'class-validator';
import type { FieldError } from '../contracts/module.error.js';

/**
 * Flattens class-validator's tree into `{ field, message }` pairs whose field
 * is a path a client can act on: `items[0].quantity`, `shippingAddress.country`.
 */
export function toFieldErrors(errors: readonly ValidationError[], parent = ''): FieldError[] {
  const result: FieldError[] = [];
  for (const error of errors) {
    const field = joinPath(parent, error.property);
    for (const message of relevantMessages(error.constraints ?? {})) {
      result.push({ field, message: stripPropertyName(message, error.property) });
    }
    if (error.children?.length) result.push(...toFieldErrors(error.children, field));
  }
  return result;
}

// When the value has the wrong type, its range checks only add noise ("2" is not "greater than 1000").
const TYPE_CHECKS = new Set(['isInt', 'isString', 'isNumber', 'isBoolean', 'isArray', 'isObject', 'nestedValidation', 'isUuid']);

function relevantMessages(constraints: Record<string, string>): string[] {
  const typeFailures = Object.entries(constraints).filter(([name]) => TYPE_CHECKS.has(name));
  return (typeFailures.length > 0 ? typeFailures : Object.entries(constraints)).map(([, message]) => message);
}

function joinPath(parent: string, property: string): string {
  if (/^\d+$/.test(property)) return `${parent}[${property}]`;
  return parent ? `${parent}.${property}` : property;
}

// class-validator prefixes messages with the property name ("quantity must be ...");
// the field already says which property, so keep only the predicate.
function stripPropertyName(message: string, property: string): string {
  return message.startsWith(`${property} `) ? message.slice(property.length + 1) : message;
}

/** One sentence for problem+json's `detail`: the first violation, with its path. */
export function describeFieldErrors(errors: readonly FieldError[]): string {
  if (errors.length === 0) return 'the request is invalid';
  const [first] = errors;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return `${first.field} ${first.message}${more}`;
}
