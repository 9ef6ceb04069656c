// Reads and validates every stack setting into one typed object. This is the only module
// that touches pulumi.Config: components receive plain values through their args.
// What each key may hold is in ./schema; here are the rules that relate keys to each other,
// one small function per concern and target.
import * as pulumi from "@pulumi/pulumi";
import {
    auroraCapacityForProjects, auroraMaxConnections, awsProjectsBudgetProblem, connectionBudgetProblem, DEFAULT_POOL, ECS_DEPLOYMENT_OVERLAP, LOCAL_MAX_CONNECTIONS,
    clusterConnections, PROJECT_POOL, readerBudgetProblem, ServerFleet,
} from "./capacity";
import { modelSlug, parseServedModel } from "../modelServer/serving";
import { AWS_REGION, FARGATE_MEMORY, isValidCidr, isValidHostPattern, LOG_RETENTION_DAYS, projectPriorityCollisions, supportsAutoPause } from "./checks";
import { readProjects } from "./projects";
import { readUserPasswords, readUsers } from "./users";
import { ConfigError, FixStyle, RawConfig, Reader } from "./reader";
import { CONFIG_KEYS, CONFIG_SCHEMA, ConfigKey, PROJECT } from "./schema";
import type {
    AwsPlatformConfig, AwsSettings, BackendEngine, BackupSettings, CpuArchitecture, LogLevel, LocalImages, LocalPlatformConfig, LocalProjectSettings, MonitoringSettings, PlatformConfig,
    ProjectTaskSettings, ServingSettings, Target,
} from "./types";

export * from "./checks";
export * from "./types";
export { RESERVED_USER_PREFIXES, USER_NAME, userNameProblem } from "./users";
export { CONFIG_KEYS, CONFIG_SCHEMA, PROJECT } from "./schema";
export type { ConfigKey } from "./schema";
export { ConfigError } from "./reader";
export type { RawConfig } from "./reader";

export const DEFAULT_LOCAL_IMAGES: LocalImages = {
    minio: CONFIG_SCHEMA.minioImage.default,
    mc: CONFIG_SCHEMA.mcImage.default,
    mysql: CONFIG_SCHEMA.mysqlImage.default,
    postgres: CONFIG_SCHEMA.postgresImage.default,
    nginx: CONFIG_SCHEMA.nginxImage.default,
    python: CONFIG_SCHEMA.pythonImage.default,
};

/** Long-term-support Aurora versions (kept about three years) that can scale to 0 ACU (auto-pause). */
export const DEFAULT_AURORA_VERSIONS: Record<BackendEngine, string> = {
    mysql: "8.0.mysql_aurora.3.10.0",
    postgres: "16.8",
};

/**
 * One worker fits the default AWS task (0.5 vCPU / 1 GB); locally one worker served as much as
 * four in the A/B bench (docs/benchmarks.md) at a third of the memory.
 */
export const DEFAULT_MLFLOW_WORKERS: Record<Target, number> = { local: 1, aws: 1 };

const HOST_CHECK = "must be host names or IPv4 addresses, optionally with :port or :*";

type Common = Omit<LocalPlatformConfig, "target" | "bucketName" | "local" | "aws" | "allowedHosts"> & { readonly bucketName?: string };

function readCommon(r: Reader, target: Target): Common {
    const username = r.string("username");
    const projects = readProjects(r);
    const users = readUsers(r, username, projects);
    const userPasswords = readUserPasswords(r, users);
    return {
        backend: r.oneOf<BackendEngine>("backend"),
        username,
        password: r.optionalString("password"),
        // Absent unless used: a stack without team accounts gets the config it always had.
        ...(users.length > 0 ? { users } : {}),
        ...(Object.keys(userPasswords).length > 0 ? { userPasswords } : {}),
        bucketName: r.optionalString("bucketName"),
        maxUploadSize: r.string("maxUploadSize"),
        proxyTimeoutSeconds: r.integer("proxyTimeoutSeconds"),
        mlflowWorkers: r.integer("mlflowWorkers", DEFAULT_MLFLOW_WORKERS[target]),
        logLevel: r.oneOf<LogLevel>("logLevel"),
        retainDataOnDestroy: r.boolean("retainDataOnDestroy"),
        projects,
        garbageCollection: { enabled: r.boolean("gcEnabled"), olderThanDays: r.integer("gcOlderThanDays"), intervalHours: r.integer("gcIntervalHours") },
        ...gatewaySettings(r),
    };
}

