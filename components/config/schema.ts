// Every stack setting once: its type, default, allowed values and description. The parser
// (./index.ts) reads its defaults and limits from here, and Pulumi.yaml's `config:` block is
// generated from it (components/config/pulumiYaml.ts; `npm run generate`, checked by a test).
import { ACM_ARN, isPinnedImage, isValidBackupWindow, isValidEmail, isValidBucketName, isValidHostPattern, isValidIpv4, isValidUploadSize, isValidUsername } from "./checks";

export const PROJECT = "mlflow-platform";

/** Which target reads the key; the description in Pulumi.yaml starts with `[local]` or `[aws]`. */
export type Scope = "both" | "local" | "aws";

/** A free-form string: `check` decides, `allowed` says what passes, `example` goes into the fix. */
export interface StringSpec {
    readonly type: "string";
    readonly scope: Scope;
    readonly description: string;
    readonly default?: string;
    readonly secret?: boolean;
    readonly check?: (value: string) => boolean;
    readonly allowed?: string;
    readonly example?: string;
}
export interface ChoiceSpec {
    readonly type: "choice";
    readonly scope: Scope;
    readonly description: string;
    readonly default: string;
    readonly choices: readonly string[];
}
export interface IntegerSpec {
    readonly type: "integer";
    readonly scope: Scope;
    readonly description: string;
    /** Undefined when the default depends on other keys (see the description). */
    readonly default?: number;
    readonly min: number;
    readonly max: number;
}
/** A number in `step` increments; declared as a string in Pulumi.yaml (its integer type has no fractions). */
export interface SteppedSpec {
    readonly type: "number";
    readonly scope: Scope;
    readonly description: string;
    readonly default: number;
    readonly min: number;
    readonly max: number;
    readonly step: number;
}
export interface BooleanSpec {
    readonly type: "boolean";
    readonly scope: Scope;
    readonly description: string;
    readonly default: boolean;
}
/** A list of strings; no default when it depends on other keys (see the description). */
export interface ArraySpec {
    readonly type: "array";
    readonly scope: Scope;
    readonly description: string;
    readonly default?: readonly string[];
}
/**
 * A structured value (a list of objects or a map), set with `--path`; never declared in
 * Pulumi.yaml (its types have no objects), checked by its own reader (e.g. ./users.ts).
 */
export interface StructuredSpec {
    readonly type: "structured";
    readonly scope: Scope;
    readonly description: string;
    /** What it holds, for the reference, e.g. "list of objects". */
    readonly shape: string;
    readonly allowed: string;
    readonly secret?: boolean;
}
export type KeySpec = StringSpec | ChoiceSpec | IntegerSpec | SteppedSpec | BooleanSpec | ArraySpec | StructuredSpec;

const PINNED_IMAGE = {
    check: isPinnedImage,
    allowed: "must be an image reference with an explicit tag other than 'latest' (e.g. registry/name:1.2.3)",
} as const;

function image(scope: Scope, reference: string, description: string): StringSpec & { readonly default: string } {
    return { type: "string", scope, default: reference, ...PINNED_IMAGE, example: reference, description };
}

