import { registerDecorator, type ValidationArguments } from 'class-validator';

/**
 * A checkout names each sku once: a repeated sku is refused (400), not merged,
 * so that what the client sent and what the order holds can never differ.
 */
export function DistinctSkus(): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      name: 'distinctSkus',
      target: target.constructor,
      propertyName: String(propertyName),
      validator: {
        validate: (items: unknown) => firstRepeat(items) === undefined,
        defaultMessage: (args?: ValidationArguments) => {
          const [later, earlier] = firstRepeat(args?.value) ?? [0, 0];
          return `must not repeat a sku: ${args?.property}[${later}] repeats ${args?.property}[${earlier}]`;
        },
      },
    });
  };
}

function firstRepeat(items: unknown): [number, number] | undefined {
  if (!Array.isArray(items)) return undefined;
  const seen = new Map<unknown, number>();
  for (const [index, item] of items.entries()) {
    const sku = (item as { sku?: unknown } | null)?.sku;
    if (typeof sku !== 'string') continue;
    const earlier = seen.get(sku);
    if (earlier !== undefined) return [index, earlier];
    seen.set(sku, index);
  }
  return undefined;
}
