// The validated stack config as the program sees it: one typed object per target.
import type { Target } from "../shared/target";

export type { Target };
export type BackendEngine = "mysql" | "postgres";
/** Config logLevel: every MLflow server's (trackingServer/mlflow.ts renderLogLevelEnvironment). */
export type LogLevel = "debug" | "info" | "warning" | "error";
export type CpuArchitecture = "X86_64" | "ARM64";

/** Image references for the local target; each must carry an explicit, non-`latest` tag. */
export interface LocalImages {
    readonly minio: string;
    readonly mc: string;
    readonly mysql: string;
    readonly postgres: string;
    readonly nginx: string;
    /** Base image of the MLflow image built from images/tracking-server. */
    readonly python: string;
}

/** Registered models served over REST; undefined when servedModels is empty. */
export interface ServingSettings {
    readonly models: ReadonlyArray<{ readonly name: string; readonly alias: string }>;
    readonly workers: number;
    readonly pollSeconds: number;
}

/** Docker: the same, and each model container's memory limit in MiB (servingMemoryMb). */
export interface LocalServingSettings extends ServingSettings {
    readonly memoryMb: number;
}

/** The local target's project servers (one container each); unset: DEFAULT_LOCAL_PROJECT_SERVERS. */
export interface LocalProjectSettings {
    readonly workers: number;
    /** MLflow's job execution on every project's server (projectJobExecution). */
    readonly jobExecution: boolean;
}

export interface LocalSettings {
    /** MLflow's job execution on the server at `/` (jobExecution); unset: off. */
    readonly jobExecution?: boolean;
    /** Every project's server; unset: DEFAULT_LOCAL_PROJECT_SERVERS. */
    readonly projectServers?: LocalProjectSettings;
    readonly hostPort: number;
    readonly bindAddress: string;
    readonly exposeMinioConsole: boolean;
    readonly minioConsolePort: number;
    readonly images: LocalImages;
    readonly serving?: LocalServingSettings;
    /** Scheduled backups (components/backup); unset: on with DEFAULT_BACKUP. */
    readonly backup?: BackupSettings;
}

/** Database dumps and an artifact copy every `intervalHours`, the newest `keep` dumps kept, while `enabled`. */
export interface BackupSettings {
    readonly enabled: boolean;
    readonly intervalHours: number;
    readonly keep: number;
}

export interface AwsSettings {
    readonly region: string;
    readonly dbEngineVersion: string;
    readonly dbMinCapacity: number;
    readonly dbMaxCapacity: number;
    readonly dbAutoPauseSeconds: number;
    readonly dbBackupRetentionDays: number;
    /** Aurora's daily backup window (UTC hh24:mi-hh24:mi); undefined lets AWS choose. */
    readonly dbBackupWindow?: string;
    readonly dbDeletionProtection: boolean;
    /** Aurora reader instances; MLflow reads through the reader endpoint when 1 or more. Unset: 0. */
    readonly dbReaderInstances?: number;
    readonly ingressCidrs: string[];
    readonly certificateArn?: string;
    readonly domainName?: string;
    /** Plain HTTP on the load balancer, no CloudFront (private networks only). */
    readonly plainHttp: boolean;
    /** Set together or not at all; when unset a new VPC is created. */
    readonly existingVpc?: { vpcId: string; publicSubnetIds: string[]; privateSubnetIds: string[] };
    readonly taskCpu: number;
    readonly taskMemory: number;
    readonly taskArchitecture: CpuArchitecture;
    readonly desiredCount: number;
    readonly minTasks: number;
    readonly maxTasks: number;
    /** Every project's service: its own task size, task count, workers and job execution; unset: DEFAULT_PROJECT_TASKS. */
    readonly projectTasks?: ProjectTaskSettings;
    readonly noncurrentVersionExpirationDays: number;
    readonly ecrKeepImages: number;
    readonly logRetentionDays: number;
    /** CloudWatch alarms, their SNS topic and a dashboard (components/monitoring); unset: none. */
    readonly monitoring?: MonitoringSettings;
    /** Served models: an ECS service each behind the load balancer (components/modelServer/aws.ts). */
    readonly serving?: ServingSettings;
    readonly nginxImage: string;
    readonly pythonImage: string;
}