/**
 * The passphrase is the user's, kept in stack config, because stack config outlives
 * `pulumi destroy`: a generated one would come back new after destroy + up, and the keys
 * already stored in the kept database could no longer be decrypted.
 */
function gatewaySettings(r: Reader): Pick<Common, "aiGateway"> {
    const enabled = r.boolean("enableAiGateway");
    // Checked even while off: a kept passphrase waits for the switch.
    const passphrase = r.optionalString("aiGatewayKekPassphrase");
    if (!enabled) return {};
    if (passphrase === undefined) {
        const s = CONFIG_SCHEMA.aiGatewayKekPassphrase;
        r.fail("aiGatewayKekPassphrase", undefined,
            "must be set when enableAiGateway is true: MLflow encrypts the provider API keys it stores with it, and without it uses a public default",
            s.example);
        return {};
    }
    return { aiGateway: { kekPassphrase: passphrase } };
}

const SERVED_MODEL_CHECK = "must be \"name\" or \"name@alias\": a name of letters, digits, '.', '_' or '-' (up to 64, starting with a letter or digit), "
    + "an alias of letters, digits, '_' or '-' other than latest or v<number>";

/** servedModels entries, each model once (names equal once lower-cased would share a container name). */
function readServing(r: Reader): ServingSettings | undefined {
    const entries = r.list("servedModels", [], e => parseServedModel(e) !== undefined, SERVED_MODEL_CHECK, "churn@champion");
    const workers = r.integer("servingWorkers");
    const pollSeconds = r.integer("servingPollSeconds");
    const models = entries.map(parseServedModel).filter(m => m !== undefined);
    if (models.length !== entries.length || models.length === 0) return undefined;
    const slugs = models.map(m => modelSlug(m.name));
    const twice = models.filter((m, i) => slugs.indexOf(slugs[i]) !== i).map(m => m.name);
    if (twice.length > 0) {
        r.failList("servedModels", twice.join(","), "must name each model once (names are compared lower-cased, with '.' and '_' as '-'): one model has one alias served",
            entries.filter((_, i) => slugs.indexOf(slugs[i]) === i));
    }
    return { models, workers, pollSeconds };
}

function readLocal(r: Reader, common: Common): LocalPlatformConfig {
    const hostPort = r.integer("hostPort");
    const bindAddress = r.string("bindAddress");
    const exposeMinioConsole = r.boolean("exposeMinioConsole");
    const minioConsolePort = r.integer("minioConsolePort");
    if (exposeMinioConsole && minioConsolePort === hostPort) {
        r.fail("minioConsolePort", String(minioConsolePort), `must differ from hostPort (${hostPort})`, "9001");
    }
    const images: LocalImages = {
        minio: r.string("minioImage"),
        mc: r.string("mcImage"),
        mysql: r.string("mysqlImage"),
        postgres: r.string("postgresImage"),
        nginx: r.string("nginxImage"),
        python: r.string("pythonImage"),
    };
    const allowedHosts = r.list("allowedHosts", ["localhost", "127.0.0.1"], isValidHostPattern, HOST_CHECK, "mlflow.example.internal");
    const serving = readServing(r);
    const servingMemoryMb = r.integer("servingMemoryMb");
    const jobExecution = r.boolean("jobExecution");
    const projectServers: LocalProjectSettings = { workers: r.integer("projectWorkers"), jobExecution: r.boolean("projectJobExecution") };
    checkLocalConnections(r, common, jobExecution, projectServers);
    const backup: BackupSettings = { enabled: r.boolean("backupEnabled"), intervalHours: r.integer("backupIntervalHours"), keep: r.integer("backupKeep") };
    finish(r);
    return {
        target: "local", ...common,
        bucketName: common.bucketName ?? "mlflow-artifacts",
        allowedHosts,
        local: {
            jobExecution, projectServers, hostPort, bindAddress, exposeMinioConsole, minioConsolePort, images,
            backup,
            ...(serving ? { serving: { ...serving, memoryMb: servingMemoryMb } } : {}),
        },
    };
}

