// Test helper: starts the pack the way the Pulumi CLI's run-policy-pack does (ts-node with type
// checking, its compiler defaults, this directory's tsconfig.json), without the CLI. The pack then
// serves the analyzer gRPC API and prints its port. Usage (cwd policy/): node run-like-cli.js <repo root>
const path = require("path");
const root = process.argv[2];
const tsutils = require(path.join(root, "node_modules/@pulumi/pulumi/tsutils.js"));
const { tsnodeRequire, typescriptRequire } = tsutils.typeScriptRequireStrings();
require(tsnodeRequire).register({
    typeCheck: true, skipProject: false, compiler: typescriptRequire,
    compilerOptions: { target: "ES2020", module: "nodenext", moduleResolution: "nodenext", sourceMap: "true", ...tsutils.loadTypeScriptCompilerOptions("tsconfig.json") },
});
require(process.cwd());
