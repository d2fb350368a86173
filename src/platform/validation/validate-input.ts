import type { Type } from '@nestjs/common';
import { plainToInstance } from 'class-transformer';
import { validate, type ValidatorOptions } from 'class-validator';
import type { FieldError } from '../contracts/module.error.js';
import { fastValidInstance } from './schema-validator.js';
import { toFieldErrors } from './field-errors.js';
import { inputShapeErrors } from './input-shape.js';

/**
 * The one validation policy of the whole application, used by the HTTP
 * gateway and by every contract call on receipt: unknown properties are
 * errors, nothing is coerced (a string is not a number, 1.5 is not an integer),
 * and reserved names (`__proto__`, `constructor`, `prototype`) and excessive
 * nesting are refused before anything else (input-shape.ts).
 */
export const VALIDATOR_OPTIONS: ValidatorOptions = {
  whitelist: true,
  forbidNonWhitelisted: true,
  forbidUnknownValues: true,
  validationError: { target: false, value: false },
};

export type Validated<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

function notAnObject(): { ok: false; errors: FieldError[] } {
  return { ok: false, errors: [{ field: '', message: 'must be a JSON object' }] };
}

/**
 * Validates a payload against its DTO class. Valid payloads of the classes the
 * schema path takes (schema-validator.ts: a JSON Schema generated from the
 * class's decorators, compiled by ajv; every DTO of the application) are
 * accepted and instantiated without class-transformer or class-validator;
 * everything else, and every payload ajv does not accept, goes through
 * validateInputSlow, so that every error is class-validator's.
 */
export async function validateInput<T extends object>(type: Type<T>, payload: unknown): Promise<Validated<T>> {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return notAnObject();
  const shape = inputShapeErrors(payload);
  if (shape.length > 0) return { ok: false, errors: shape };
  const value = fastValidInstance<T>(type, payload);
  if (value !== undefined) return { ok: true, value };
  return validateInputSlow(type, payload);
}

/** The reference implementation: class-transformer's plainToInstance, then class-validator's validate. */
export async function validateInputSlow<T extends object>(type: Type<T>, payload: unknown): Promise<Validated<T>> {
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return notAnObject();
  const shape = inputShapeErrors(payload);
  if (shape.length > 0) return { ok: false, errors: shape };
  const nul = fieldsWithNul(payload);
  if (nul.length > 0) return { ok: false, errors: nul.map((field) => ({ field, message: 'must not contain the NUL character' })) };
  let instance: T;
  try {
    instance = plainToInstance(type, payload, { enableImplicitConversion: false });
  } catch {
    // class-transformer chokes on some shapes (an object whose own key is `constructor`):
    // whatever they are, they are not a request this API understands.
    return { ok: false, errors: [{ field: '', message: 'is not a valid request (a property name is reserved)' }] };
  }
  const errors = await validate(instance, VALIDATOR_OPTIONS);
  return errors.length === 0 ? { ok: true, value: instance } : { ok: false, errors: toFieldErrors(errors) };
}

/** Postgres cannot store U+0000 in text: refuse it up front, anywhere in the input, rather than fail later with a 500. */
export function fieldsWithNul(value: unknown, path = ''): string[] {
  if (typeof value === 'string') return value.includes('\u0000') ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((item, index) => fieldsWithNul(item, `${path}[${index}]`));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => fieldsWithNul(item, path ? `${path}.${key}` : key));
  }
  return [];
}
