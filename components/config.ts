// Reads and validates every stack setting into one typed object. This is the only module
// that touches pulumi.Config: components receive plain values through their args.
import * as pulumi from "@pulumi/pulumi";

export const PROJECT = "mlflow-platform";

export type Target = "local" | "aws";
export type BackendEngine = "mysql" | "postgres";
export type CpuArchitecture = "X86_64" | "ARM64";

/** Image references for the local flavour; each must carry an explicit, non-`latest` tag. */
export interface LocalImages {
    readonly minio: string;
    readonly mc: string;
    readonly mysql: string;
    readonly postgres: string;
    readonly nginx: string;
    /** Base image of the MLflow image built from images/tracking-server. */
    readonly python: string;
}

export interface LocalSettings {
    readonly hostPort: number;
    readonly bindAddress: string;
    readonly exposeMinioConsole: boolean;
    readonly minioConsolePort: number;
    readonly images: LocalImages;
}

export interface AwsSettings {
    readonly region: string;
    readonly dbEngineVersion: string;
    readonly dbMinCapacity: number;
    readonly dbMaxCapacity: number;
    readonly dbAutoPauseSeconds: number;
    readonly dbBackupRetentionDays: number;
    readonly dbDeletionProtection: boolean;
    readonly ingressCidrs: string[];
    readonly certificateArn?: string;
    readonly domainName?: string;
    /** Set together or not at all; when unset a new VPC is created. */
    readonly existingVpc?: { vpcId: string; publicSubnetIds: string[]; privateSubnetIds: string[] };
    readonly taskCpu: number;
    readonly taskMemory: number;
    readonly taskArchitecture: CpuArchitecture;
    readonly desiredCount: number;
    readonly minTasks: number;
    readonly maxTasks: number;
    readonly noncurrentVersionExpirationDays: number;
    readonly ecrKeepImages: number;
    readonly logRetentionDays: number;
    readonly nginxImage: string;
    readonly pythonImage: string;
}

export interface PlatformConfig {
    readonly target: Target;
    readonly backend: BackendEngine;
    readonly username: string;
    /** Plain text only inside the program; callers wrap it with pulumi.secret. Undefined: generate. */
    readonly password?: string;
    /** Undefined on AWS without an explicit name: the bucket is auto-named, globally unique. */
    readonly bucketName?: string;
    /** nginx client_max_body_size syntax; "0" disables the limit. */
    readonly maxUploadSize: string;
    readonly proxyTimeoutSeconds: number;
    /** Host names (optionally host:port) clients use to reach the proxy, for MLflow's Host check. */
    readonly allowedHosts: string[];
    readonly mlflowWorkers: number;
    /**
     * MLflow's AI Gateway, off unless enableAiGateway: it stores provider API keys in the database,
     * encrypted with a key derived from this passphrase (plain text only inside the program).
     */
    readonly aiGateway?: { readonly kekPassphrase: string };
    /** Keep volumes, buckets and databases when the stack is destroyed. */
    readonly retainDataOnDestroy: boolean;
    readonly local?: LocalSettings;
    readonly aws?: AwsSettings;
}

export const DEFAULT_LOCAL_IMAGES: LocalImages = {
    // Docker Hub's minio/* repositories are gone; quay.io still serves the archived releases.
    minio: "quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z",
    mc: "quay.io/minio/mc:RELEASE.2025-08-13T08-35-41Z",
    mysql: "mysql:8.4.6",
    postgres: "postgres:16.10-bookworm",
    nginx: "nginx:1.28.0-alpine",
    python: "python:3.12.11-slim-bookworm",
};

/** Long-term-support Aurora versions (kept about three years) that can scale to 0 ACU (auto-pause). */
export const DEFAULT_AURORA_VERSIONS: Record<BackendEngine, string> = {
    mysql: "8.0.mysql_aurora.3.10.0",
    postgres: "16.8",
};

/** CloudWatch Logs accepts only these retention periods. */
const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** Fargate's valid cpu units -> memory MiB combinations. */
const FARGATE_MEMORY: Record<number, number[]> = {
    256: [512, 1024, 2048],
    512: [1024, 2048, 3072, 4096],
    1024: range(2048, 8192, 1024),
    2048: range(4096, 16384, 1024),
    4096: range(8192, 30720, 1024),
    8192: range(16384, 61440, 4096),
    16384: range(32768, 122880, 8192),
};

