import type { FieldError } from '../../../../platform/index.js';

/**
 * A field error for every line that repeats an earlier line's sku. The
 * contract asks for distinct skus: merging them here would hide a caller's
 * bug, and a reservation that holds one sku twice could not be given back
 * line by line.
 */
export function duplicateSkus(lines: ReadonlyArray<{ readonly sku: string }>): FieldError[] {
  const firstIndex = new Map<string, number>();
  const errors: FieldError[] = [];
  lines.forEach((line, index) => {
    const first = firstIndex.get(line.sku);
    if (first === undefined) firstIndex.set(line.sku, index);
    else errors.push({ field: `lines[${index}].sku`, message: `duplicates lines[${first}].sku` });
  });
  return errors;
}
