// ESLint for the whole tree (src, bench, test): JavaScript's and typescript-eslint's
// recommended rules, formatting left to Prettier (npm run format).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import prettier from 'eslint-config-prettier';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.tap/', 'tmp/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  // The npx launcher is plain CommonJS for Node, not TypeScript.
  {
    files: ['bin/**/*.js'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', __dirname: 'readonly', process: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  // The live page's script runs in the browser: a plain script, the DOM's globals.
  {
    files: ['src/console/assets/**/*.js'],
    languageOptions: {
      sourceType: 'script',
      globals: Object.fromEntries(
        ['window', 'document', 'fetch', 'EventSource', 'URLSearchParams', 'CSS', 'performance', 'encodeURIComponent'].map((g) => [g, 'readonly']),
      ),
    },
  },
  {
    rules: {
      // `_name` marks what a signature needs but the body does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' }],
      // Node's own APIs and tap's hand over values a test must look into.
      '@typescript-eslint/no-explicit-any': 'error',
      eqeqeq: ['error', 'always'],
      // A variable a teardown closure reads before the test assigns it is no constant.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
);
