// The linter: the standard correctness sets plus the type-aware rules that catch bugs
// this code can have (a promise nobody awaits, a `!` where a type would do). Why each
// rule is on or off: CONTRIBUTING.md. The formatter (Prettier) is checked by npm run lint too.

import js from "@eslint/js";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "build/", "node_modules/", "man/"] },
  {
    files: ["**/*.{js,mjs}"],
    extends: [js.configs.recommended],
    languageOptions: { globals: { process: "readonly", console: "readonly" } },
  },
  {
    files: ["**/*.ts"],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // A promise must be awaited, caught, or handed off on purpose with `void`.
      "@typescript-eslint/no-floating-promises": "error",
      "@typescript-eslint/no-misused-promises": "error",
      // `_name` says "unused on purpose"; `const { a, ...rest } = x` drops `a` on purpose.
      "@typescript-eslint/no-unused-vars": [
        "error",
        { argsIgnorePattern: "^_", varsIgnorePattern: "^_", caughtErrorsIgnorePattern: "^_", ignoreRestSiblings: true },
      ],
      // `any` enters only through JSON.parse and the wire, whose values the tests read on purpose.
      "@typescript-eslint/no-unsafe-argument": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
      "@typescript-eslint/no-unsafe-call": "off",
      "@typescript-eslint/no-unsafe-member-access": "off",
      "@typescript-eslint/no-unsafe-return": "off",
      // An async method that does not await still implements an interface that returns a promise.
      "@typescript-eslint/require-await": "off",
      // Rejections pass on abort reasons and Node's callback errors, which are typed any or unknown.
      "@typescript-eslint/prefer-promise-reject-errors": "off",
      // Terminal control characters are matched on purpose (escape sequences, terminal safety).
      "no-control-regex": "off",
    },
  },
  {
    // lmc's own code is held to two more. A `!` only on an element read by index
    // (`argv[i]!`, `match[1]!`): under noUncheckedIndexedAccess no type can say that an
    // index is in bounds, while anywhere else a type (a union, a check) says what `!`
    // would assume. Tests and scripts may assert anything (a wrong `!` fails the test)
    // and turn wire values of type unknown into text on purpose.
    files: ["src/**/*.ts"],
    rules: {
      "no-restricted-syntax": [
        "error",
        {
          selector: "TSNonNullExpression:not([expression.type='MemberExpression'][expression.computed=true])",
          message: "A non-null assertion where a type would do: narrow with a check, or give the value a type that says it is there.",
        },
      ],
      "@typescript-eslint/no-base-to-string": "error",
    },
  },
  {
    // The launcher and the snapshot's entry are CommonJS that load modules on first use
    // (node:sea, node:os, the bundle once the snapshot is restored): require() on purpose.
    files: ["src/startup/launch.ts", "src/startup/snapshot-entry.ts"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    files: ["test/**/*.ts", "scripts/**/*.ts"],
    rules: { "@typescript-eslint/no-base-to-string": "off" },
  },
);
