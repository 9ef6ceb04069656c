// Starts the program the way the Pulumi CLI's Node.js language host does, with the engine
// replaced by Pulumi's mocks: the host (pulumi/pulumi sdk/nodejs/cmd/pulumi-language-nodejs,
// main.go) spawns `node <@pulumi/pulumi>/cmd/run --pwd <dir> .` with PULUMI_CONFIG holding the
// merged stack config (keys `<namespace>:config:<name>`), PULUMI_CONFIG_SECRET_KEYS and, for
// `runtime.options.typescript: true`, PULUMI_NODEJS_TYPESCRIPT=true. cmd/run/run.js then picks
// the entry point (package.json `main`), registers ts-node with the repo's tsconfig.json and the
// TypeScript it finds, and requires the program inside the root stack. Here cmd/run is started
// with the host's arguments in this same process after setMocks, so the monitor it talks to is
// the mock one rather than an engine's.
// Usage: node tests/languageHost/start.js <stack> '<PULUMI_CONFIG json>'
// Prints one JSON line: the TypeScript and ts-node it used, and every registered resource.
"use strict";
const path = require("path");

const root = path.join(__dirname, "..", "..");
const [stack, configJson] = process.argv.slice(2);
process.env.PULUMI_CONFIG = configJson;
process.env.PULUMI_CONFIG_SECRET_KEYS = "[]";
process.env.PULUMI_NODEJS_TYPESCRIPT = "true";
process.env.PULUMI_NODEJS_PROJECT = "mlflow-platform";
process.env.PULUMI_NODEJS_STACK = stack;

const sdk = path.join(root, "node_modules", "@pulumi", "pulumi");
const pulumi = require(sdk);
const { typeScriptRequireStrings } = require(path.join(sdk, "tsutils.js"));

const resources = [];
pulumi.runtime.setMocks({
    newResource(args) {
        resources.push({ type: args.type, name: args.name });
        const state = { ...args.inputs };
        // The few outputs the program reads back from providers (as tests/harness.ts mocks them).
        if (args.type === "random:index/randomPassword:RandomPassword") Object.assign(state, { result: "pw-S3cret!@:%", bcryptHash: `$2b$10$${"a".repeat(53)}` });
        if (args.type === "random:index/randomString:RandomString") state.result = "abcdefghijklmnopqrstuv".slice(0, args.inputs.length ?? 22);
        if (args.type === "docker:index/remoteImage:RemoteImage") Object.assign(state, { imageId: `sha256:${args.name}`, repoDigest: `${args.inputs.name}@sha256:0000` });
        if (args.type === "docker:index/image:Image") Object.assign(state, { repoDigest: "", baseImageName: args.inputs.imageName });
        if (args.type === "docker:index/container:Container") state.exitCode = 0;
        return { id: `${args.name}-id`, state };
    },
    call(args) {
        throw new Error(`unexpected function call: ${args.token}`);
    },
}, "mlflow-platform", stack, true);

// On exit (cmd/run sets the exit code: non-zero on any uncaught or logged error), one JSON line.
process.on("exit", code => {
    const { typescriptRequire, tsnodeRequire } = typeScriptRequireStrings();
    const ts = require(typescriptRequire);
    process.stdout.write(`${JSON.stringify({
        code: process.exitCode ?? code,
        typescript: ts.version,
        tsnode: path.relative(root, require.resolve(tsnodeRequire)),
        node: process.versions.node,
        resources,
    })}\n`);
});

// The host's arguments (constructArguments in main.go): the engine address is never dialled here.
process.argv = [process.argv[0], path.join(sdk, "cmd", "run"), "--monitor", "127.0.0.1:1", "--project", "mlflow-platform",
    "--stack", stack, "--pwd", root, "--dry-run", "."];
require(path.join(sdk, "cmd", "run"));