function range(from: number, to: number, step: number): number[] {
    const out: number[] = [];
    for (let v = from; v <= to; v += step) out.push(v);
    return out;
}

/** Raw config as Pulumi stores it: every value a string (arrays as JSON), keyed without the project prefix. */
export type RawConfig = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
    constructor(readonly problems: string[]) {
        super(`Invalid stack configuration (nothing was created):\n${problems.map(p => `  - ${p}`).join("\n")}`);
        this.name = "ConfigError";
    }
}

const SECRET_KEYS = new Set(["password", "aiGatewayKekPassphrase"]);

/** Collects problems so a user sees every bad key in one run, not one per `pulumi up`. */
class Reader {
    readonly problems: string[] = [];
    constructor(private readonly raw: RawConfig) {}

    has(key: string): boolean {
        const v = this.raw[key];
        return v !== undefined && v !== "";
    }

    fail(key: string, value: string | undefined, allowed: string, example: string): void {
        const shown = SECRET_KEYS.has(key) ? "(value hidden)" : JSON.stringify(value);
        const secretFlag = SECRET_KEYS.has(key) ? "--secret " : "";
        this.problems.push(
            `${PROJECT}:${key} = ${shown} is invalid: ${allowed}. Fix: pulumi config set ${secretFlag}${key} ${example}`,
        );
    }

    string(key: string, fallback: string, check?: (v: string) => boolean, allowed = "", example = fallback): string {
        const value = this.has(key) ? this.raw[key]! : fallback;
        if (check && !check(value)) {
            this.fail(key, value, allowed, example);
        }
        return value;
    }

    optionalString(key: string, check: (v: string) => boolean, allowed: string, example: string): string | undefined {
        if (!this.has(key)) return undefined;
        const value = this.raw[key]!;
        if (!check(value)) this.fail(key, value, allowed, example);
        return value;
    }

    oneOf<T extends string>(key: string, choices: readonly T[], fallback: T): T {
        const value = this.has(key) ? this.raw[key]! : fallback;
        if (!(choices as readonly string[]).includes(value)) {
            this.fail(key, value, `must be one of ${choices.map(c => `"${c}"`).join(", ")}`, fallback);
            return fallback;
        }
        return value as T;
    }

    integer(key: string, fallback: number, min: number, max: number): number {
        if (!this.has(key)) return fallback;
        const text = this.raw[key]!;
        const value = Number(text);
        if (!/^-?\d+$/.test(text.trim()) || value < min || value > max) {
            this.fail(key, text, `must be a whole number from ${min} to ${max}`, String(fallback));
            return fallback;
        }
        return value;
    }

    /** A number in `step` increments, e.g. Aurora capacity units in 0.5 steps. */
    stepped(key: string, fallback: number, min: number, max: number, step: number): number {
        if (!this.has(key)) return fallback;
        const text = this.raw[key]!;
        const value = Number(text);
        if (text.trim() === "" || !Number.isFinite(value) || value < min || value > max || Math.abs(value / step - Math.round(value / step)) > 1e-9) {
            this.fail(key, text, `must be a number from ${min} to ${max} in steps of ${step}`, String(fallback));
            return fallback;
        }
        return value;
    }

    boolean(key: string, fallback: boolean): boolean {
        if (!this.has(key)) return fallback;
        const text = this.raw[key]!;
        if (text !== "true" && text !== "false") {
            this.fail(key, text, `must be true or false`, String(fallback));
            return fallback;
        }
        return text === "true";
    }

    list(key: string, fallback: string[], check: (v: string) => boolean, allowed: string, example: string): string[] {
        if (!this.has(key)) return fallback;
        const text = this.raw[key]!;
        let parsed: unknown;
        try {
            parsed = JSON.parse(text);
        } catch {
            parsed = text.split(",").map(s => s.trim()).filter(s => s !== "");
        }
        if (!Array.isArray(parsed) || parsed.some(v => typeof v !== "string")) {
            this.fail(key, text, `must be a list of strings`, `--path '${key}[0]' ${example}`);
            return fallback;
        }
        const bad = (parsed as string[]).filter(v => !check(v));
        if (bad.length > 0) {
            this.fail(key, bad.join(","), allowed, `--path '${key}[0]' ${example}`);
        }
        return parsed as string[];
    }
}

