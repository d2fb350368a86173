/** A stock keeping unit: 1–64 characters of `A-Z 0-9 - _`. */
export const SKU_PATTERN = /^[A-Z0-9_-]{1,64}$/;
