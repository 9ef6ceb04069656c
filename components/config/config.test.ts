import { ConfigError, isPinnedImage, isValidBackupWindow, isValidBucketName, parseConfig, supportsAutoPause, RawConfig } from "./";

function problemsOf(raw: RawConfig, region?: string): string[] {
    try {
        parseConfig(raw, region);
    } catch (e) {
        if (e instanceof ConfigError) return e.problems;
        throw e;
    }
    return [];
}

describe("local defaults", () => {
    test("an empty config gives a working local stack", () => {
        const c = parseConfig({});
        expect(c.target).toBe("local");
        expect(c.backend).toBe("mysql");
        expect(c.username).toBe("mlflow");
        expect(c.password).toBeUndefined();
        expect(c.bucketName).toBe("mlflow-artifacts");
        expect(c.maxUploadSize).toBe("5g");
        expect(c.retainDataOnDestroy).toBe(true);
        expect(c.garbageCollection).toEqual({ enabled: true, olderThanDays: 30, intervalHours: 24 });
        expect(c.allowedHosts).toEqual(["localhost", "127.0.0.1"]);
        expect(c.local).toMatchObject({ hostPort: 5000, bindAddress: "127.0.0.1", exposeMinioConsole: false });
        // One worker, no job execution, on / and on every project (docs/benchmarks.md, "Local default").
        expect(c.mlflowWorkers).toBe(1);
        expect(c.local).toMatchObject({ jobExecution: false, projectServers: { workers: 1, jobExecution: false } });
        expect(c.aws).toBeUndefined();
    });

    test("values are parsed into their types", () => {
        const c = parseConfig({ hostPort: "8443", exposeMinioConsole: "true", allowedHosts: '["mlflow.lan","10.0.0.5:8443"]', maxUploadSize: "0" });
        expect(c.local?.hostPort).toBe(8443);
        expect(c.local?.exposeMinioConsole).toBe(true);
        expect(c.allowedHosts).toEqual(["mlflow.lan", "10.0.0.5:8443"]);
        expect(c.maxUploadSize).toBe("0");
    });
});