type AuroraSettings = Pick<AwsSettings, "dbEngineVersion" | "dbMinCapacity" | "dbMaxCapacity" | "dbAutoPauseSeconds" | "dbBackupRetentionDays" | "dbBackupWindow" | "dbDeletionProtection" | "dbReaderInstances">;

function readAurora(r: Reader, backend: BackendEngine): AuroraSettings {
    const dbEngineVersion = r.string("dbEngineVersion", DEFAULT_AURORA_VERSIONS[backend]);
    const dbMinCapacity = r.stepped("dbMinCapacity");
    const dbMaxCapacity = r.stepped("dbMaxCapacity");
    if (dbMinCapacity > dbMaxCapacity) {
        r.fail("dbMinCapacity", String(dbMinCapacity), `must not exceed dbMaxCapacity (${dbMaxCapacity})`, "0");
    }
    if (dbMinCapacity === 0 && !supportsAutoPause(backend, dbEngineVersion)) {
        r.fail("dbEngineVersion", dbEngineVersion,
            "must support auto-pause when dbMinCapacity is 0 (Aurora MySQL 3.08.0+, Aurora PostgreSQL 16.3+/15.7+/14.12+/13.15+), or set dbMinCapacity to 0.5 or more",
            DEFAULT_AURORA_VERSIONS[backend]);
    }
    return {
        dbEngineVersion, dbMinCapacity, dbMaxCapacity,
        dbAutoPauseSeconds: r.integer("dbAutoPauseSeconds"),
        dbBackupRetentionDays: r.integer("dbBackupRetentionDays"),
        dbBackupWindow: r.optionalString("dbBackupWindow") || undefined,
        dbDeletionProtection: r.boolean("dbDeletionProtection"),
        dbReaderInstances: r.integer("dbReaderInstances"),
    };
}

const EXAMPLE_SUBNETS = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"];

/** All three of vpcId, publicSubnetIds and privateSubnetIds, or none (a new VPC). */
function readExistingVpc(r: Reader): AwsSettings["existingVpc"] {
    const vpcKeys = ["vpcId", "publicSubnetIds", "privateSubnetIds"];
    const givenVpcKeys = vpcKeys.filter(k => r.has(k));
    if (givenVpcKeys.length > 0 && givenVpcKeys.length < vpcKeys.length) {
        for (const missing of vpcKeys.filter(k => !r.has(k))) {
            const allowed = `must be set when ${givenVpcKeys.join(" and ")} ${givenVpcKeys.length > 1 ? "are" : "is"} set (an existing VPC needs vpcId, publicSubnetIds and privateSubnetIds)`;
            if (missing === "vpcId") r.fail(missing, undefined, allowed, "vpc-0123456789abcdef0");
            else r.failList(missing as "publicSubnetIds" | "privateSubnetIds", undefined, allowed, EXAMPLE_SUBNETS);
        }
        return undefined;
    }
    if (givenVpcKeys.length === 0) return undefined;
    const isSubnet = (v: string) => /^subnet-[0-9a-f]{8,17}$/.test(v);
    const vpcId = r.string("vpcId");
    const publicSubnetIds = r.list("publicSubnetIds", [], isSubnet, "must be subnet ids such as subnet-0123456789abcdef0", "subnet-0123456789abcdef0");
    const privateSubnetIds = r.list("privateSubnetIds", [], isSubnet, "must be subnet ids such as subnet-0123456789abcdef0", "subnet-0123456789abcdef0");
    for (const [key, ids] of [["publicSubnetIds", publicSubnetIds], ["privateSubnetIds", privateSubnetIds]] as const) {
        if (ids.length < 2) r.failList(key, JSON.stringify(ids), "must list at least two subnets in different availability zones", [...ids, ...EXAMPLE_SUBNETS].slice(0, 2));
    }
    return { vpcId, publicSubnetIds, privateSubnetIds };
}