// --- value checks, exported for reuse and table tests -------------------------------------

/** S3 bucket naming rules (general purpose buckets). */
export function isValidBucketName(name: string): boolean {
    return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name)
        && !name.includes("..")
        && !/^\d+\.\d+\.\d+\.\d+$/.test(name)
        && !name.startsWith("xn--")
        && !name.startsWith("sthree-")
        && !name.endsWith("-s3alias")
        && !name.endsWith("--ol-s3");
}

/** An image reference with an explicit tag that is not `latest` (a digest may follow). */
export function isPinnedImage(ref: string): boolean {
    const withoutDigest = ref.split("@")[0];
    const lastSlash = withoutDigest.lastIndexOf("/");
    const colon = withoutDigest.indexOf(":", lastSlash + 1);
    if (/\s/.test(ref) || colon < 0) return false;
    const tag = withoutDigest.slice(colon + 1);
    return /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag) && tag.toLowerCase() !== "latest";
}

export function isValidUsername(name: string): boolean {
    // ':' separates user and password in both htpasswd and HTTP basic auth.
    return /^[A-Za-z0-9._@-]{1,64}$/.test(name);
}

export function isValidHostPattern(host: string): boolean {
    // A DNS name or IPv4 address, optionally with :port or :* (MLflow's allowed-hosts syntax).
    return /^(\*\.)?[A-Za-z0-9]([A-Za-z0-9-]{0,62})(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}))*(:(\d{1,5}|\*))?$/.test(host);
}

