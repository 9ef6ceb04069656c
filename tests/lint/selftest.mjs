// Proves the lint rules the project relies on are live: each fixture under tests/lint/fixtures
// breaks one rule with the real config and must be reported; program code (components/ and
// index.ts) must get the 80-line function limit, and exactly the renderers under components/
// the ban on @pulumi/* imports. Run by `npm run lint` after `eslint .`.
import { ESLint } from "eslint";
import madge from "madge";
import path from "node:path";

const root = path.resolve(import.meta.dirname, "..", "..");
const eslint = new ESLint({ cwd: root, ignore: false });
const expectations = [
    ["tests/lint/fixtures/outputInTemplate.ts", "@pulumi/no-output-in-template-literal"],
    ["tests/lint/fixtures/cycleA.ts", "import-x/no-cycle"],
    ["tests/lint/fixtures/components/demo/url.ts", "no-restricted-imports"],
];
let failed = 0;
for (const [file, ruleId] of expectations) {
    const [result] = await eslint.lintFiles([path.join(root, file)]);
    if (!result.messages.some(m => m.ruleId === ruleId)) {
        console.error(`lint selftest: ${file} should be reported by ${ruleId}; got ${JSON.stringify(result.messages.map(m => m.ruleId))}`);
        failed++;
    }
}
// import-x/no-cycle skips `import type`; madge follows type imports too (the six cycles removed
// earlier were type-only: each aws target file imported its args type from the class file).
const graph = await madge(path.join(root, "tests/lint/fixtures"), { fileExtensions: ["ts"], tsConfig: path.join(root, "tsconfig.json") });
if (graph.circular().length !== 1) {
    console.error(`lint selftest: madge should find the fixtures' cycle, found ${JSON.stringify(graph.circular())}`);
    failed++;
}
for (const file of ["index.ts", "components/trackingServer/aws.ts", "components/shared/ecs.ts"]) {
    const config = await eslint.calculateConfigForFile(path.join(root, file));
    const [level, options] = config.rules["max-lines-per-function"] ?? [];
    if (level !== 2 || options?.max !== 80) {
        console.error(`lint selftest: ${file} should have max-lines-per-function 80, has ${JSON.stringify(config.rules["max-lines-per-function"])}`);
        failed++;
    }
}
// The @pulumi ban follows file names: a target builder is exempt, a renderer is not, even one
// whose name starts like a builder's.
const [builder] = await eslint.lintFiles([path.join(root, "tests/lint/fixtures/components/demo/aws.ts")]);
if (builder.messages.some(m => m.ruleId === "no-restricted-imports")) {
    console.error("lint selftest: tests/lint/fixtures/components/demo/aws.ts is a target builder and may import @pulumi/*");
    failed++;
}
const pure = { "components/authProxy/nginx.ts": true, "components/projectPrune/awsSpec.ts": true, "components/shared/ecs.ts": true,
    "components/trackingServer/aws.ts": false, "components/trackingServer/awsPrune.ts": false, "components/shared/aws.ts": false,
    "components/backendStore/index.ts": false, "components/platform/wiring.ts": false, "components/authProxy/nginx.test.ts": false };
for (const [file, banned] of Object.entries(pure)) {
    const config = await eslint.calculateConfigForFile(path.join(root, file));
    if ((config.rules["no-restricted-imports"]?.[0] === 2) !== banned) {
        console.error(`lint selftest: ${file} should ${banned ? "" : "not "}have the @pulumi/* import ban, has ${JSON.stringify(config.rules["no-restricted-imports"])}`);
        failed++;
    }
}
if (failed > 0) process.exit(1);
console.log(`lint selftest: ${expectations.length} fixtures reported by ESLint, the fixture cycle by madge, the 80-line limit applies to program code, the @pulumi/* ban to renderers only`);
