// The step between `pulumi up` and the program's first line that the mocks in tests/harness.ts
// skip: the Node.js language host starting index.ts. tests/languageHost/start.js starts the SDK's
// own entry (cmd/run) with the host's arguments and environment and the config the CLI passes
// for the committed dev stack (tests/pulumiCli.ts merges Pulumi.yaml's defaults into it), under
// mocks: the TypeScript and ts-node the host picks compile the program with our tsconfig, `main`
// resolves, and the program registers exactly the committed dev URN set.
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { loadProject, loadStack, programConfig, validateStackConfigAndApplyProjectConfig } from "./pulumiCli";

const ROOT = path.join(__dirname, "..");
const read = (file: string) => fs.readFileSync(path.join(ROOT, file), "utf8");

interface Started { code: number; typescript: string; tsnode: string; node: string; resources: Array<{ type: string; name: string }> }

test("index.ts starts through the language host's entry with the dev stack's config and registers the committed dev graph", () => {
    const project = loadProject(read("Pulumi.yaml"));
    expect(project.name).toBe("mlflow-platform");
    const merged = validateStackConfigAndApplyProjectConfig("dev", project, loadStack(read("Pulumi.dev.yaml")));
    // The host's PULUMI_CONFIG uses the older `<namespace>:config:<name>` keys (constructConfig in main.go).
    const env = Object.fromEntries(Object.entries(programConfig(project, merged)).map(([k, v]) => [`${project.name}:config:${k}`, v]));
    const result = spawnSync(process.execPath, [path.join(__dirname, "languageHost", "start.js"), "dev", JSON.stringify(env)], {
        cwd: path.join(ROOT, ".."), encoding: "utf8", timeout: 280_000,
    });
    const lastLine = result.stdout.trim().split("\n").pop() ?? "";
    expect([result.status, result.stderr.replace(/Error while signaling shutdown: .*\n?/, "")]).toEqual([0, ""]);
    const started = JSON.parse(lastLine) as Started;
    expect(started.code).toBe(0);
    // The project's own TypeScript (package.json), not the SDK's vendored 3.8.3; ts-node is the
    // SDK's vendored 7.0.1 (none in our dependencies), type-checking unless tsconfig says noCheck.
    const pkg = JSON.parse(read("package.json")) as { devDependencies: Record<string, string>; main: string; engines: { node: string } };
    expect(started.typescript).toBe(pkg.devDependencies.typescript);
    expect(started.tsnode).toBe(path.join("node_modules", "@pulumi", "pulumi", "vendor", "ts-node@7.0.1", "index.js"));
    expect(pkg.main).toBe("index.ts");
    expect(Number(started.node.split(".")[0])).toBeGreaterThanOrEqual(Number(/\d+/.exec(pkg.engines.node)![0]));
    // The same resources (type, name) as the committed URN set of the dev stack.
    const registered = started.resources.filter(r => r.type !== "pulumi:pulumi:Stack").map(r => `${r.type}::${r.name}`).sort();
    const committed = (JSON.parse(read("tests/urns/dev-mysql.json")) as string[]).map(urn => {
        const [, , qualified, name] = urn.split("::");
        return `${qualified.split("$").pop()}::${name}`;
    }).sort();
    expect(registered).toEqual(committed);
}, 300_000);
