/**
 * A token from the (simulated) payment provider: `tok_` and 1–60 characters of
 * `a-z 0-9 _`. Exported so that a checkout request can refuse a bad token with
 * a 400 before any saga starts.
 */
export const PAYMENT_TOKEN_PATTERN = /^tok_[a-z0-9_]{1,60}$/;