export const CONFIG_SCHEMA = {
    target: { type: "choice", scope: "both", default: "local", choices: ["local", "aws"], description: "Where to deploy, \"local\" (Docker on the host that runs pulumi) or \"aws\"." },
    backend: { type: "choice", scope: "both", default: "mysql", choices: ["mysql", "postgres"], description: "Metadata database engine, \"mysql\" (MySQL 8 / Aurora MySQL) or \"postgres\"." },
    username: {
        type: "string", scope: "both", default: "mlflow", check: isValidUsername, example: "mlflow",
        allowed: "must be 1-64 characters of letters, digits, '.', '_', '@' or '-' (':' would break basic auth)",
        description: "Basic-auth user name clients log in with.",
    },
    password: {
        type: "string", scope: "both", secret: true, check: v => v.length >= 12 && v.length <= 128 && !/[\r\n]/.test(v),
        allowed: "must be 12 to 128 characters on one line", example: "<a-password-of-12-or-more-characters>",
        description: "Basic-auth password (12+ characters). Generated when unset; read it with `pulumi stack output password --show-secrets`.",
    },
    users: {
        type: "structured", scope: "both", shape: "list of objects",
        allowed: "entries {name, role, projects}: name ^[a-z][a-z0-9._-]{1,62}$, unique, not starting with reader- or model-, not the username key nor a project's login; role admin, editor or viewer; projects: names from `projects`",
        description: "Team accounts, each its own login (`--path 'users[0].name' alice`, `'users[0].role' editor`, `'users[0].projects[0]' vision`). Roles are default rights in MLflow's auth app: admin (everything, every project), editor (reads everything, creates and then manages its own), viewer (reads). Per-experiment and per-model grants are made in MLflow. Passwords: userPasswords, else generated (output userPassword-<name>). The username/password login stays, as an admin of the server at /. See docs/security.md.",
    },
    userPasswords: {
        type: "structured", scope: "both", secret: true, shape: "map of name to password",
        allowed: "one entry per name in users, each 12 to 128 characters on one line",
        description: "Passwords of users entries, by name (`pulumi config set --secret --path 'userPasswords.alice' ...`). A user without one gets a generated password (output userPassword-<name>).",
    },
    bucketName: {
        type: "string", scope: "both", check: isValidBucketName, example: "mlflow-artifacts",
        allowed: "must be a valid S3 bucket name: 3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit",
        description: "Artifact bucket name. Default \"mlflow-artifacts\" locally; on AWS a globally unique name derived from the stack.",
    },
    maxUploadSize: {
        type: "string", scope: "both", default: "5g", check: isValidUploadSize, allowed: "must be an nginx size such as 5g, 500m or 0 (no limit)", example: "5g",
        description: "Largest request body the proxy accepts (nginx size syntax, e.g. 500m, 5g; 0 = no limit).",
    },
    proxyTimeoutSeconds: { type: "integer", scope: "both", default: 3600, min: 1, max: 86400, description: "Proxy read/send timeout in seconds, long enough for multi-GB artifact transfers." },
    allowedHosts: { type: "array", scope: "both", description: "Host names clients use to reach the server (MLflow rejects other Host headers). Default localhost and 127.0.0.1 locally; on AWS the load balancer name and domainName are always added. Also sets the UI's allowed CORS origins." },
    mlflowWorkers: { type: "integer", scope: "both", min: 1, max: 64, description: "MLflow server worker processes per container or task. Default 1 (measured to serve as much as 4 on the benchmark, docs/benchmarks.md; each more worker adds about 300 MB). Refused when pool x workers x tasks exceeds the database's connections." },
    logLevel: {
        type: "choice", scope: "both", default: "info", choices: ["debug", "info", "warning", "error"],
        description: "Log level of every MLflow server (MLflow's own loggers and uvicorn's). \"warning\" drops uvicorn's line per request, which the proxy's JSON access log already has (docs/observability.md).",
    },
    jobExecution: {
        type: "boolean", scope: "local", default: false,
        description: "Run MLflow's job execution on the server at / (the UI's GenAI jobs: judges and scorers on traces, GenAI evaluation, prompt optimisation) and its periodic tasks. Off by default: it adds about 1.9 GB of job processes (docs/benchmarks.md).",
    },
    projects: {
        type: "array", scope: "both", default: [],
        description: "Extra projects beside the server at /: each entry `name` or `name:username` gets its own MLflow server at /projects/<name>/, database and user, artifact prefix projects/<name>/ with its own storage identity, and basic-auth credentials (output `projects`). On aws each project is its own ECS service, target group and listener rule (priority from the name), task role and Aurora database.",
    },
    retainDataOnDestroy: { type: "boolean", scope: "both", default: true, description: "Keep volumes, the bucket and the database when the stack is destroyed. false also deletes a removed project's database, user, storage identity and objects at pulumi up (docs/projects.md, Removing a project)." },
    // mlflow gc for / and every project (components/garbageCollection): deleted runs' rows and artifacts go after this long.
    gcEnabled: { type: "boolean", scope: "both", default: true, description: "Run `mlflow gc` on a schedule for / and every project: runs, experiments and logged models deleted more than gcOlderThanDays ago lose their rows and artifacts for good. false: nothing is ever reclaimed (docs/operations.md, Garbage collection)." },
    gcOlderThanDays: { type: "integer", scope: "both", default: 30, min: 1, max: 3650, description: "Days a deleted run, experiment or logged model stays restorable (mlflow gc --older-than) before garbage collection removes it and its artifacts." },
    gcIntervalHours: { type: "integer", scope: "both", default: 24, min: 1, max: 8760, description: "Hours between two garbage collections (Docker: a container per server; AWS: an EventBridge Scheduler schedule starting a Fargate task per server)." },
    // Scheduled backups on Docker (components/backup): dumps of every database and a copy of the bucket on retained volumes.
    backupEnabled: { type: "boolean", scope: "local", default: true, description: "Back up every database (/, each project's, the auth app's) as logical dumps and copy the artifact bucket, on a schedule, into Docker volumes that outlive pulumi destroy and the data volumes (docs/operations.md, Backups). false: no backup at all." },
    backupIntervalHours: { type: "integer", scope: "local", default: 24, min: 1, max: 8760, description: "Hours between two backups (database dumps and the incremental artifact copy)." },
    backupKeep: { type: "integer", scope: "local", default: 7, min: 1, max: 1000, description: "Database dumps kept (the newest; older ones are deleted after each successful backup). The artifact copy keeps every object it ever copied, so any kept dump restores with its artifacts." },
    enableAiGateway: { type: "boolean", scope: "both", default: false, description: "Turn on MLflow's AI Gateway (users store provider API keys in the database). Needs aiGatewayKekPassphrase. Off, its API answers 501." },
    aiGatewayKekPassphrase: {
        type: "string", scope: "both", secret: true, check: v => v.length >= 32 && v.length <= 1024 && !/[\r\n]/.test(v),
        allowed: "must be 32 to 1024 characters on one line", example: "\"$(openssl rand -base64 32)\"",
        description: "Passphrase MLflow derives the key encrypting stored provider API keys from (32+ characters). Keep it: a new one makes stored keys unreadable.",
    },
    hostPort: { type: "integer", scope: "local", default: 5000, min: 1, max: 65535, description: "Host port of the proxy: the only port the platform publishes." },
    bindAddress: {
        type: "string", scope: "local", default: "127.0.0.1", check: isValidIpv4, allowed: "must be an IPv4 address such as 127.0.0.1 or 0.0.0.0", example: "127.0.0.1",
        description: "Host address the proxy port binds to; 0.0.0.0 exposes it to the network.",
    },
    exposeMinioConsole: { type: "boolean", scope: "local", default: false, description: "Publish the MinIO console on minioConsolePort (bound to bindAddress)." },
    minioConsolePort: { type: "integer", scope: "local", default: 9001, min: 1, max: 65535, description: "Host port of the MinIO console when exposeMinioConsole is true." },
    // Docker Hub's minio/* repositories are gone; quay.io still serves the archived releases.
    minioImage: image("local", "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z", "MinIO server image (pinned tag; Docker Hub's minio repositories are gone)."),
    mcImage: image("local", "quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z", "MinIO client image that initialises the bucket."),
    mysqlImage: image("local", "mysql:8.4.6", "MySQL image for backend mysql."),
    postgresImage: image("local", "postgres:16.10-bookworm", "PostgreSQL image for backend postgres."),
    nginxImage: image("both", "nginx:1.28.0-alpine", "nginx image of the authenticating proxy (container locally, sidecar on AWS)."),
    pythonImage: image("both", "python:3.12.11-slim-bookworm", "Base image of the MLflow image built from images/tracking-server."),
    // Serve registered models behind the proxy (components/modelServer, modelServer/serving.ts).
    servedModels: {
        type: "array", scope: "both", default: [],
        description: "Registered models to serve over REST at /models/<name>/invocations behind the proxy's basic auth, each \"name\" or \"name@alias\" (alias default champion). Moving the alias is picked up within servingPollSeconds. Default none.",
    },
    servingWorkers: { type: "integer", scope: "both", default: 1, min: 1, max: 16, description: "Scoring-server (uvicorn) workers per served model." },
    servingMemoryMb: {
        type: "integer", scope: "local", default: 2048, min: 256, max: 1048576,
        description: "Memory limit of each served model's container in MiB (Docker; no swap beyond it). It holds the supervisor and, while the alias moves, two loaded versions; a model that exceeds it is killed and restarted.",
    },
    servingPollSeconds: { type: "integer", scope: "both", default: 30, min: 1, max: 3600, description: "Seconds between two look-ups of a served model's alias; a moved alias is served within this plus the new version's load time." },
    dbEngineVersion: {
        type: "string", scope: "aws", check: v => /^[0-9A-Za-z._-]+$/.test(v), allowed: "must be an Aurora engine version",
        description: "Aurora engine version. Default 8.0.mysql_aurora.3.10.0 (mysql) or 16.8 (postgres): long-term-support releases able to auto-pause.",
    },
    dbMinCapacity: { type: "number", scope: "aws", default: 0, min: 0, max: 256, step: 0.5, description: "Aurora Serverless v2 minimum ACUs (0 to 256 in 0.5 steps; 0 = auto-pause when idle)." },
    dbMaxCapacity: { type: "number", scope: "aws", default: 2, min: 1, max: 256, step: 0.5, description: "Aurora Serverless v2 maximum ACUs (1 to 256 in 0.5 steps)." },
    dbAutoPauseSeconds: { type: "integer", scope: "aws", default: 900, min: 300, max: 86400, description: "Idle seconds before Aurora pauses when dbMinCapacity is 0 (300-86400)." },
    dbBackupRetentionDays: { type: "integer", scope: "aws", default: 7, min: 1, max: 35, description: "Days of Aurora's automated backups and of its point-in-time restore window (1-35). Storage up to the cluster's size is free; beyond it see npm run cost." },
    dbBackupWindow: {
        type: "string", scope: "aws", default: "", check: isValidBackupWindow, example: "03:00-03:30",
        allowed: "must be a UTC window hh24:mi-hh24:mi of at least 30 minutes, outside the cluster's maintenance window",
        description: "Daily UTC window of Aurora's automated backup (snapshot), e.g. 03:00-03:30; at least 30 minutes, outside the maintenance window. Default: one AWS picks for the region. Point-in-time restore covers any second of dbBackupRetentionDays either way (docs/aws.md).",
    },
    dbDeletionProtection: { type: "boolean", scope: "aws", default: true, description: "Refuse to delete the database cluster until this is turned off." },
    // 0-3: one reader takes the reads off the writer, a second keeps them off during the first's failover; each costs what the writer does.
    dbReaderInstances: {
        type: "integer", scope: "aws", default: 0, min: 0, max: 3,
        description: "Aurora Serverless v2 reader instances (0-3) with the writer's capacity range. With 1 or more, every MLflow server sends its searches and UI reads to the cluster's reader endpoint (--read-replica-backend-store-uri) and only writes to the writer; each reader is priced like the writer (npm run cost).",
    },
    ingressCidrs: { type: "array", scope: "aws", default: ["0.0.0.0/0"], description: "IPv4 CIDR blocks allowed to reach the load balancer, with certificateArn or plainHttp. Default 0.0.0.0/0 (basic auth still required). Behind CloudFront (neither set) only CloudFront reaches it." },
    certificateArn: {
        type: "string", scope: "aws", default: "", check: v => ACM_ARN.test(v), example: "arn:aws:acm:eu-west-1:123456789012:certificate/<id>",
        allowed: "must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)",
        description: "ACM certificate ARN for HTTPS on the load balancer (with domainName). Without it a CloudFront distribution serves HTTPS on its *.cloudfront.net name in front of the load balancer.",
    },
    plainHttp: {
        type: "boolean", scope: "aws", default: false,
        description: "Serve plain HTTP from the load balancer, with no CloudFront in front: basic-auth passwords cross the network unencrypted. Only for private networks: needs ingressCidrs without 0.0.0.0/0 and no certificateArn.",
    },
    domainName: {
        type: "string", scope: "aws", default: "", check: v => isValidHostPattern(v) && !v.includes(":") && !v.includes("*"),
        allowed: "must be a DNS name such as mlflow.example.com", example: "mlflow.example.com",
        description: "DNS name clients use (you point it at the load balancer; needs certificateArn, or plainHttp); added to MLflow's allowed hosts.",
    },
    vpcId: {
        type: "string", scope: "aws", default: "", check: v => /^vpc-[0-9a-f]{8,17}$/.test(v), allowed: "must be a VPC id such as vpc-0123456789abcdef0", example: "vpc-0123456789abcdef0",
        description: "Existing VPC to deploy into; set with publicSubnetIds and privateSubnetIds, or leave all unset for a new VPC.",
    },
    publicSubnetIds: { type: "array", scope: "aws", default: [], description: "Existing public subnets (2+ AZs) for the load balancer." },
    privateSubnetIds: { type: "array", scope: "aws", default: [], description: "Existing private subnets (2+ AZs, with a route to ECR, S3, Logs and Secrets Manager) for tasks and database." },
    // Task size from measured MLflow memory (docs/benchmarks.md): idles at <= $45/month (npm run cost).
    taskCpu: { type: "integer", scope: "aws", default: 512, min: 256, max: 16384, description: "Fargate task CPU units (256, 512, 1024, 2048, 4096, 8192, 16384)." },
    taskMemory: { type: "integer", scope: "aws", default: 1024, min: 512, max: 122880, description: "Fargate task memory in MiB; must be valid for taskCpu." },
    taskArchitecture: { type: "choice", scope: "aws", default: "ARM64", choices: ["X86_64", "ARM64"], description: "X86_64 or ARM64; the image is built for this platform." },
    desiredCount: { type: "integer", scope: "aws", min: 1, max: 100, description: "Tasks to start with. Default minTasks." },
    minTasks: { type: "integer", scope: "aws", default: 1, min: 1, max: 100, description: "Autoscaling minimum task count." },
    maxTasks: { type: "integer", scope: "aws", default: 3, min: 1, max: 100, description: "Autoscaling maximum task count." },
    // A project's task holds one uvicorn worker (no launcher, no job execution): 285 MiB RSS idle, 330 MiB
    // at the transfer peak, nginx 11-16 MiB, so ~346 MiB of 512 (docs/benchmarks.md): the Fargate minimum.
    projectTaskCpu: { type: "integer", scope: "aws", default: 256, min: 256, max: 16384, description: "Fargate CPU units of each project's task (256, 512, 1024, ...). Projects get their own, smaller tasks than the server at /." },
    projectTaskMemory: { type: "integer", scope: "aws", default: 512, min: 512, max: 122880, description: "Fargate memory in MiB of each project's task; must be valid for projectTaskCpu, and at least 3072 with projectJobExecution." },
    projectMaxTasks: { type: "integer", scope: "aws", default: 1, min: 1, max: 100, description: "Autoscaling maximum task count of each project's service (minimum 1). Every task counts against Aurora's connections; more than 1 needs projectJobExecution false." },
    projectWorkers: { type: "integer", scope: "both", default: 1, min: 1, max: 64, description: "MLflow server worker processes of each project's server (container or task)." },
    projectJobExecution: {
        type: "boolean", scope: "both", default: false,
        description: "Run MLflow's job execution (the UI's GenAI jobs: judges and scorers on traces, GenAI evaluation, prompt optimisation) on every project's server: about 1.9 GB more per project. On aws it needs projectMaxTasks 1 and projectTaskMemory 3072 or more.",
    },
    noncurrentVersionExpirationDays: { type: "integer", scope: "aws", default: 30, min: 1, max: 36500, description: "Days after which overwritten or deleted artifact versions are removed." },
    ecrKeepImages: { type: "integer", scope: "aws", default: 10, min: 1, max: 1000, description: "Number of tracking-server images ECR keeps." },
    logRetentionDays: { type: "integer", scope: "aws", default: 30, min: 1, max: 3653, description: "CloudWatch Logs retention in days of every log group the stack creates (one of CloudWatch's periods: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653). A change updates the log groups in place." },
    // CloudWatch alarms and a dashboard (components/monitoring, docs/observability.md "Alarms on AWS").
    monitoring: { type: "boolean", scope: "aws", default: true, description: "CloudWatch alarms (5xx rate, unhealthy targets, restart loops, CPU and memory per service, Aurora at maximum capacity and near the connection budget) notifying an SNS topic, and a dashboard of the same signals: about $3.90 a month for the default stack ($3 the dashboard), $0.40 more per project or served model (npm run cost). false: none of them." },
    alarmEmail: {
        type: "string", scope: "aws", check: isValidEmail, allowed: "must be one e-mail address such as ops@example.com", example: "ops@example.com",
        description: "E-mail address subscribed to the alarms' SNS topic. AWS mails it a confirmation link; the subscription stays pending, and delivers nothing, until the link is followed. Default none (subscribe anything else to the topic output alarmTopicArn).",
    },
    alarm5xxPercent: { type: "number", scope: "aws", default: 5, min: 0.5, max: 100, step: 0.5, description: "Alarm when more than this percentage of requests at the load balancer answer 5xx (in 2 of 3 five-minute periods with 20 or more requests)." },
    alarmCpuPercent: { type: "integer", scope: "aws", default: 90, min: 10, max: 100, description: "Alarm when a service's tasks average this much CPU (percent of the task's) for 15 minutes." },
    alarmMemoryPercent: { type: "integer", scope: "aws", default: 90, min: 10, max: 100, description: "Alarm when a service's fullest task uses this much of its memory (percent) for 5 minutes." },
    alarmDbConnectionsPercent: { type: "integer", scope: "aws", default: 80, min: 10, max: 100, description: "Alarm when Aurora's writer holds this percentage of the connection budget (max_connections at dbMaxCapacity less 10 reserved, the number the config check fits every server into) for 5 minutes." },
} as const satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof CONFIG_SCHEMA;
/** The keys whose spec has type T, for the reader's typed accessors. */
export type KeysOfType<T extends KeySpec["type"]> = { [K in ConfigKey]: (typeof CONFIG_SCHEMA)[K]["type"] extends T ? K : never }[ConfigKey];

/** Every key this program reads; Pulumi.yaml declares the same set (generated from the schema). */
export const CONFIG_KEYS = Object.keys(CONFIG_SCHEMA) as ConfigKey[];

export function specOf(key: ConfigKey): KeySpec {
    return CONFIG_SCHEMA[key];
}