type TaskSettings = Pick<AwsSettings, "taskCpu" | "taskMemory" | "taskArchitecture" | "desiredCount" | "minTasks" | "maxTasks">;

/** A Fargate cpu/memory pair; a bad one is refused on the key to change, with a valid value. */
function checkFargatePair(r: Reader, keys: { cpu: "taskCpu" | "projectTaskCpu"; memory: "taskMemory" | "projectTaskMemory" }, cpu: number, memory: number): boolean {
    if ((FARGATE_MEMORY[cpu] ?? []).includes(memory)) return true;
    const cpus = Object.keys(FARGATE_MEMORY).join(", ");
    const memories = FARGATE_MEMORY[cpu];
    r.fail(memories ? keys.memory : keys.cpu, String(memories ? memory : cpu),
        memories ? `must be one of ${memories.join(", ")} MiB for ${keys.cpu} ${cpu} (Fargate's valid pairs)` : `must be one of ${cpus}`,
        memories ? String(memories[0]) : "1024");
    return false;
}

/** Fargate's cpu/memory pairs and a desired count inside the autoscaling range. */
function readTasks(r: Reader): TaskSettings {
    const taskCpu = r.integer("taskCpu");
    const taskMemory = r.integer("taskMemory");
    checkFargatePair(r, { cpu: "taskCpu", memory: "taskMemory" }, taskCpu, taskMemory);
    const taskArchitecture = r.oneOf<CpuArchitecture>("taskArchitecture");
    const minTasks = r.integer("minTasks");
    const maxTasks = r.integer("maxTasks");
    const desiredCount = r.integer("desiredCount", minTasks);
    // A desired count is judged only against a valid range; its fix is the nearest count inside it.
    if (minTasks > maxTasks) r.fail("minTasks", String(minTasks), `must not exceed maxTasks (${maxTasks})`, "1");
    else if (desiredCount < minTasks || desiredCount > maxTasks) {
        r.fail("desiredCount", String(desiredCount), `must be between minTasks (${minTasks}) and maxTasks (${maxTasks})`, String(desiredCount < minTasks ? minTasks : maxTasks));
    }
    return { taskCpu, taskMemory, taskArchitecture, desiredCount, minTasks, maxTasks };
}

/** The project task settings of a stack that sets none (the schema's defaults). */
export const DEFAULT_PROJECT_TASKS: ProjectTaskSettings = {
    cpu: CONFIG_SCHEMA.projectTaskCpu.default,
    memory: CONFIG_SCHEMA.projectTaskMemory.default,
    maxTasks: CONFIG_SCHEMA.projectMaxTasks.default,
    workers: CONFIG_SCHEMA.projectWorkers.default,
    jobExecution: CONFIG_SCHEMA.projectJobExecution.default,
};

/** MLflow's job processes with one worker: about 1.9 GB of RSS on top of the server's 575 MiB (docs/benchmarks.md). */
export const JOB_EXECUTION_MIN_MEMORY = 3072;

/**
 * Every project's service: a Fargate pair of its own; job execution only where one task runs
 * (every starting server re-enqueues unfinished jobs, so replicas would run a job twice) and
 * only in a task that holds its processes.
 */
function readProjectTasks(r: Reader): ProjectTaskSettings {
    const cpu = r.integer("projectTaskCpu");
    const memory = r.integer("projectTaskMemory");
    const maxTasks = r.integer("projectMaxTasks");
    const workers = r.integer("projectWorkers");
    const jobExecution = r.boolean("projectJobExecution");
    const pair = checkFargatePair(r, { cpu: "projectTaskCpu", memory: "projectTaskMemory" }, cpu, memory);
    if (jobExecution && maxTasks > 1) {
        r.fail("projectMaxTasks", String(maxTasks), "must be 1 with projectJobExecution true: every starting MLflow server re-enqueues the unfinished jobs, so two tasks would run a job twice", "1");
    }
    if (jobExecution && pair && memory < JOB_EXECUTION_MIN_MEMORY) {
        const fit = (FARGATE_MEMORY[cpu] ?? []).find(m => m >= JOB_EXECUTION_MIN_MEMORY);
        const fix = fit === undefined ? `; raise projectTaskCpu to 512 first` : "";
        r.fail(fit === undefined ? "projectTaskCpu" : "projectTaskMemory", String(fit === undefined ? cpu : memory),
            `must hold MLflow's job execution (about 1.9 GB of job processes beside the server, docs/benchmarks.md): projectTaskMemory ${JOB_EXECUTION_MIN_MEMORY} or more${fix}`,
            String(fit ?? 512));
    }
    return { cpu, memory, maxTasks, workers, jobExecution };
}

