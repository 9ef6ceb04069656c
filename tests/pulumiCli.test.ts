// Our files against what the Pulumi CLI checks before the program starts (tests/pulumiCli.ts,
// ported from pulumi/pulumi's ValidateStackConfigAndApplyProjectConfig and `config set`): Pulumi.yaml
// with every committed stack file and a new empty stack, every `pulumi config set|rm` that the
// docs, workflows and scripts tell users to run, and the Fix of every config error. Each must be
// accepted by the CLI for the key's declared type, and the program must read what the CLI passes.
import * as fs from "fs";
import * as path from "path";
import { CONFIG_SCHEMA, ConfigError, parseConfig, PROJECT, projectPriorityCollisions } from "../components/config";
import type { ConfigKey } from "../components/config/schema";
import {
    applyConfigCommand, loadProject, loadStack, parseConfigCommand, programConfig, Project, SECRET_LOOKING_KEY, shellWords, StackConfig,
    validateProject, validateStackConfigAndApplyProjectConfig,
} from "./pulumiCli";

const ROOT = path.join(__dirname, "..");
const project = loadProject(fs.readFileSync(path.join(ROOT, "Pulumi.yaml"), "utf8"));

/** The problems the program reports for what the CLI passes it (none: []). */
function programProblems(merged: StackConfig): string[] {
    try {
        const secretKeys = [...merged].filter(([, v]) => v.secure).map(([k]) => k);
        parseConfig(programConfig(project, merged), merged.get("aws:region")?.text, secretKeys);
        return [];
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
}

describe("the port of the CLI's rules reproduces the CLI's own tests (pkg/workspace/config_project_test.go)", () => {
    const p = (config: string) => loadProject(`name: test\nruntime: dotnet\nconfig:\n${config}`);
    // The CLI's test encrypts with config.Base64Crypter.
    const base64 = (c: string) => Buffer.from(c, "base64").toString();
    const run = (proj: Project, stack: string) => () => validateStackConfigAndApplyProjectConfig("dev", proj, loadStack(stack, base64));
    test("TestStackConfigErrorsWhenMissingStackValueForConfigTypeWithNoDefault", () => {
        expect(run(p("  values:\n    type: array\n    items:\n      type: string"), "")).toThrow("Stack 'dev' is missing configuration value 'values'");
    });
    test("TestStackConfigErrorsWhenMissingTwoStackValueForConfigTypeWithNoDefault", () => {
        const proj = p("  values:\n    type: array\n    items:\n      type: string\n  another:\n    type: string");
        expect(run(proj, "")).toThrow("Stack 'dev' is missing configuration values 'another' and 'values'");
    });
    test("TestStackConfigErrorsWhenStackValueIsNotCorrectlyTyped", () => {
        const proj = p("  values:\n    type: array\n    items:\n      type: string\n    default: [value]");
        expect(run(proj, "config:\n  test:values: someValue\n")).toThrow("Stack 'dev' with configuration key 'values' must be of type 'array<string>'");
    });
    test("TestStackConfigIntegerTypeIsCorrectlyValidated", () => {
        const proj = p("  importantNumber:\n    type: integer");
        expect(run(proj, "config:\n  test:importantNumber: 20\n")).not.toThrow();
        expect(run(proj, "config:\n  test:importantNumber: hello\n")).toThrow("Stack 'dev' with configuration key 'importantNumber' must be of type 'integer'");
    });
    test("TestStackConfigSecretIsCorrectlyValidated", () => {
        const proj = p("  importantNumber:\n    type: integer\n    secret: true");
        expect(run(proj, "config:\n  test:importantNumber:\n    secure: MjA=\n")).not.toThrow();
        expect(run(proj, "config:\n  test:importantNumber: 20\n")).toThrow("Stack 'dev' with configuration key 'importantNumber' must be encrypted as it's secret");
    });
    test("a declared secret's default is merged as plaintext and refused (why our secrets stay undeclared)", () => {
        expect(run(p("  pw:\n    type: string\n    secret: true\n    default: \"\""), "")).toThrow("must be encrypted as it's secret");
    });
    test("Project.Validate and the project schema refuse what they refuse", () => {
        expect(() => validateProject(p("  a:\n    type: array"))).toThrow("does not specify the underlying type via the 'items' attribute");
        expect(() => validateProject(p("  a:\n    type: integer\n    default: x"))).toThrow("is not of the expected type 'integer'");
        expect(() => validateProject(p("  a:\n    type: list"))).toThrow("value must be one of");
        expect(() => validateProject(p("  a:\n    type: string\n    required: true"))).toThrow("'required' not allowed");
        expect(() => validateProject(p("  a:\n    type: string\n    default: x\n    value: y"))).toThrow("cannot have both");
    });
    test("a JSON text set without --path stays a string, and a declared array refuses it", () => {
        const proj = p("  names:\n    type: array\n    items:\n      type: string\n    default: []");
        const stack = loadStack("");
        applyConfigCommand(proj, stack, parseConfigCommand(shellWords(`pulumi config set names '["a","b"]'`)));
        expect(() => validateStackConfigAndApplyProjectConfig("dev", proj, stack)).toThrow("must be of type 'array<string>'");
        const byPath = loadStack("");
        for (const cmd of ["pulumi config set --path 'names[0]' a", "pulumi config set --path 'names[1]' b"]) applyConfigCommand(proj, byPath, parseConfigCommand(shellWords(cmd)));
        expect(programConfig(proj, validateStackConfigAndApplyProjectConfig("dev", proj, byPath))).toEqual({ names: "[\"a\",\"b\"]" });
        expect(() => applyConfigCommand(proj, loadStack(""), parseConfigCommand(shellWords("pulumi config set --path 'names[1]' b")))).toThrow("array index out of range");
    });
});

describe("Pulumi.yaml and the stack files", () => {
    test("Pulumi.yaml passes the project's config rules", () => {
        expect(() => validateProject(project)).not.toThrow();
        expect(project.name).toBe(PROJECT);
    });

    const stacks: Array<[string, string]> = [
        ...fs.readdirSync(ROOT).filter(f => /^Pulumi\.[^.]+\.yaml$/.test(f)).map(f => [f, fs.readFileSync(path.join(ROOT, f), "utf8")] as [string, string]),
        ["a new stack with no config (pulumi stack init)", ""],
    ];
    test.each(stacks)("%s: the CLI accepts it and the program reads what the CLI passes", (name, text) => {
        const stack = loadStack(text);
        const merged = validateStackConfigAndApplyProjectConfig(name, project, stack);
        expect(programProblems(merged)).toEqual([]);
    });

    test("both committed stacks are covered", () => {
        expect(stacks.map(([n]) => n)).toEqual(expect.arrayContaining(["Pulumi.dev.yaml", "Pulumi.aws.yaml"]));
    });
});

// ---- every config command we tell users to run ------------------------------------------------

const SKIP_DIRS = new Set(["node_modules", ".git", ".venv", ".venv-actionlint", "out", "__pycache__", "bin", "node22"]);

function textFiles(dir: string): string[] {
    return fs.readdirSync(dir, { withFileTypes: true }).flatMap(e => {
        const full = path.join(dir, e.name);
        if (e.isDirectory()) return SKIP_DIRS.has(e.name) || e.name.startsWith(".venv") ? [] : textFiles(full);
        if (!e.isFile() || /\.test\.ts$|^pulumiCli\.ts$|\.(png|jpg|ico|lock|json)$/.test(e.name)) return [];
        return [full];
    });
}

/** The command starting at `from`, up to the end of its line, `&&`, `;`, `|`, a comment or a closing backtick (outside quotes). */
function commandAt(text: string, from: number): string {
    let quote = "";
    for (let i = from; i < text.length; i++) {
        const c = text[i];
        if (quote) {
            if (c === quote) quote = "";
            continue;
        }
        if (c === "'" || c === "\"") quote = c;
        else if (c === "\n" || c === "`" || c === ";" || c === "|" || (c === "&" && text[i + 1] === "&") || (c === "#" && /\s/.test(text[i - 1]))) return text.slice(from, i).trim();
    }
    return text.slice(from).trim();
}

interface Found { where: string; command: string }

function documentedCommands(): Found[] {
    const found: Found[] = [];
    for (const file of textFiles(ROOT)) {
        const text = fs.readFileSync(file, "utf8");
        for (const m of text.matchAll(/pulumi config (set|rm)\b/g)) {
            const command = commandAt(text, m.index);
            // Template literals in code are built per key: the error sweep below covers them. Prose
            // ("the `pulumi config set` that fixes it") names no key.
            if (/\$\{(?!\{)/.test(command) || shellWords(command).length < 4) continue;
            const line = text.slice(0, m.index).split("\n").length;
            found.push({ where: `${path.relative(ROOT, file)}:${line}`, command });
        }
    }
    return found;
}

/** A shell substitution stands for its output: `openssl rand -base64 32` gives 44 characters. */
const substitute = (word: string) => (/^\$\(openssl rand -base64 32\)$/.test(word) ? "Q".repeat(43) + "=" : word);
const concrete = (word: string | undefined) => word !== undefined && !/[<>]|\$(?!\(openssl)|\.\.\./.test(word);

/** Runs one command on `stack`; returns why the CLI or the program refuses it, or undefined. */
function refusal(stack: StackConfig, command: string, checkProgram = true): string | undefined {
    let cmd;
    try {
        cmd = parseConfigCommand(shellWords(command).map(substitute));
        if (cmd.key.startsWith("<")) return undefined;   // `pulumi config set <key> <value>`: the form, not a command
        applyConfigCommand(project, stack, cmd);
    } catch (e) {
        return `the CLI refuses the command: ${(e as Error).message}`;
    }
    const key = cmd.key.replace(/^mlflow-platform:/, "").replace(/[[.].*$/, "");
    const spec = CONFIG_SCHEMA[key as ConfigKey] as { secret?: boolean } | undefined;
    if (cmd.verb === "set" && !cmd.secret && (spec?.secret || SECRET_LOOKING_KEY.test(key))) return `${key} is a secret: set it with --secret`;
    let merged;
    try {
        merged = validateStackConfigAndApplyProjectConfig("dev", project, stack);
    } catch (e) {
        return `the CLI refuses the stack: ${(e as Error).message}`;
    }
    if (!checkProgram || cmd.verb === "rm" || !concrete(cmd.value)) return undefined;
    const own = programProblems(merged).filter(p => p.startsWith(`${key.includes(":") ? key : `${PROJECT}:${key}`} = `));
    return own.length > 0 ? `the program refuses what the CLI passes: ${own.join("; ")}` : undefined;
}

function keyOf(command: string): string {
    return (shellWords(command).slice(3).find(w => !w.startsWith("-")) ?? "").replace(/^mlflow-platform:/, "").replace(/[[.].*$/, "");
}

/**
 * Each file's commands in document order, as a reader runs them: on one stack per target (aws
 * keys are read on the aws target only), so `projects[1]` follows `projects[0]`.
 */
function documentedResults(commands: Found[]): Array<[string, string, string | undefined]> {
    const stacks = new Map<string, StackConfig>();
    return commands.map(({ where, command }) => {
        const spec = CONFIG_SCHEMA[keyOf(command) as ConfigKey] as { scope?: string } | undefined;
        const target = spec?.scope === "aws" ? "aws" : "local";
        const id = `${where.split(":")[0]}#${target}`;
        if (!stacks.has(id)) stacks.set(id, loadStack(target === "aws" ? "config:\n  mlflow-platform:target: aws\n  aws:region: eu-west-1\n" : ""));
        return [where, command, refusal(stacks.get(id)!, command)];
    });
}

describe("every documented config command", () => {
    const commands = documentedCommands();
    test("the docs, workflows and scripts hold the commands this test checks", () => {
        expect(commands.length).toBeGreaterThan(25);
        for (const f of ["README.md", "docs/aws.md", ".github/workflows/ci.yml"]) expect(commands.some(c => c.where.startsWith(`${f}:`))).toBe(true);
    });
    test.each(documentedResults(commands))("%s: %s", (_, __, refused) => {
        expect(refused).toBeUndefined();
    });
    test("ci.yml's deploy job, run in order on the dev stack, leaves a stack the CLI accepts", () => {
        const stack = loadStack(fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8"));
        for (const c of commands.filter(c => c.where.startsWith(".github/workflows/ci.yml:"))) {
            expect([c.where, refusal(stack, c.command.replace("${{ matrix.backend }}", "postgres"))]).toEqual([c.where, undefined]);
        }
        expect(JSON.parse(programConfig(project, validateStackConfigAndApplyProjectConfig("dev", project, stack)).projects)).toEqual(["alpha"]);
    });
});

// ---- the Fix of every config error ------------------------------------------------------------

const AWS = { target: "aws", "aws:region": "eu-west-1" };
// ingressCidrs and domainName apply with HTTPS on the load balancer (without it CloudFront is the
// front door and both are refused as such): their format errors are judged in that setting.
const CERTIFICATE = { certificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8091-a2b3c4d5e6f7" };
const collision = (() => {
    const names = Array.from({ length: 2000 }, (_, i) => `p${i}`);
    const [a, b] = projectPriorityCollisions(names)[0];
    return [a, b];
})();

/** Stacks that each break one rule (or one relation between keys); values as the CLI would store them. */
const BAD: Array<[string, Record<string, string | string[]>]> = [
    ["target", { target: "gcp" }], ["backend", { backend: "oracle" }], ["username", { username: "a:b" }],
    ["password", { password: "short" }], ["maxUploadSize", { maxUploadSize: "5 gigs" }], ["proxyTimeoutSeconds", { proxyTimeoutSeconds: "0" }],
    ["allowedHosts", { allowedHosts: ["bad host!"] }], ["mlflowWorkers", { mlflowWorkers: "0" }], ["too many workers", { mlflowWorkers: "64" }],
    ["projects entry", { projects: ["Bad Name"] }], ["projects twice", { projects: ["a", "a"] }], ["projects user", { projects: ["a:b:c"] }],
    ["too many projects", { projects: Array.from({ length: 40 }, (_, i) => `t${i}`) }], ["retainDataOnDestroy", { retainDataOnDestroy: "maybe" }],
    ["gateway without passphrase", { enableAiGateway: "true" }], ["passphrase", { aiGatewayKekPassphrase: "short" }], ["hostPort", { hostPort: "70000" }],
    ["bindAddress", { bindAddress: "localhost" }], ["console port", { exposeMinioConsole: "true", minioConsolePort: "5000" }],
    ["minioImage", { minioImage: "minio:latest" }], ["servedModels entry", { servedModels: ["my model"] }], ["servedModels twice", { servedModels: ["a", "A"] }],
    ["servingWorkers", { servingWorkers: "99" }],
    ["aws:region", { target: "aws" }], ["dbMinCapacity", { ...AWS, dbMinCapacity: "0.3" }], ["min over max", { ...AWS, dbMinCapacity: "2", dbMaxCapacity: "1" }],
    ["no auto-pause", { ...AWS, dbEngineVersion: "16.1" }], ["ingressCidrs", { ...AWS, ...CERTIFICATE, ingressCidrs: ["10.0.0.0/33"] }],
    ["certificateArn", { ...AWS, certificateArn: "nope" }], ["domainName", { ...AWS, ...CERTIFICATE, domainName: "bad_domain" }],
    ["vpc without subnets", { ...AWS, vpcId: "vpc-0123456789abcdef0" }],
    ["one subnet", { ...AWS, vpcId: "vpc-0123456789abcdef0", publicSubnetIds: ["subnet-0123456789abcdef0"], privateSubnetIds: ["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"] }],
    ["taskCpu", { ...AWS, taskCpu: "300" }], ["taskMemory", { ...AWS, taskMemory: "3000" }], ["desiredCount", { ...AWS, desiredCount: "9" }],
    ["minTasks", { ...AWS, minTasks: "5" }], ["logRetentionDays", { ...AWS, logRetentionDays: "8" }], ["aws workers", { ...AWS, mlflowWorkers: "16" }],
    ["priority collision", { ...AWS, projects: collision }],
];

function badStack(values: Record<string, string | string[]>): StackConfig {
    const stack = loadStack("");
    for (const [k, v] of Object.entries(values)) {
        const key = k.includes(":") ? k : `${PROJECT}:${k}`;
        stack.set(key, Array.isArray(v) ? { text: JSON.stringify(v), object: true, secure: false } : { text: v, object: false, secure: /password|Passphrase/.test(k) });
    }
    return stack;
}

test("a password the CLI passed in plaintext is refused, with the --secret fix; encrypted it is read", () => {
    const stack = loadStack("");
    applyConfigCommand(project, stack, parseConfigCommand(shellWords("pulumi config set password correct-horse-battery")));
    expect(programProblems(validateStackConfigAndApplyProjectConfig("dev", project, stack))).toEqual([
        expect.stringMatching(/^mlflow-platform:password = \(value hidden\) is invalid: must be stored encrypted .*Fix: pulumi config set --secret password /),
    ]);
    applyConfigCommand(project, stack, parseConfigCommand(shellWords("pulumi config set --secret password correct-horse-battery")));
    expect(programProblems(validateStackConfigAndApplyProjectConfig("dev", project, stack))).toEqual([]);
});

describe("the Fix of every config error", () => {
    test.each(BAD)("%s: each problem's Fix is accepted by the CLI and clears that problem", (_, values) => {
        const problems = programProblems(badStack(values));
        expect(problems.length).toBeGreaterThan(0);
        for (const problem of problems) {
            const [, key] = /^([\w-]+:\w+) = /.exec(problem) ?? [];
            const fix = /Fix: (.*)$/.exec(problem)?.[1];
            expect([problem, key !== undefined && fix !== undefined]).toEqual([problem, true]);
            const stack = badStack(values);
            for (const command of fix!.split(" && ")) expect([problem, command, refusal(stack, command, false)]).toEqual([problem, command, undefined]);
            // A placeholder (`certificate/<id>`) is the user's to fill in: only the CLI's side is checked.
            if (!concrete(fix)) continue;
            const merged = validateStackConfigAndApplyProjectConfig("dev", project, stack);
            expect([problem, programProblems(merged).filter(p => p.startsWith(`${key} = `))]).toEqual([problem, []]);
        }
    });
});
