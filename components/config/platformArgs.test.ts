// platformArgs: settings named like the stack config keys, typed (numbers, booleans, arrays),
// give the same validated args as the stack's config text, and problems name the key and a fix
// phrased as platformArgs settings.
import { ConfigError, DEFAULT_AURORA_VERSIONS, DEFAULT_LOCAL_IMAGES, parseConfig, platformArgs, PlatformSettings } from ".";

const REGION = "eu-west-1";

/** The settings as `pulumi config` would hold them: every value text, lists as JSON. */
function asStackConfig(settings: PlatformSettings): Record<string, string> {
    return Object.fromEntries(Object.entries(settings).map(([k, v]) => [k, typeof v === "object" ? JSON.stringify(v) : String(v)]));
}

function problemsOf(settings: PlatformSettings, region?: string): string[] {
    try {
        platformArgs(settings, region);
    } catch (e) {
        expect(e).toBeInstanceOf(ConfigError);
        return (e as ConfigError).problems;
    }
    throw new Error(`platformArgs(${JSON.stringify(settings)}) did not throw`);
}

describe("defaults are applied", () => {
    test("no settings: the local target with the stack's defaults", () => {
        const args = platformArgs({});
        expect(args).toMatchObject({
            target: "local", backend: "mysql", username: "mlflow", bucketName: "mlflow-artifacts", mlflowWorkers: 1,
            retainDataOnDestroy: true, projects: [], allowedHosts: ["localhost", "127.0.0.1"],
            local: {
                hostPort: 5000, bindAddress: "127.0.0.1", exposeMinioConsole: false, minioConsolePort: 9001, images: DEFAULT_LOCAL_IMAGES,
                jobExecution: false, projectServers: { workers: 1, jobExecution: false },
            },
        });
        expect(args.password).toBeUndefined();
    });

    test("target aws: the region given, one worker, the engine's default Aurora version, a new VPC", () => {
        const args = platformArgs({ target: "aws", backend: "postgres" }, REGION);
        expect(args).toMatchObject({
            target: "aws", backend: "postgres", mlflowWorkers: 1, allowedHosts: [],
            aws: { region: REGION, dbEngineVersion: DEFAULT_AURORA_VERSIONS.postgres, dbMinCapacity: 0, ingressCidrs: ["0.0.0.0/0"], taskCpu: 512, taskMemory: 1024, minTasks: 1, desiredCount: 1 },
        });
        expect(args.aws.existingVpc).toBeUndefined();
    });
});

describe("typed settings are converted as the stack's config text would be", () => {
    const rows: Array<[string, PlatformSettings, (a: ReturnType<typeof platformArgs>) => unknown, unknown]> = [
        ["a number", { hostPort: 8080 }, a => a.target === "local" && a.local.hostPort, 8080],
        ["a boolean", { exposeMinioConsole: true }, a => a.target === "local" && a.local.exposeMinioConsole, true],
        ["a boolean false", { retainDataOnDestroy: false }, a => a.retainDataOnDestroy, false],
        ["garbage collection off, its threshold kept", { gcEnabled: false, gcOlderThanDays: 7 }, a => a.garbageCollection, { enabled: false, olderThanDays: 7, intervalHours: 24 }],
        ["an array of hosts", { allowedHosts: ["mlflow.example.internal", "10.0.0.5:5000"] }, a => a.allowedHosts, ["mlflow.example.internal", "10.0.0.5:5000"]],
        ["an array of projects", { projects: ["research", "vision:cv"] }, a => a.projects.map(p => `${p.name}:${p.username}`), ["research:research", "vision:cv"]],
        ["a fractional number", { target: "aws", dbMinCapacity: 0.5, dbMaxCapacity: 4 }, a => a.target === "aws" && [a.aws.dbMinCapacity, a.aws.dbMaxCapacity], [0.5, 4]],
        ["a numeric string", { target: "aws", taskCpu: "1024", taskMemory: 2048 }, a => a.target === "aws" && [a.aws.taskCpu, a.aws.taskMemory], [1024, 2048]],
        ["an array of served models", { servedModels: ["churn@champion"] }, a => a.target === "local" && a.local.serving?.models, [{ name: "churn", alias: "champion" }]],
    ];

    test.each(rows)("%s", (_, settings, pick, expected) => {
        const args = platformArgs(settings, REGION);
        expect(pick(args)).toEqual(expected);
        // The same object the stack builds from its config text.
        expect(args).toEqual(parseConfig(asStackConfig(settings), REGION));
    });

    test("unset (undefined) settings are left out, as an unset config key", () => {
        expect(platformArgs({ hostPort: undefined, backend: "postgres" })).toEqual(platformArgs({ backend: "postgres" }));
    });
});

describe("problems name the key and the fix", () => {
    const rows: Array<[string, PlatformSettings, string | undefined, string]> = [
        ["a choice outside the list", { backend: "oracle" }, undefined,
            "backend = \"oracle\" is invalid: must be one of \"mysql\", \"postgres\". Fix: platformArgs({ backend: \"mysql\" })"],
        ["a number out of range", { hostPort: 70000 }, undefined,
            "hostPort = \"70000\" is invalid: must be a whole number from 1 to 65535. Fix: platformArgs({ hostPort: 5000 })"],
        ["a boolean that is not one", { exposeMinioConsole: "yes" }, undefined,
            "exposeMinioConsole = \"yes\" is invalid: must be true or false. Fix: platformArgs({ exposeMinioConsole: false })"],
        ["a pair that does not fit", { target: "aws", taskCpu: 1024, taskMemory: 512 }, REGION,
            "taskMemory = \"512\" is invalid: must be one of 2048, 3072, 4096, 5120, 6144, 7168, 8192 MiB for taskCpu 1024 (Fargate's valid pairs). Fix: platformArgs({ taskMemory: 2048 })"],
        ["a list entry", { allowedHosts: ["bad host"] }, undefined,
            "allowedHosts = \"bad host\" is invalid"],
        ["a secret, its value hidden", { password: "short" }, undefined,
            "password = (value hidden) is invalid: must be 12 to 128 characters on one line. Fix: platformArgs({ password: "],
        ["a missing region", { target: "aws" }, undefined,
            "aws:region = undefined is invalid: the aws target needs an AWS region such as eu-west-1. Fix: platformArgs(settings, \"eu-west-1\")"],
        ["a misspelt key", { hostport: 8080 } as PlatformSettings, undefined, "hostport is not a setting. Fix: did you mean hostPort?"],
        ["a key in another case", { HOSTPORT: 8080 } as PlatformSettings, undefined, "HOSTPORT is not a setting. Fix: did you mean hostPort?"],
        ["an unknown key", { colour: "blue" } as PlatformSettings, undefined, "colour is not a setting. Fix: use a key from docs/configuration.md"],
    ];

    test.each(rows)("%s", (_, settings, region, expected) => {
        const problems = problemsOf(settings, region);
        expect(problems).toEqual(expect.arrayContaining([expect.stringContaining(expected)]));
        // Phrased for a program's settings, not for this stack's `pulumi config`.
        expect(problems.join("\n")).not.toMatch(/pulumi config set (?!aws:region)|mlflow-platform:/);
    });

    test("the secret's value never appears in the error", () => {
        expect(problemsOf({ password: "s3cret-9ch" }).join("\n")).not.toContain("s3cret-9ch");
    });

    test("the stack keeps its own phrasing: pulumi config commands", () => {
        expect(() => parseConfig({ backend: "oracle" })).toThrow("mlflow-platform:backend = \"oracle\" is invalid: must be one of \"mysql\", \"postgres\". Fix: pulumi config set backend mysql");
    });
});