/** The project servers of a local stack that sets none (the schema's defaults). */
export const DEFAULT_LOCAL_PROJECT_SERVERS: LocalProjectSettings = {
    workers: CONFIG_SCHEMA.projectWorkers.default,
    jobExecution: CONFIG_SCHEMA.projectJobExecution.default,
};

/** The local database container's default max_connections must hold every server's pools and job processes. */
function checkLocalConnections(r: Reader, common: Common, jobExecution: boolean, projects: LocalProjectSettings): void {
    const limit = LOCAL_MAX_CONNECTIONS[common.backend];
    const limitName = `the ${common.backend} container's max_connections`;
    const workers = connectionBudgetProblem(common.mlflowWorkers, 1, 1, limit, limitName);
    workers?.forEach(p => r.fail(...p));
    if (workers !== undefined) return;
    // Every project is one more server container on the same database container.
    const root: ServerFleet = { pool: DEFAULT_POOL, workers: common.mlflowWorkers, maxTasks: 1, deploymentOverlap: 1, jobExecution };
    const project: ServerFleet = { pool: DEFAULT_POOL, workers: projects.workers, maxTasks: 1, deploymentOverlap: 1, jobExecution: projects.jobExecution };
    const hints = [
        ...(projects.jobExecution ? ["projectJobExecution false"] : []),
        ...(projects.workers > 1 ? ["projectWorkers 1"] : []),
        ...(jobExecution ? ["jobExecution false"] : []),
    ].map(h => `, or pulumi config set ${h}`).join("");
    awsProjectsBudgetProblem(root, project, common.projects.length, limit, limitName, undefined)
        ?.forEach(([, value, allowed, fitting]) => r.failList("projects", value, allowed + hints, common.projects.slice(0, Number(fitting)).map(projectEntry)));
}

/**
 * On aws every project's listener rule has a priority derived from its name (shared/projects.ts);
 * two names whose priorities collide are refused here, naming both: rename one.
 */
function checkAwsProjectPriorities(r: Reader, common: Common): void {
    for (const [a, b, priority] of projectPriorityCollisions(common.projects.map(p => p.name))) {
        r.failList("projects", b, `shares load balancer rule priority ${priority} with project ${a} (priorities derive from names so that no other project's rule moves): rename one of them`,
            common.projects.filter(p => p.name !== b).map(projectEntry));
    }
}

function projectEntry(p: { name: string; username: string }): string {
    return p.name === p.username ? p.name : `${p.name}:${p.username}`;
}

/**
 * Aurora's max_connections at dbMaxCapacity must hold every task's pools, old and new tasks
 * overlapping during a deployment; with projects, every project's service too (each scales to maxTasks).
 */