export function isValidIpv4(ip: string): boolean {
    const parts = ip.split(".");
    return parts.length === 4 && parts.every(p => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

export function isValidCidr(cidr: string): boolean {
    const [ip, bits, ...rest] = cidr.split("/");
    return rest.length === 0 && isValidIpv4(ip) && /^\d{1,2}$/.test(bits ?? "") && Number(bits) <= 32;
}

export function isValidUploadSize(size: string): boolean {
    return /^(0|[1-9]\d{0,12}[kKmMgG]?)$/.test(size);
}

const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
const ACM_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;

/** Versions of Aurora that can scale to 0 ACU: MySQL 3.08.0+, PostgreSQL 16.3+/15.7+/14.12+/13.15+. */
export function supportsAutoPause(engine: BackendEngine, version: string): boolean {
    if (engine === "mysql") {
        const m = /^8\.0\.mysql_aurora\.3\.(\d+)\.(\d+)$/.exec(version);
        return m !== null && Number(m[1]) >= 8;
    }
    const m = /^(\d+)\.(\d+)$/.exec(version);
    if (!m) return false;
    const [major, minor] = [Number(m[1]), Number(m[2])];
    const minimumMinor: Record<number, number> = { 13: 15, 14: 12, 15: 7, 16: 3 };
    return major > 16 || (minimumMinor[major] !== undefined && minor >= minimumMinor[major]);
}

// --- the parser ------------------------------------------------------------------------

export function parseConfig(raw: RawConfig, awsRegion?: string): PlatformConfig {
    const r = new Reader(raw);
    const target = r.oneOf<Target>("target", ["local", "aws"], "local");
    const backend = r.oneOf<BackendEngine>("backend", ["mysql", "postgres"], "mysql");
    const username = r.string("username", "mlflow", isValidUsername,
        "must be 1-64 characters of letters, digits, '.', '_', '@' or '-' (':' would break basic auth)", "mlflow");
    const password = r.optionalString("password", v => v.length >= 12 && v.length <= 128 && !/[\r\n]/.test(v),
        "must be 12 to 128 characters on one line", "<a-password-of-12-or-more-characters>");
    const bucketName = r.optionalString("bucketName", isValidBucketName,
        "must be a valid S3 bucket name: 3-63 lowercase letters, digits, '.' or '-', starting and ending with a letter or digit",
        "mlflow-artifacts");
    const maxUploadSize = r.string("maxUploadSize", "5g", isValidUploadSize,
        "must be an nginx size such as 5g, 500m or 0 (no limit)", "5g");
    const proxyTimeoutSeconds = r.integer("proxyTimeoutSeconds", 3600, 1, 86400);
    const mlflowWorkers = r.integer("mlflowWorkers", 4, 1, 64);
    const retainDataOnDestroy = r.boolean("retainDataOnDestroy", true);
    const aiGateway = gatewaySettings(r);
    const hostCheck = "must be host names or IPv4 addresses, optionally with :port or :*";

    if (target === "local") {
        const hostPort = r.integer("hostPort", 5000, 1, 65535);
        const bindAddress = r.string("bindAddress", "127.0.0.1", isValidIpv4, "must be an IPv4 address such as 127.0.0.1 or 0.0.0.0", "127.0.0.1");
        const exposeMinioConsole = r.boolean("exposeMinioConsole", false);
        const minioConsolePort = r.integer("minioConsolePort", 9001, 1, 65535);
        if (exposeMinioConsole && minioConsolePort === hostPort) {
            r.fail("minioConsolePort", String(minioConsolePort), `must differ from hostPort (${hostPort})`, "9001");
        }
        const image = (key: string, fallback: string) => pinnedImage(r, key, fallback);
        const images: LocalImages = {
            minio: image("minioImage", DEFAULT_LOCAL_IMAGES.minio),
            mc: image("mcImage", DEFAULT_LOCAL_IMAGES.mc),
            mysql: image("mysqlImage", DEFAULT_LOCAL_IMAGES.mysql),
            postgres: image("postgresImage", DEFAULT_LOCAL_IMAGES.postgres),
            nginx: image("nginxImage", DEFAULT_LOCAL_IMAGES.nginx),
            python: image("pythonImage", DEFAULT_LOCAL_IMAGES.python),
        };
        const allowedHosts = r.list("allowedHosts", ["localhost", "127.0.0.1"], isValidHostPattern, hostCheck, "mlflow.example.internal");
        finish(r);
        return {
            target, backend, username, password, maxUploadSize, proxyTimeoutSeconds, mlflowWorkers, retainDataOnDestroy,
            ...(aiGateway ? { aiGateway } : {}),
            bucketName: bucketName ?? "mlflow-artifacts",
            allowedHosts,
            local: { hostPort, bindAddress, exposeMinioConsole, minioConsolePort, images },
        };
    }

    const region = awsRegion ?? "";
    if (!AWS_REGION.test(region)) {
        r.problems.push(`aws:region = ${JSON.stringify(awsRegion)} is invalid: the aws target needs an AWS region such as eu-west-1. Fix: pulumi config set aws:region eu-west-1`);
    }
    const dbEngineVersion = r.string("dbEngineVersion", DEFAULT_AURORA_VERSIONS[backend],
        v => /^[0-9A-Za-z._-]+$/.test(v), "must be an Aurora engine version", DEFAULT_AURORA_VERSIONS[backend]);
    const dbMinCapacity = r.stepped("dbMinCapacity", 0, 0, 256, 0.5);
    const dbMaxCapacity = r.stepped("dbMaxCapacity", 2, 1, 256, 0.5);
    if (dbMinCapacity > dbMaxCapacity) {
        r.fail("dbMinCapacity", String(dbMinCapacity), `must not exceed dbMaxCapacity (${dbMaxCapacity})`, "0");
    }
    if (dbMinCapacity === 0 && !supportsAutoPause(backend, dbEngineVersion)) {
        r.fail("dbEngineVersion", dbEngineVersion,
            "must support auto-pause when dbMinCapacity is 0 (Aurora MySQL 3.08.0+, Aurora PostgreSQL 16.3+/15.7+/14.12+/13.15+), or set dbMinCapacity to 0.5 or more",
            DEFAULT_AURORA_VERSIONS[backend]);
    }
    const dbAutoPauseSeconds = r.integer("dbAutoPauseSeconds", 900, 300, 86400);
    const dbBackupRetentionDays = r.integer("dbBackupRetentionDays", 7, 1, 35);
    const dbDeletionProtection = r.boolean("dbDeletionProtection", true);
    const ingressCidrs = r.list("ingressCidrs", ["0.0.0.0/0"], isValidCidr, "must be IPv4 CIDR blocks such as 203.0.113.0/24", "203.0.113.0/24");
    const certificateArn = r.optionalString("certificateArn", v => ACM_ARN.test(v),
        "must be an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)", "arn:aws:acm:eu-west-1:123456789012:certificate/<id>");
    const domainName = r.optionalString("domainName", v => isValidHostPattern(v) && !v.includes(":") && !v.includes("*"),
        "must be a DNS name such as mlflow.example.com", "mlflow.example.com");

    const vpcKeys = ["vpcId", "publicSubnetIds", "privateSubnetIds"];
    const givenVpcKeys = vpcKeys.filter(k => r.has(k));
    let existingVpc: AwsSettings["existingVpc"];
    if (givenVpcKeys.length > 0 && givenVpcKeys.length < vpcKeys.length) {
        for (const missing of vpcKeys.filter(k => !r.has(k))) {
            r.fail(missing, undefined, `must be set when ${givenVpcKeys.join(" and ")} ${givenVpcKeys.length > 1 ? "are" : "is"} set (an existing VPC needs vpcId, publicSubnetIds and privateSubnetIds)`,
                missing === "vpcId" ? "vpc-0123456789abcdef0" : `--path '${missing}[0]' subnet-0123456789abcdef0`);
        }
    } else if (givenVpcKeys.length === vpcKeys.length) {
        const isSubnet = (v: string) => /^subnet-[0-9a-f]{8,17}$/.test(v);
        const vpcId = r.string("vpcId", "", v => /^vpc-[0-9a-f]{8,17}$/.test(v), "must be a VPC id such as vpc-0123456789abcdef0", "vpc-0123456789abcdef0");
        const publicSubnetIds = r.list("publicSubnetIds", [], isSubnet, "must be subnet ids such as subnet-0123456789abcdef0", "subnet-0123456789abcdef0");
        const privateSubnetIds = r.list("privateSubnetIds", [], isSubnet, "must be subnet ids such as subnet-0123456789abcdef0", "subnet-0123456789abcdef0");
        for (const [key, ids] of [["publicSubnetIds", publicSubnetIds], ["privateSubnetIds", privateSubnetIds]] as const) {
            if (ids.length < 2) r.fail(key, JSON.stringify(ids), "must list at least two subnets in different availability zones", `--path '${key}[1]' subnet-0123456789abcdef1`);
        }
        existingVpc = { vpcId, publicSubnetIds, privateSubnetIds };
    }

    const taskCpu = r.integer("taskCpu", 1024, 256, 16384);
    const taskMemory = r.integer("taskMemory", 2048, 512, 122880);
    if (!(FARGATE_MEMORY[taskCpu] ?? []).includes(taskMemory)) {
        const cpus = Object.keys(FARGATE_MEMORY).join(", ");
        const memories = FARGATE_MEMORY[taskCpu];
        r.fail(memories ? "taskMemory" : "taskCpu", String(memories ? taskMemory : taskCpu),
            memories ? `must be one of ${memories.join(", ")} MiB for taskCpu ${taskCpu} (Fargate's valid pairs)` : `must be one of ${cpus}`,
            memories ? String(memories[0]) : "1024");
    }
    const taskArchitecture = r.oneOf<CpuArchitecture>("taskArchitecture", ["X86_64", "ARM64"], "X86_64");
    const minTasks = r.integer("minTasks", 1, 1, 100);
    const maxTasks = r.integer("maxTasks", 3, 1, 100);
    const desiredCount = r.integer("desiredCount", minTasks, 1, 100);
    if (minTasks > maxTasks) r.fail("minTasks", String(minTasks), `must not exceed maxTasks (${maxTasks})`, "1");
    if (desiredCount < minTasks || desiredCount > maxTasks) {
        r.fail("desiredCount", String(desiredCount), `must be between minTasks (${minTasks}) and maxTasks (${maxTasks})`, String(minTasks));
    }
    const noncurrentVersionExpirationDays = r.integer("noncurrentVersionExpirationDays", 30, 1, 36500);
    const ecrKeepImages = r.integer("ecrKeepImages", 10, 1, 1000);
    const logRetentionDays = r.integer("logRetentionDays", 30, 1, 3653);
    if (!LOG_RETENTION_DAYS.includes(logRetentionDays)) {
        r.fail("logRetentionDays", String(logRetentionDays), `must be one of CloudWatch's periods: ${LOG_RETENTION_DAYS.join(", ")}`, "30");
    }
    const nginxImage = pinnedImage(r, "nginxImage", DEFAULT_LOCAL_IMAGES.nginx);
    const pythonImage = pinnedImage(r, "pythonImage", DEFAULT_LOCAL_IMAGES.python);
    const allowedHosts = r.list("allowedHosts", [], isValidHostPattern, hostCheck, "mlflow.example.com");
    finish(r);
    return {
        target, backend, username, password, maxUploadSize, proxyTimeoutSeconds, mlflowWorkers, retainDataOnDestroy,
        ...(aiGateway ? { aiGateway } : {}),
        bucketName,
        allowedHosts: domainName && !allowedHosts.includes(domainName) ? [domainName, ...allowedHosts] : allowedHosts,
        aws: {
            region, dbEngineVersion, dbMinCapacity, dbMaxCapacity, dbAutoPauseSeconds, dbBackupRetentionDays, dbDeletionProtection,
            ingressCidrs, certificateArn, domainName, existingVpc, taskCpu, taskMemory, taskArchitecture, desiredCount,
            minTasks, maxTasks, noncurrentVersionExpirationDays, ecrKeepImages, logRetentionDays, nginxImage, pythonImage,
        },
    };
}

/**
 * The passphrase is the user's, kept in stack config, because stack config outlives
 * `pulumi destroy`: a generated one would come back new after destroy + up, and the keys
 * already stored in the kept database could no longer be decrypted.
 */
function gatewaySettings(r: Reader): PlatformConfig["aiGateway"] {
    const enabled = r.boolean("enableAiGateway", false);
    const passphrase = r.optionalString("aiGatewayKekPassphrase", v => v.length >= 32 && v.length <= 1024 && !/[\r\n]/.test(v),
        "must be 32 to 1024 characters on one line", "\"$(openssl rand -base64 32)\"");
    if (!enabled) return undefined;
    if (passphrase === undefined) {
        r.fail("aiGatewayKekPassphrase", undefined,
            "must be set when enableAiGateway is true: MLflow encrypts the provider API keys it stores with it, and without it uses a public default",
            "\"$(openssl rand -base64 32)\"");
        return undefined;
    }
    return { kekPassphrase: passphrase };
}

function pinnedImage(r: Reader, key: string, fallback: string): string {
    return r.string(key, fallback, isPinnedImage,
        "must be an image reference with an explicit tag other than 'latest' (e.g. registry/name:1.2.3)", fallback);
}

function finish(r: Reader): void {
    if (r.problems.length > 0) throw new ConfigError(r.problems);
}

/** Every key this program reads; Pulumi.yaml declares the same set (a test keeps them in step). */
export const CONFIG_KEYS = [
    "target", "backend", "username", "password", "bucketName", "maxUploadSize", "proxyTimeoutSeconds", "allowedHosts",
    "mlflowWorkers", "retainDataOnDestroy", "enableAiGateway", "aiGatewayKekPassphrase",
    "hostPort", "bindAddress", "exposeMinioConsole", "minioConsolePort",
    "minioImage", "mcImage", "mysqlImage", "postgresImage", "nginxImage", "pythonImage",
    "dbEngineVersion", "dbMinCapacity", "dbMaxCapacity", "dbAutoPauseSeconds", "dbBackupRetentionDays", "dbDeletionProtection",
    "ingressCidrs", "certificateArn", "domainName", "vpcId", "publicSubnetIds", "privateSubnetIds",
    "taskCpu", "taskMemory", "taskArchitecture", "desiredCount", "minTasks", "maxTasks",
    "noncurrentVersionExpirationDays", "ecrKeepImages", "logRetentionDays",
] as const;

/** Reads the stack's config through Pulumi and validates it; throws ConfigError before any resource exists. */
export function loadConfig(): PlatformConfig {
    const cfg = new pulumi.Config(PROJECT);
    const raw: Record<string, string | undefined> = {};
    for (const key of CONFIG_KEYS) raw[key] = cfg.get(key);
    return parseConfig(raw, new pulumi.Config("aws").get("region"));
}