/** The alarms' thresholds (alarm* keys) and the optional e-mail subscription of their topic. */
export interface MonitoringSettings {
    readonly alarmEmail?: string;
    readonly thresholds: {
        readonly errorRatePercent: number;
        readonly cpuPercent: number;
        readonly memoryPercent: number;
        readonly dbConnectionsPercent: number;
    };
}

/** The aws target's project services (each project's ECS service), apart from the server at `/`. */
export interface ProjectTaskSettings {
    readonly cpu: number;
    readonly memory: number;
    readonly maxTasks: number;
    readonly workers: number;
    /** MLflow's job execution on the project's server (only with maxTasks 1). */
    readonly jobExecution: boolean;
}

/** One entry of `projects`: its own server, database, prefix, identity and login (shared/projects.ts). */
export interface ProjectConfig {
    readonly name: string;
    /** Basic-auth user of the project; the project's name unless given as `name:username`. */
    readonly username: string;
}

/** Default rights of a team account in MLflow's auth app (docs/security.md, Accounts and roles). */
export type UserRole = "admin" | "editor" | "viewer";
export const USER_ROLES: readonly UserRole[] = ["admin", "editor", "viewer"];

/** One entry of `users`: a person's own login. */
export interface UserConfig {
    readonly name: string;
    readonly role: UserRole;
    /** Projects (names from `projects`) whose URL this login reaches; admins reach every project. */
    readonly projects: readonly string[];
}

interface CommonConfig {
    readonly backend: BackendEngine;
    readonly username: string;
    /** Plain text only inside the program; callers wrap it with pulumi.secret. Undefined: generate. */
    readonly password?: string;
    /** nginx client_max_body_size syntax; "0" disables the limit. */
    readonly maxUploadSize: string;
    readonly proxyTimeoutSeconds: number;
    /** Host names (optionally host:port) clients use to reach the proxy, for MLflow's Host check. */
    readonly allowedHosts: string[];
    readonly mlflowWorkers: number;
    readonly logLevel: LogLevel;
    /**
     * MLflow's AI Gateway, off unless enableAiGateway: it stores provider API keys in the database,
     * encrypted with a key derived from this passphrase (plain text only inside the program).
     */
    readonly aiGateway?: { readonly kekPassphrase: string };
    /** Team accounts beside `username`; undefined or empty: the single login only. */
    readonly users?: readonly UserConfig[];
    /** Given passwords of users entries, by name (plain text only inside the program); the rest are generated. */
    readonly userPasswords?: Readonly<Record<string, string>>;
    /** Projects beside the server at `/`; empty: the platform exactly as before the key existed. */
    readonly projects: readonly ProjectConfig[];
    /** Keep volumes, buckets and databases when the stack is destroyed. */
    readonly retainDataOnDestroy: boolean;
    /** Scheduled `mlflow gc` of `/` and every project; unset: on with DEFAULT_GARBAGE_COLLECTION. */
    readonly garbageCollection?: GarbageCollectionSettings;
}

/** `mlflow gc --older-than <olderThanDays>d` every `intervalHours`, per server, while `enabled`. */
export interface GarbageCollectionSettings {
    readonly enabled: boolean;
    readonly olderThanDays: number;
    readonly intervalHours: number;
}

export interface LocalPlatformConfig extends CommonConfig {
    readonly target: "local";
    readonly bucketName: string;
    readonly local: LocalSettings;
    readonly aws?: undefined;
}

export interface AwsPlatformConfig extends CommonConfig {
    readonly target: "aws";
    /** Undefined without an explicit name: the bucket is auto-named, globally unique. */
    readonly bucketName?: string;
    readonly aws: AwsSettings;
    readonly local?: undefined;
}

/** The validated stack config; `target` tells which settings it carries. */
export type PlatformConfig = LocalPlatformConfig | AwsPlatformConfig;