function checkAuroraConnections(r: Reader, common: Common, aurora: AuroraSettings, tasks: TaskSettings, projectTasks: ProjectTaskSettings): void {
    const limit = auroraMaxConnections(common.backend, aurora.dbMinCapacity, aurora.dbMaxCapacity);
    const limitName = `Aurora's max_connections at dbMaxCapacity ${aurora.dbMaxCapacity}`;
    const workers = connectionBudgetProblem(common.mlflowWorkers, tasks.maxTasks, ECS_DEPLOYMENT_OVERLAP, limit, limitName);
    workers?.forEach(p => r.fail(...p));
    if (workers !== undefined) return;
    const root: ServerFleet = { pool: DEFAULT_POOL, workers: common.mlflowWorkers, maxTasks: tasks.maxTasks, deploymentOverlap: ECS_DEPLOYMENT_OVERLAP, jobExecution: false };
    const project = awsProjectFleet(projectTasks);
    const raiseTo = auroraCapacityForProjects(common.backend, aurora.dbMinCapacity, root, project, common.projects.length);
    const projects = awsProjectsBudgetProblem(root, project, common.projects.length, limit, limitName, raiseTo);
    projects?.forEach(([, value, allowed, fitting]) => r.failList("projects", value, allowed + projectFleetHints(projectTasks),
        common.projects.slice(0, Number(fitting)).map(projectEntry)));
    if (projects !== undefined) return;
    // Each reader has the writer's capacity range, so the same max_connections.
    readerBudgetProblem(clusterConnections(root, project, common.projects.length, aurora.dbReaderInstances ?? 0), limit, limitName)
        ?.forEach(p => r.fail(...p));
}

/** The project settings above their defaults that would make room, named for the refusal. */
function projectFleetHints(p: ProjectTaskSettings): string {
    const hints = [
        ...(p.jobExecution ? ["projectJobExecution false"] : []),
        ...(p.workers > 1 ? ["projectWorkers 1"] : []),
        ...(p.maxTasks > 1 ? ["projectMaxTasks 1"] : []),
    ];
    return hints.map(h => `, or pulumi config set ${h}`).join("");
}

/**
 * A project's fleet on the aws target. Job execution is counted where it runs; the server at `/`
 * runs none where more than one task may run (trackingServer/mlflow.ts), which the root check assumes.
 */
function awsProjectFleet(p: ProjectTaskSettings): ServerFleet {
    return { pool: PROJECT_POOL, workers: p.workers, maxTasks: p.maxTasks, deploymentOverlap: ECS_DEPLOYMENT_OVERLAP, jobExecution: p.jobExecution };
}

/** monitoring and the alarm* keys; undefined with monitoring false. */
function readMonitoring(r: Reader): MonitoringSettings | undefined {
    const alarmEmail = r.optionalString("alarmEmail");
    const thresholds = {
        errorRatePercent: r.stepped("alarm5xxPercent"),
        cpuPercent: r.integer("alarmCpuPercent"),
        memoryPercent: r.integer("alarmMemoryPercent"),
        dbConnectionsPercent: r.integer("alarmDbConnectionsPercent"),
    };
    if (!r.boolean("monitoring")) return undefined;
    return { ...(alarmEmail === undefined ? {} : { alarmEmail }), thresholds };
}

function readRegion(r: Reader, awsRegion: string | undefined): string {
    const region = awsRegion ?? "";
    if (!AWS_REGION.test(region)) {
        const fix = r.style === "settings" ? "platformArgs(settings, \"eu-west-1\"), or set aws:region in the program's stack config" : "pulumi config set aws:region eu-west-1";
        r.problems.push(`aws:region = ${JSON.stringify(awsRegion)} is invalid: the aws target needs an AWS region such as eu-west-1. Fix: ${fix}`);
    }
    return region;
}

/**
 * How clients reach the load balancer. Default (no certificateArn, no plainHttp): CloudFront's
 * HTTPS in front, and only CloudFront reaches the load balancer, so a CIDR list or a domain of
 * the load balancer's own would be ignored: refused instead. plainHttp is for private networks.
 */
