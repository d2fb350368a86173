// @ts-check
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
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
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    extends: [tseslint.configs.disableTypeChecked],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', globalThis: 'readonly' } },
  },
  prettier,
);
