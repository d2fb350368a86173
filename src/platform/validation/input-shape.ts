import type { FieldError } from '../contracts/module.error.js';

/**
 * Property names that mean something to JavaScript's objects rather than to
 * a DTO. JSON.parse makes them ordinary own properties, which class-transformer
 * then skips (so whitelisting never saw them) and a careless merge would turn
 * into a prototype change: they are refused like any unknown property.
 */
export const RESERVED_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** Deeper than any DTO of the application nests (an order's address is 2 levels). */
export const MAX_INPUT_DEPTH = 32;

/**
 * What is wrong with a parsed JSON value before its content is looked at: a
 * reserved property name anywhere, or more nesting than MAX_INPUT_DEPTH.
 * Iterative, so that a hostile value cannot exhaust the stack either.
 */
export function inputShapeErrors(value: unknown, maxDepth = MAX_INPUT_DEPTH): FieldError[] {
  const stack: Array<{ value: unknown; path: string; depth: number }> = [{ value, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { value: current, path, depth } = stack.pop()!;
    if (current === null || typeof current !== 'object') continue;
    if (depth >= maxDepth) return [{ field: path, message: `is nested more than ${maxDepth} levels deep` }];
    if (Array.isArray(current)) {
      for (let i = current.length - 1; i >= 0; i--) stack.push({ value: current[i], path: `${path}[${i}]`, depth: depth + 1 });
      continue;
    }
    for (const key of Object.keys(current)) {
      const field = path ? `${path}.${key}` : key;
      if (RESERVED_KEYS.has(key)) return [{ field, message: `property ${key} should not exist` }];
      stack.push({ value: (current as Record<string, unknown>)[key], path: field, depth: depth + 1 });
    }
  }
  return [];
}

/** JSON text parsed, or undefined when it is not JSON (never throws). */
export function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: text.length === 0 ? null : JSON.parse(text) };
  } catch {
    return undefined;
  }
}