function checkFrontDoor(r: Reader, k: { ingressCidrs: string[]; certificateArn?: string; domainName?: string; plainHttp: boolean }): void {
    const openToAll = k.ingressCidrs.some(c => c.endsWith("/0"));
    if (k.plainHttp && k.certificateArn) {
        r.fail("plainHttp", "true", "cannot be combined with certificateArn (which serves HTTPS)", "false");
    } else if (k.plainHttp && openToAll) {
        r.fail("plainHttp", "true", `sends passwords unencrypted and is only for private networks: set ingressCidrs to your networks first (now ${k.ingressCidrs.join(", ")})`, "false");
    }
    if (k.certificateArn || k.plainHttp) return;
    const why = "without certificateArn or plainHttp, CloudFront is the front door and only CloudFront reaches the load balancer";
    // Pulumi.yaml's default may arrive as if set: only a list other than it is refused.
    if (r.has("ingressCidrs") && !(k.ingressCidrs.length === 1 && k.ingressCidrs[0] === "0.0.0.0/0")) {
        r.problems.push(`${PROJECT}:ingressCidrs = ${JSON.stringify(k.ingressCidrs.join(","))} is invalid: it applies only with certificateArn or plainHttp; ${why}. `
            + "Fix: pulumi config set certificateArn arn:aws:acm:<region>:<account>:certificate/<id> (HTTPS on the load balancer, which keeps the CIDR list), or pulumi config rm ingressCidrs");
    }
    if (k.domainName) {
        r.problems.push(`${PROJECT}:domainName = ${JSON.stringify(k.domainName)} is invalid: it needs certificateArn (an ACM certificate for it in the stack's region); ${why}, at https://<id>.cloudfront.net. `
            + "Fix: pulumi config set certificateArn arn:aws:acm:<region>:<account>:certificate/<id>, or pulumi config rm domainName");
    }
}

function readAws(r: Reader, common: Common, awsRegion: string | undefined): AwsPlatformConfig {
    const region = readRegion(r, awsRegion);
    const serving = readServing(r);
    const aurora = readAurora(r, common.backend);
    const ingressCidrs = r.list("ingressCidrs", [...CONFIG_SCHEMA.ingressCidrs.default], isValidCidr, "must be IPv4 CIDR blocks such as 203.0.113.0/24", "203.0.113.0/24");
    const certificateArn = r.optionalString("certificateArn");
    const domainName = r.optionalString("domainName");
    const plainHttp = r.boolean("plainHttp");
    checkFrontDoor(r, { ingressCidrs, certificateArn, domainName, plainHttp });
    const existingVpc = readExistingVpc(r);
    const tasks = readTasks(r);
    const projectTasks = readProjectTasks(r);
    const noncurrentVersionExpirationDays = r.integer("noncurrentVersionExpirationDays");
    const ecrKeepImages = r.integer("ecrKeepImages");
    const logRetentionDays = r.integer("logRetentionDays");
    if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
        r.fail("logRetentionDays", String(logRetentionDays), `must be one of CloudWatch's periods: ${LOG_RETENTION_DAYS.join(", ")}`, "30");
    }
    const monitoring = readMonitoring(r);
    const nginxImage = r.string("nginxImage");
    const pythonImage = r.string("pythonImage");
    const allowedHosts = r.list("allowedHosts", [], isValidHostPattern, HOST_CHECK, "mlflow.example.com");
    checkAuroraConnections(r, common, aurora, tasks, projectTasks);
    checkAwsProjectPriorities(r, common);
    finish(r);
    return {
        target: "aws", ...common,
        allowedHosts: domainName && !allowedHosts.includes(domainName) ? [domainName, ...allowedHosts] : allowedHosts,
        aws: {
            region, ...aurora, ingressCidrs, certificateArn, domainName, plainHttp, existingVpc, ...tasks, projectTasks,
            noncurrentVersionExpirationDays, ecrKeepImages, logRetentionDays, nginxImage, pythonImage,
            ...(serving ? { serving } : {}),
            ...(monitoring ? { monitoring } : {}),
        },
    };
}

/**
 * The secret keys are not declared in Pulumi.yaml (a declared secret cannot be optional), so the
 * CLI does not refuse them in plaintext: the program does, from the keys the CLI passed encrypted.
 */
function checkEncrypted(r: Reader, secretKeys: readonly string[] | undefined): void {
    if (secretKeys === undefined) return;
    for (const key of ["password", "aiGatewayKekPassphrase"] as const) {
        if (r.has(key) && !secretKeys.includes(`${PROJECT}:${key}`)) {
            r.fail(key, undefined, "must be stored encrypted (set with --secret), not in plaintext in the stack file", CONFIG_SCHEMA[key].example);
        }
    }
    if (r.has("userPasswords") && !secretKeys.includes(`${PROJECT}:userPasswords`)) {
        r.failPath("userPasswords", "userPasswords", undefined,
            "must be stored encrypted, not in plaintext in the stack file: pulumi config rm userPasswords, then set each with pulumi config set --secret --path 'userPasswords.<name>' <password>", undefined);
    }
}