// Each bad value names the key, shows the value, says what is allowed and how to fix it.
describe.each<[string, RawConfig, RegExp]>([
    ["unknown target", { target: "gcp" }, /mlflow-platform:target = "gcp" is invalid: must be one of "local", "aws"\. Fix: pulumi config set target local/],
    ["unknown backend", { backend: "sqlite" }, /mlflow-platform:backend = "sqlite" is invalid: must be one of "mysql", "postgres"\. Fix: pulumi config set backend mysql/],
    ["unknown log level", { logLevel: "verbose" }, /mlflow-platform:logLevel = "verbose" is invalid: must be one of "debug", "info", "warning", "error"\. Fix: pulumi config set logLevel info/],
    ["more workers than the database container's connections", { mlflowWorkers: "30" }, /mlflow-platform:mlflowWorkers = "30" is invalid: must fit the mysql container's max_connections: \(2 pool \+ 1 overflow\) x 2 engines x 30 workers x 1 tasks x 1 during deployments = 180 connections, but the database allows 151 \(141 after 10 reserved\); at most 23 fit\. Fix: pulumi config set mlflowWorkers 23/],
    ["postgres container: 100 connections", { backend: "postgres", mlflowWorkers: "16" }, /mlflowWorkers = "16" is invalid: must fit the postgres container's max_connections: .* allows 100 \(90 after 10 reserved\); at most 15 fit\. Fix: pulumi config set mlflowWorkers 15/],
    ["port out of range", { hostPort: "70000" }, /mlflow-platform:hostPort = "70000" is invalid: must be a whole number from 1 to 65535\. Fix: pulumi config set hostPort 5000/],
    ["port zero", { hostPort: "0" }, /hostPort = "0" is invalid/],
    ["port not a number", { hostPort: "http" }, /mlflow-platform:hostPort = "http" is invalid: must be a whole number/],
    ["port with a fraction", { hostPort: "5000.5" }, /hostPort = "5000.5" is invalid/],
    ["bucket with capitals", { bucketName: "My_Bucket" }, /mlflow-platform:bucketName = "My_Bucket" is invalid: must be a valid S3 bucket name.*Fix: pulumi config set bucketName mlflow-artifacts/],
    ["bucket too short", { bucketName: "ab" }, /bucketName = "ab" is invalid/],
    ["bucket like an IP", { bucketName: "192.168.1.1" }, /bucketName = "192.168.1.1" is invalid/],
    ["bucket with double dots", { bucketName: "a..b" }, /bucketName = "a..b" is invalid/],
    ["username with a colon", { username: "ml:flow" }, /mlflow-platform:username = "ml:flow" is invalid: .*':' would break basic auth.*Fix: pulumi config set username mlflow/],
    ["empty-looking username", { username: " " }, /username = " " is invalid/],
    ["short password", { password: "short-pw" }, /mlflow-platform:password = \(value hidden\) is invalid: must be 12 to 128 characters.*Fix: pulumi config set --secret password/],
    ["image without a tag", { minioImage: "quay.io/minio/minio" }, /mlflow-platform:minioImage = "quay.io\/minio\/minio" is invalid: must be an image reference with an explicit tag other than 'latest'.*Fix: pulumi config set minioImage quay.io\/minio\/minio:RELEASE/],
    ["image tagged latest", { nginxImage: "nginx:latest" }, /nginxImage = "nginx:latest" is invalid/],
    ["registry port is not a tag", { mysqlImage: "registry:5000/mysql" }, /mysqlImage = "registry:5000\/mysql" is invalid/],
    ["upload size with a unit typo", { maxUploadSize: "5gb" }, /maxUploadSize = "5gb" is invalid: must be an nginx size/],
    ["bind address not an IP", { bindAddress: "localhost" }, /bindAddress = "localhost" is invalid: must be an IPv4 address/],
    ["boolean typo", { retainDataOnDestroy: "yes" }, /retainDataOnDestroy = "yes" is invalid: must be true or false/],
    ["allowed host with a scheme", { allowedHosts: '["http://mlflow.lan"]' }, /allowedHosts = "http:\/\/mlflow.lan" is invalid/],
    ["console on the proxy's port", { exposeMinioConsole: "true", minioConsolePort: "5000" }, /minioConsolePort = "5000" is invalid: must differ from hostPort/],
    ["gateway without a passphrase", { enableAiGateway: "true" }, /mlflow-platform:aiGatewayKekPassphrase = \(value hidden\) is invalid: must be set when enableAiGateway is true.*public default.*Fix: pulumi config set --secret aiGatewayKekPassphrase "\$\(openssl rand -base64 32\)"/],
    ["short gateway passphrase", { enableAiGateway: "true", aiGatewayKekPassphrase: "too-short" }, /aiGatewayKekPassphrase = \(value hidden\) is invalid: must be 32 to 1024 characters/],
    ["gateway switch typo", { enableAiGateway: "on" }, /enableAiGateway = "on" is invalid: must be true or false/],
    ["gc threshold of zero days", { gcOlderThanDays: "0" }, /mlflow-platform:gcOlderThanDays = "0" is invalid: must be a whole number from 1 to 3650\. Fix: pulumi config set gcOlderThanDays 30/],
    ["gc threshold with a unit", { gcOlderThanDays: "30d" }, /gcOlderThanDays = "30d" is invalid: must be a whole number/],
    ["gc interval of a fraction", { gcIntervalHours: "0.5" }, /mlflow-platform:gcIntervalHours = "0.5" is invalid: must be a whole number from 1 to 8760\. Fix: pulumi config set gcIntervalHours 24/],
    ["gc switch typo", { gcEnabled: "off" }, /mlflow-platform:gcEnabled = "off" is invalid: must be true or false\. Fix: pulumi config set gcEnabled true/],
])("rejects %s", (_label, raw, expected) => {
    test("with an error naming the key, the value and the fix", () => {
        const problems = problemsOf(raw);
        expect(problems.some(p => expected.test(p))).toBe(true);
    });
});

test("reports every bad key at once, before anything is created", () => {
    const problems = problemsOf({ backend: "oracle", hostPort: "-1", username: "a:b" });
    expect(problems).toHaveLength(3);
    expect(() => parseConfig({ backend: "oracle" })).toThrow(/Invalid stack configuration \(nothing was created\)/);
});

test("a rejected password is never echoed", () => {
    const problems = problemsOf({ password: "hunter2-xyz" });
    expect(problems.join("\n")).not.toContain("hunter2-xyz");
});

test("a password of 12 characters is accepted", () => {
    expect(parseConfig({ password: "twelve-chars" }).password).toBe("twelve-chars");
});

describe("aws", () => {
    const aws = (raw: RawConfig) => parseConfig({ target: "aws", ...raw }, "eu-west-1");

    test("defaults: auto-pausing Aurora, 1 to 3 tasks, auto-named bucket", () => {
        const c = aws({});
        expect(c.bucketName).toBeUndefined();
        // One worker: what the default 1 GB task holds (docs/benchmarks.md).
        expect(c.mlflowWorkers).toBe(1);
        expect(c.aws).toMatchObject({
            region: "eu-west-1", dbMinCapacity: 0, dbMaxCapacity: 2, dbAutoPauseSeconds: 900, dbBackupRetentionDays: 7,
            dbDeletionProtection: true, ingressCidrs: ["0.0.0.0/0"], taskCpu: 512, taskMemory: 1024, taskArchitecture: "ARM64",
            desiredCount: 1, minTasks: 1, maxTasks: 3, logRetentionDays: 30, dbEngineVersion: "8.0.mysql_aurora.3.10.0", dbReaderInstances: 0,
        });
        expect(aws({ dbReaderInstances: "2" }).aws?.dbReaderInstances).toBe(2);
        expect(aws({ backend: "postgres" }).aws?.dbEngineVersion).toBe("16.8");
        expect(c.allowedHosts).toEqual([]);
    });

    test("the domain name joins the allowed hosts", () => {
        // A domain needs its certificate (or plainHttp): behind CloudFront it would be ignored (tests/aws-https.test.ts).
        const certificateArn = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666";
        expect(aws({ domainName: "mlflow.example.com", certificateArn }).allowedHosts).toEqual(["mlflow.example.com"]);
    });

    test("an existing VPC is taken whole", () => {
        const c = aws({ vpcId: "vpc-0123456789abcdef0", publicSubnetIds: '["subnet-0000000a","subnet-0000000b"]', privateSubnetIds: '["subnet-0000000c","subnet-0000000d"]' });
        expect(c.aws?.existingVpc).toEqual({ vpcId: "vpc-0123456789abcdef0", publicSubnetIds: ["subnet-0000000a", "subnet-0000000b"], privateSubnetIds: ["subnet-0000000c", "subnet-0000000d"] });
    });

    test.each<[string, RawConfig, string | undefined, RegExp]>([
        ["missing region", {}, undefined, /aws:region = undefined is invalid: the aws target needs an AWS region.*Fix: pulumi config set aws:region eu-west-1/],
        ["more workers than Aurora's connections", { mlflowWorkers: "4" }, "eu-west-1", /mlflowWorkers = "4" is invalid: must fit Aurora's max_connections at dbMaxCapacity 2: \(2 pool \+ 1 overflow\) x 2 engines x 4 workers x 3 tasks x 2 during deployments = 144 connections, but the database allows 90 \(80 after 10 reserved\); at most 2 fit\. Fix: pulumi config set mlflowWorkers 2/],
        ["too many tasks for Aurora's connections", { maxTasks: "10" }, "eu-west-1", /maxTasks = "10" is invalid: must fit Aurora's max_connections at dbMaxCapacity 2 with 1 worker: .* raise dbMaxCapacity or lower maxTasks to 6\. Fix: pulumi config set maxTasks 6/],
        ["min above max", { dbMinCapacity: "4", dbMaxCapacity: "2" }, "eu-west-1", /dbMinCapacity = "4" is invalid: must not exceed dbMaxCapacity \(2\)/],
        ["capacity off the 0.5 grid", { dbMaxCapacity: "2.3" }, "eu-west-1", /dbMaxCapacity = "2.3" is invalid: must be a number from 1 to 256 in steps of 0.5/],
        ["more readers than the range", { dbReaderInstances: "4" }, "eu-west-1", /mlflow-platform:dbReaderInstances = "4" is invalid: must be a whole number from 0 to 3\. Fix: pulumi config set dbReaderInstances 0/],
        ["a negative reader count", { dbReaderInstances: "-1" }, "eu-west-1", /dbReaderInstances = "-1" is invalid: must be a whole number from 0 to 3\. Fix: pulumi config set dbReaderInstances 0/],
        ["capacity above AWS's limit", { dbMaxCapacity: "512" }, "eu-west-1", /dbMaxCapacity = "512" is invalid/],
        ["auto-pause too short", { dbAutoPauseSeconds: "60" }, "eu-west-1", /dbAutoPauseSeconds = "60" is invalid: must be a whole number from 300 to 86400/],
        ["auto-pause on an engine that cannot", { dbEngineVersion: "8.0.mysql_aurora.3.05.2" }, "eu-west-1", /dbEngineVersion = "8.0.mysql_aurora.3.05.2" is invalid: must support auto-pause when dbMinCapacity is 0/],
        ["a bad CIDR", { ingressCidrs: '["10.0.0.0/33"]' }, "eu-west-1", /ingressCidrs = "10.0.0.0\/33" is invalid: must be IPv4 CIDR blocks/],
        ["an invalid Fargate pair", { taskCpu: "256", taskMemory: "4096" }, "eu-west-1", /taskMemory = "4096" is invalid: must be one of 512, 1024, 2048 MiB for taskCpu 256/],
        ["a Fargate cpu that does not exist", { taskCpu: "300" }, "eu-west-1", /taskCpu = "300" is invalid: must be one of 256, 512/],
        ["an invalid Fargate pair for projects", { projectTaskCpu: "256", projectTaskMemory: "4096" }, "eu-west-1",
            /projectTaskMemory = "4096" is invalid: must be one of 512, 1024, 2048 MiB for projectTaskCpu 256.*Fix: pulumi config set projectTaskMemory 512/],
        ["projects' job execution with two tasks", { projectJobExecution: "true", projectMaxTasks: "2", projectTaskCpu: "512", projectTaskMemory: "3072" }, "eu-west-1",
            /projectMaxTasks = "2" is invalid: must be 1 with projectJobExecution true: .* a job twice\. Fix: pulumi config set projectMaxTasks 1/],
        ["projects' job execution in a task too small for it", { projectJobExecution: "true", projectTaskCpu: "512", projectTaskMemory: "1024" }, "eu-west-1",
            /projectTaskMemory = "1024" is invalid: must hold MLflow's job execution .* projectTaskMemory 3072 or more\. Fix: pulumi config set projectTaskMemory 3072/],
        ["projects' job execution where the cpu allows no such memory", { projectJobExecution: "true" }, "eu-west-1",
            /projectTaskCpu = "256" is invalid: must hold MLflow's job execution .* projectTaskMemory 3072 or more; raise projectTaskCpu to 512 first\. Fix: pulumi config set projectTaskCpu 512/],
        ["a malformed certificate ARN", { certificateArn: "arn:aws:iam::123:cert" }, "eu-west-1", /certificateArn = "arn:aws:iam::123:cert" is invalid: must be an ACM certificate ARN/],
        ["half an existing VPC", { vpcId: "vpc-0123456789abcdef0" }, "eu-west-1", /publicSubnetIds = undefined is invalid: must be set when vpcId is set/],
        ["one subnet only", { vpcId: "vpc-0123456789abcdef0", publicSubnetIds: '["subnet-0000000a"]', privateSubnetIds: '["subnet-0000000c","subnet-0000000d"]' }, "eu-west-1", /publicSubnetIds = .* is invalid: must list at least two subnets/],
        ["desired count outside the scaling range", { desiredCount: "5", maxTasks: "3" }, "eu-west-1", /desiredCount = "5" is invalid: must be between minTasks \(1\) and maxTasks \(3\)/],
        ["a backup window shorter than 30 minutes", { dbBackupWindow: "03:00-03:15" }, "eu-west-1",
            /dbBackupWindow = "03:00-03:15" is invalid: must be a UTC window hh24:mi-hh24:mi of at least 30 minutes.*Fix: pulumi config set dbBackupWindow 03:00-03:30/],
        ["a backup retention AWS does not allow", { dbBackupRetentionDays: "36" }, "eu-west-1", /dbBackupRetentionDays = "36" is invalid: must be a whole number from 1 to 35/],
        ["a log retention CloudWatch does not offer", { logRetentionDays: "45" }, "eu-west-1", /logRetentionDays = "45" is invalid: must be one of CloudWatch's periods: 1, 3, 5, 7, 14, 30, .*3653\. Fix: pulumi config set logRetentionDays 30/],
        ["two alarm addresses", { alarmEmail: "a@example.com,b@example.com" }, "eu-west-1",
            /alarmEmail = "a@example.com,b@example.com" is invalid: must be one e-mail address such as ops@example.com\. Fix: pulumi config set alarmEmail ops@example.com/],
        ["an alarm address without a domain", { alarmEmail: "ops@localhost" }, "eu-west-1", /alarmEmail = "ops@localhost" is invalid: must be one e-mail address/],
        ["a display name around the address", { alarmEmail: "Ops <ops@example.com>" }, "eu-west-1", /alarmEmail = "Ops <ops@example.com>" is invalid/],
        ["a 5xx rate off the 0.5 grid", { alarm5xxPercent: "0.3" }, "eu-west-1", /alarm5xxPercent = "0.3" is invalid: must be a number from 0.5 to 100 in steps of 0.5\. Fix: pulumi config set alarm5xxPercent 5/],
        ["a CPU alarm above 100%", { alarmCpuPercent: "120" }, "eu-west-1", /alarmCpuPercent = "120" is invalid: must be a whole number from 10 to 100\. Fix: pulumi config set alarmCpuPercent 90/],
        ["a memory alarm below 10%", { alarmMemoryPercent: "5" }, "eu-west-1", /alarmMemoryPercent = "5" is invalid: must be a whole number from 10 to 100\. Fix: pulumi config set alarmMemoryPercent 90/],
        ["a fractional connections alarm", { alarmDbConnectionsPercent: "80.5" }, "eu-west-1", /alarmDbConnectionsPercent = "80.5" is invalid: must be a whole number from 10 to 100\. Fix: pulumi config set alarmDbConnectionsPercent 80/],
        ["monitoring neither true nor false", { monitoring: "yes" }, "eu-west-1", /monitoring = "yes" is invalid.*Fix: pulumi config set monitoring true/],
        ["a bad threshold even with monitoring off", { monitoring: "false", alarmCpuPercent: "0" }, "eu-west-1", /alarmCpuPercent = "0" is invalid/],
    ])("rejects %s", (_label, raw, region, expected) => {
        const problems = problemsOf({ target: "aws", ...raw }, region);
        expect(problems.some(p => expected.test(p))).toBe(true);
    });

    test("a backup window is optional and taken as given", () => {
        expect(aws({}).aws?.dbBackupWindow).toBeUndefined();
        expect(aws({ dbBackupWindow: "23:45-00:15" }).aws?.dbBackupWindow).toBe("23:45-00:15");
    });

    test("monitoring: on by default with the default thresholds and no e-mail; alarm* keys and alarmEmail when set; monitoring false: none", () => {
        expect(aws({}).aws?.monitoring).toEqual({ thresholds: { errorRatePercent: 5, cpuPercent: 90, memoryPercent: 90, dbConnectionsPercent: 80 } });
        expect(aws({ alarmEmail: "ops+mlflow@example.co.uk", alarm5xxPercent: "1.5", alarmCpuPercent: "70", alarmMemoryPercent: "95", alarmDbConnectionsPercent: "60" }).aws?.monitoring)
            .toEqual({ alarmEmail: "ops+mlflow@example.co.uk", thresholds: { errorRatePercent: 1.5, cpuPercent: 70, memoryPercent: 95, dbConnectionsPercent: 60 } });
        expect(aws({ monitoring: "false", alarmEmail: "ops@example.com" }).aws?.monitoring).toBeUndefined();
    });

    test("min capacity 0.5 lifts the auto-pause version requirement", () => {
        expect(aws({ dbMinCapacity: "0.5", dbEngineVersion: "8.0.mysql_aurora.3.05.2" }).aws?.dbMinCapacity).toBe(0.5);
    });
});

test.each<[string, boolean]>([
    ["03:00-03:30", true], ["23:45-00:15", true], ["00:00-23:59", true], ["03:00-03:29", false], ["23:50-00:10", false],
    ["3:00-03:30", false], ["24:00-00:30", false], ["03:00-03:60", false], ["03:00", false], ["03:00-03:30 ", false],
])("backup window %s valid: %s", (window, valid) => {
    expect(isValidBackupWindow(window)).toBe(valid);
});

test.each<[string, boolean]>([
    ["mlflow-artifacts", true], ["a.b-c", true], ["abc", true], ["ab", false], ["-abc", false], ["abc-", false],
    ["ABC", false], ["a_b", false], ["xn--abc", false], ["abc-s3alias", false], [`a${"b".repeat(63)}`, false],
])("bucket name %s valid: %s", (name, valid) => {
    expect(isValidBucketName(name)).toBe(valid);
});

test.each<[string, boolean]>([
    ["nginx:1.28.0-alpine", true], ["quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z", true],
    ["localhost:5000/mlflow:3.17.2", true], ["nginx:1.28.0@sha256:abc", true],
    ["nginx", false], ["nginx:latest", false], ["nginx:LATEST", false], ["localhost:5000/mlflow", false], ["nginx@sha256:abc", false],
])("image %s pinned: %s", (ref, pinned) => {
    expect(isPinnedImage(ref)).toBe(pinned);
});

test.each<["mysql" | "postgres", string, boolean]>([
    ["mysql", "8.0.mysql_aurora.3.08.0", true], ["mysql", "8.0.mysql_aurora.3.10.1", true], ["mysql", "8.0.mysql_aurora.3.07.1", false],
    ["postgres", "16.3", true], ["postgres", "16.2", false], ["postgres", "15.7", true], ["postgres", "14.11", false], ["postgres", "17.4", true],
])("%s %s can auto-pause: %s", (engine, version, expected) => {
    expect(supportsAutoPause(engine, version)).toBe(expected);
});

describe("AI Gateway", () => {
    const passphrase = "a-passphrase-of-at-least-32-characters-0123";
    test.each<[string, Record<string, string>, { kekPassphrase: string } | undefined]>([
        ["off by default", {}, undefined],
        ["off, a kept passphrase waits for the switch", { aiGatewayKekPassphrase: passphrase }, undefined],
        ["on with its passphrase", { enableAiGateway: "true", aiGatewayKekPassphrase: passphrase }, { kekPassphrase: passphrase }],
        ["on, on AWS too", { target: "aws", enableAiGateway: "true", aiGatewayKekPassphrase: passphrase }, { kekPassphrase: passphrase }],
    ])("%s", (_label, raw, expected) => {
        expect(parseConfig(raw, "eu-west-1").aiGateway).toEqual(expected);
    });

    test("a rejected passphrase is never echoed", () => {
        expect(problemsOf({ enableAiGateway: "true", aiGatewayKekPassphrase: "secret-but-short" }).join("\n")).not.toContain("secret-but-short");
    });
});

describe("servedModels", () => {
    test("unset: no serving settings at all, so the graph is today's", () => {
        expect(parseConfig({}).local?.serving).toBeUndefined();
        expect(parseConfig({ servedModels: "[]", servingWorkers: "3" }).local?.serving).toBeUndefined();
    });

    test("names with an optional alias (default champion), shared workers and poll interval", () => {
        const c = parseConfig({ servedModels: '["churn","Fraud.Detector@challenger"]', servingWorkers: "2", servingPollSeconds: "5" });
        expect(c.local?.serving).toEqual({
            models: [{ name: "churn", alias: "champion" }, { name: "Fraud.Detector", alias: "challenger" }],
            workers: 2, pollSeconds: 5, memoryMb: 2048,
        });
        expect(parseConfig({ servedModels: "churn" }).local?.serving).toEqual({ models: [{ name: "churn", alias: "champion" }], workers: 1, pollSeconds: 30, memoryMb: 2048 });
    });

    test.each<[string, RawConfig, RegExp]>([
        ["a name with a space", { servedModels: '["my model"]' },
            /mlflow-platform:servedModels = "my model" is invalid: must be "name" or "name@alias".*Fix: pulumi config rm servedModels && pulumi config set --path 'servedModels\[0\]' churn@champion/],
        ["a reserved alias", { servedModels: '["churn@latest"]' }, /servedModels = "churn@latest" is invalid: .*other than latest or v<number>/],
        ["the same model twice", { servedModels: '["churn","churn@challenger"]' }, /servedModels = "churn" is invalid: must name each model once/],
        ["names equal once lower-cased", { servedModels: '["Churn","churn"]' }, /servedModels = "churn" is invalid: must name each model once/],
        ["a poll interval of zero", { servedModels: '["churn"]', servingPollSeconds: "0" }, /servingPollSeconds = "0" is invalid: must be a whole number from 1 to 3600\. Fix: pulumi config set servingPollSeconds 30/],
        ["too many workers", { servingWorkers: "99" }, /servingWorkers = "99" is invalid: must be a whole number from 1 to 16/],
        ["a memory limit too small for a model", { servedModels: '["churn"]', servingMemoryMb: "128" },
            /servingMemoryMb = "128" is invalid: must be a whole number from 256 to 1048576\. Fix: pulumi config set servingMemoryMb 2048/],
    ])("%s is refused with the fix", (_, raw, message) => {
        expect(problemsOf(raw).join("\n")).toMatch(message);
    });

    test("read on target aws too (an ECS service per model), with the same checks", () => {
        const c = parseConfig({ target: "aws", servedModels: '["churn","Fraud.Detector@challenger"]', servingWorkers: "2", servingPollSeconds: "5" }, "eu-west-1");
        expect(c.target === "aws" && c.aws.serving).toEqual({
            models: [{ name: "churn", alias: "champion" }, { name: "Fraud.Detector", alias: "challenger" }], workers: 2, pollSeconds: 5,
        });
        expect(c.target === "aws" && "serving" in c.aws).toBe(true);
        const none = parseConfig({ target: "aws" }, "eu-west-1");
        expect(none.target === "aws" && "serving" in none.aws).toBe(false);
        expect(problemsOf({ target: "aws", servedModels: '["Churn","churn"]' }, "eu-west-1").join("\n")).toMatch(/servedModels = "churn" is invalid: must name each model once/);
    });
});
