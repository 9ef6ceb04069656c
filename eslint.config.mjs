// ESLint flat config: typescript-eslint's type-checked rules, Pulumi's rule against Outputs in
// template strings, an import-cycle check, and the 80-line function limit for program code.
// `npm run lint` runs this, then madge (import cycles including `import type` ones, which
// import-x skips), then tests/lint/selftest.mjs, which proves each of those rules
// fires on a fixture that breaks it.
import pulumi from "@pulumi/eslint-plugin";
import importX, { createNodeResolver } from "eslint-plugin-import-x";
import tseslint from "typescript-eslint";

export default tseslint.config(
    // examples/ import the packed package by name: tests/example.test.ts type-checks them against it.
    { ignores: ["node_modules/", "bin/", "e2e/out/", "e2e/.venv/", "tests/lint/fixtures/", "examples/", "**/*.js", "**/*.mjs"] },
    {
        files: ["**/*.ts"],
        extends: [tseslint.configs.recommendedTypeChecked],
        languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
        plugins: { "@pulumi": pulumi, "import-x": importX },
        settings: {
            "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".js", ".json"] })],
            // Without these import-x skips .ts modules when it follows imports, and sees no cycle.
            "import-x/extensions": [".ts", ".js"],
            "import-x/parsers": { "@typescript-eslint/parser": [".ts"] },
        },
        rules: {
            // An Output in a plain template string renders as a warning text, not its value: use pulumi.interpolate.
            "@pulumi/no-output-in-template-literal": "error",
            "@pulumi/no-output-instance-in-template-literal": "error",
            "import-x/no-cycle": ["error", { ignoreExternal: true }],
        },
    },
    {
        // Tests, the e2e renderer and the policy pack read resource inputs, which are untyped by
        // nature (the provider's wire format): the any-tracking rules would only add casts.
        // Tests also load CommonJS scripts (.ci/*.js, protobuf stubs) with require(). Every other rule applies.
        files: ["tests/**/*.ts", "**/*.test.ts", "e2e/**/*.ts", "policy/**/*.ts"],
        rules: {
            "@typescript-eslint/no-require-imports": "off",
            "@typescript-eslint/no-explicit-any": "off",
            "@typescript-eslint/no-unsafe-argument": "off",
            "@typescript-eslint/no-unsafe-assignment": "off",
            "@typescript-eslint/no-unsafe-call": "off",
            "@typescript-eslint/no-unsafe-member-access": "off",
            "@typescript-eslint/no-unsafe-return": "off",
        },
    },
    {
        // Renderers stay pure: under components/ only a component's index.ts and types.ts, its target builders (docker.ts, aws.ts, aws<Part>.ts) and platform/ hold Pulumi resources; every other file is a pure renderer and imports no @pulumi/*.
        files: ["components/**/*.ts", "tests/lint/fixtures/components/**/*.ts"],
        ignores: [
            "**/*.test.ts", "**/index.ts", "**/types.ts", "**/docker.ts", "**/aws.ts", "**/aws[A-Z]*.ts", "components/platform/**",
            // Pure despite its prefix: the prune task's spec and policy documents.
            "!components/projectPrune/awsSpec.ts",
            // Not renderers: the constructor type the component classes share (pulumi.ComponentResourceOptions),
            // and the random salt and password both targets' proxies keep in state.
            "components/shared/target.ts", "components/shared/credentials.ts",
        ],
        rules: {
            "no-restricted-imports": ["error", { patterns: [{ group: ["@pulumi/*"], message: "Renderers stay pure: create resources in the component's index.ts, docker.ts or aws*.ts (or shared/docker.ts, shared/aws.ts)." }] }],
        },
    },
    {
        // Program code: components and the entry point. Tests are tables and may run long.
        files: ["components/**/*.ts", "index.ts"],
        ignores: ["**/*.test.ts"],
        rules: { "max-lines-per-function": ["error", { max: 80 }] },
    },
);