/** `secretKeys`: the keys the CLI passed encrypted (undefined when unknown, as under test mocks). */
export function parseConfig(raw: RawConfig, awsRegion?: string, secretKeys?: readonly string[], style: FixStyle = "stack"): PlatformConfig {
    const r = new Reader(raw, style);
    const target = r.oneOf<Target>("target");
    checkEncrypted(r, secretKeys);
    const common = readCommon(r, target);
    return target === "local" ? readLocal(r, common) : readAws(r, common, awsRegion);
}

function finish(r: Reader): void {
    if (r.problems.length > 0) throw new ConfigError(r.problems);
}

/** Reads the stack's config through Pulumi and validates it; throws ConfigError before any resource exists. */
export function loadConfig(): PlatformConfig {
    const cfg = new pulumi.Config(PROJECT);
    const raw: Record<string, string | undefined> = {};
    for (const key of CONFIG_KEYS) raw[key] = cfg.get(key);
    // The language host lists the keys it passed encrypted (PULUMI_CONFIG_SECRET_KEYS, JSON).
    const secretKeys = process.env.PULUMI_CONFIG_SECRET_KEYS;
    return parseConfig(raw, new pulumi.Config("aws").get("region"), secretKeys === undefined ? undefined : JSON.parse(secretKeys) as string[]);
}

/** Stack config keys with typed values, as another program passes them to `platformArgs`. */
export type PlatformSettings = {
    readonly [K in ConfigKey]?: string | number | boolean | readonly string[] | readonly PlatformUserSetting[] | Readonly<Record<string, string>>
};
/** One `users` entry as platformArgs takes it (projects optional, as in stack config). */
export interface PlatformUserSetting {
    readonly name: string;
    readonly role: string;
    readonly projects?: readonly string[];
}

/**
 * The platform's args from settings named like the stack config keys (docs/configuration.md),
 * with the same defaults and checks as `pulumi up` of this stack; lists are arrays. Throws
 * ConfigError before any resource exists. `awsRegion` defaults to the `aws:region` config.
 */
export function platformArgs(settings: PlatformSettings & { readonly target: "aws" }, awsRegion?: string): AwsPlatformConfig;
export function platformArgs(settings: PlatformSettings & { readonly target?: "local" }, awsRegion?: string): LocalPlatformConfig;
export function platformArgs(settings: PlatformSettings, awsRegion?: string): PlatformConfig;
export function platformArgs(settings: PlatformSettings, awsRegion: string | undefined = new pulumi.Config("aws").get("region")): PlatformConfig {
    const raw: Record<string, string> = {};
    for (const [key, value] of Object.entries(settings)) {
        if (value === undefined) continue;
        raw[key] = typeof value === "object" ? JSON.stringify(value) : String(value);
    }
    const unknown = Object.keys(raw).filter(key => !(CONFIG_KEYS as readonly string[]).includes(key));
    if (unknown.length > 0) throw new ConfigError(unknown.map(unknownSetting));
    return parseConfig(raw, awsRegion, undefined, "settings");
}

/** An unknown key, with the known key it most likely meant (same letters ignoring case, or one typo away). */
function unknownSetting(key: string): string {
    const near = CONFIG_KEYS.find(k => k.toLowerCase() === key.toLowerCase()) ?? CONFIG_KEYS.find(k => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
    const fix = near ? `did you mean ${near}?` : "use a key from docs/configuration.md";
    return `${key} is not a setting. Fix: ${fix} Known: ${CONFIG_KEYS.join(", ")}`;
}

function editDistance(a: string, b: string): number {
    let row = Array.from({ length: b.length + 1 }, (_, j) => j);
    for (let i = 1; i <= a.length; i++) {
        const next = [i];
        for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j] + 1, next[j - 1] + 1, row[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
        row = next;
    }
    return row[b.length];
}
