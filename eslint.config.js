// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/**
 * `npm run lint`: typescript-eslint's type-checked rules over everything TypeScript we write
 * (ADR 41). eslint-config-prettier last, so that layout is Prettier's business alone.
 */
export default tseslint.config(
  { ignores: ['dist/', '.build-*/', 'node_modules/', 'coverage/', 'deploy/', 'test/fixtures/generated/'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // A `void`-ed promise is a floating one too: its rejection is unhandled, which is how a reply
      // crash got in (issue 25). Await it, or end it with a `.catch` that logs.
      '@typescript-eslint/no-floating-promises': ['error', { ignoreVoid: false }],
      // Off: an async function without await is how this code implements a Promise-returning
      // interface (a saga step, a handler, a fake); `async` turns what it throws into a rejection,
      // which is what its callers handle. Dropping `async` would make those throw synchronously.
      '@typescript-eslint/require-await': 'off',
      // Off: here `Function` names a class, as TypeScript's decorators, reflect-metadata and Nest's
      // `Type` do (class-validator targets, handler classes); nothing calls through it.
      '@typescript-eslint/no-unsafe-function-type': 'off',
      // `_`-prefixed names are unused on purpose (a parameter a signature requires, a rest that drops keys).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    files: ['test/**/*.ts', '**/*.spec.ts'],
    rules: {
      // Off in tests: they read HTTP bodies (supertest's `body` is `any`), JSON.parse results and
      // raw rows, and assert on them with expect(); a wrong shape fails the assertion, which is the
      // safety these rules would add. Typing each body would add casts, not checks. For the same
      // reason a test's helper may declare such a body `any`.
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: globals.node },
  },
  prettier,
);
