// Value checks of the stack config: pure predicates and AWS's fixed value tables, exported
// for the schema, the parser and table tests.
import type { BackendEngine } from "./types";

/** CloudWatch Logs accepts only these retention periods. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];

/** Fargate's valid cpu units -> memory MiB combinations. */
export const FARGATE_MEMORY: Record<number, number[]> = {
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

/**
 * An e-mail address SNS can subscribe: one address, no display name, no spaces or commas (the
 * SNS Subscribe API takes exactly one endpoint), a dot in the domain.
 */
export function isValidEmail(v: string): boolean {
    return v.length <= 254 && /^[^\s@,;<>"]+@[^\s@,;<>"]+\.[^\s@,;<>".]+$/.test(v);
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

/**
 * An RDS backup window: "hh24:mi-hh24:mi" in UTC, at least 30 minutes long (it may wrap past
 * midnight), as ModifyDBCluster's PreferredBackupWindow requires.
 */
export function isValidBackupWindow(window: string): boolean {
    const m = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/.exec(window);
    if (m === null) return false;
    const [start, end] = [Number(m[1]) * 60 + Number(m[2]), Number(m[3]) * 60 + Number(m[4])];
    return (end - start + 1440) % 1440 >= 30;
}

export const AWS_REGION = /^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d$/;
export const ACM_ARN = /^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate\/[A-Za-z0-9-]+$/;

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

/**
 * A project name: lowercase letters and digits, single hyphens inside, 2-24 characters. It is
 * used unquoted in a URL path, an S3 prefix, a Docker container name and a MinIO user name,
 * and (hyphens as underscores, behind `mlflow_`) as a database and user name: MySQL user names
 * hold at most 32 characters, `mlflow_` + 24 = 31.
 */
export const PROJECT_NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
export const PROJECT_NAME_MAX = 24;
/** Names refused with the reason, so the error can say why. */
export const RESERVED_PROJECT_NAMES: Record<string, string> = {
    default: "it names the server at / in the documentation and outputs",
};

/**
 * The names of a project that other principals of the platform also have: its database and
 * database user, its storage user and policy, its container's host name. No truncation: the
 * longest name fits every limit (MySQL user 32, PostgreSQL 63). `-` becomes `_` only where
 * hyphens are not allowed, and project names hold no `_`, so two projects never share one.
 * shared/projects.ts projectNames builds on these.
 */
export function projectPrincipalNames(name: string): Record<PrincipalKind, string> {
    const snake = name.replace(/-/g, "_");
    const accessKeyId = `mlflow-project-${name}`;
    return {
        database: `mlflow_${snake}`,
        databaseUser: `mlflow_${snake}`,
        accessKeyId,
        // components/bucketInit/docker.ts names an identity's policy after it.
        storagePolicy: `${accessKeyId}-artifacts`,
        hostname: `mlflow-${name}`,
    };
}

export type PrincipalKind = "database" | "databaseUser" | "accessKeyId" | "storagePolicy" | "hostname";

const PRINCIPAL_KIND: Record<PrincipalKind, string> = {
    database: "database", databaseUser: "database user", accessKeyId: "MinIO user", storagePolicy: "MinIO policy", hostname: "host name",
};

/**
 * What the platform's own principals are called, on either target (a stack's config must mean
 * the same on both): a project deriving one of these names would take it over, e.g. project
 * `admin`'s init would set the Aurora master user's password. tests/principals.test.ts checks
 * this table against every name the program creates.
 */
export const PLATFORM_PRINCIPALS: Record<PrincipalKind, Readonly<Record<string, string>>> = {
    database: {
        mlflow: "the database of the server at /",
        mysql: "a MySQL system schema", postgres: "PostgreSQL's maintenance database", rdsadmin: "Aurora's own database",
    },
    databaseUser: {
        mlflow_admin: "the Aurora master user (target aws), which the server at / and every project's init use",
        mlflow: "the database user of the server at / (target local)",
        root: "the MySQL administrator (target local)", postgres: "the PostgreSQL administrator (target local)", rdsadmin: "Aurora's own administrator",
        mlflow_backup: "the backup's read-only database user (target local)",
    },
    accessKeyId: {
        "mlflow-tracking": "the storage identity of the server at / (target local)",
        "minio-root": "MinIO's root user (target local)",
        "mlflow-backup": "the backup's read-only storage identity (target local)",
    },
    storagePolicy: {
        "mlflow-tracking-artifacts": "the storage policy of the server at / (target local)",
        "mlflow-backup-artifacts": "the storage policy of the backup's identity (target local)",
        readwrite: "a MinIO built-in policy", readonly: "a MinIO built-in policy", writeonly: "a MinIO built-in policy",
        diagnostics: "a MinIO built-in policy", consoleAdmin: "a MinIO built-in policy",
    },
    hostname: {
        mlflow: "the server at / on the Docker network", minio: "MinIO on the Docker network", db: "the database on the Docker network",
        "mlflow-registry": "the proxy's read-only registry endpoint on the serving network (target local)",
    },
};

/** The platform principal a project's derived name would be, as the reason to refuse it. */
export function projectPrincipalCollision(name: string): string | undefined {
    const derived = projectPrincipalNames(name);
    for (const kind of Object.keys(derived) as PrincipalKind[]) {
        const owner = PLATFORM_PRINCIPALS[kind][derived[kind]];
        if (owner !== undefined) return `its ${PRINCIPAL_KIND[kind]} ${derived[kind]} is ${owner}`;
    }
    return undefined;
}

export function projectNameProblem(name: string): string | undefined {
    if (name.length < 2 || name.length > PROJECT_NAME_MAX || !PROJECT_NAME.test(name)) {
        return `must be 2-${PROJECT_NAME_MAX} lowercase letters, digits and single inner hyphens, starting with a letter (it becomes a URL path, an S3 prefix, a container name and, as mlflow_<name>, a database and user name)`;
    }
    const reserved = RESERVED_PROJECT_NAMES[name];
    if (reserved !== undefined) return `is reserved: ${reserved}`;
    const principal = projectPrincipalCollision(name);
    return principal === undefined ? undefined : `is reserved: ${principal}`;
}

/**
 * ALB listener rule priorities of projects (aws target): derived from the name alone, so adding
 * or removing a project never re-prioritises another one (a priority change is an in-place
 * update of the rule, but a list position would shift every later project). 32-bit FNV-1a of
 * the name, folded into [PROJECT_PRIORITY_MIN, PROJECT_PRIORITY_MAX]; 1..9999 stay free for
 * rules an operator adds by hand, and 30000..49999 are the served models' (modelServer/ecs.ts):
 * disjoint ranges, so a project's rule and a model's rule never compete for one priority.
 * ALB allows priorities 1..50000, each at most once per listener (Elastic Load Balancing,
 * "Listener rules for your Application Load Balancer").
 */
export const PROJECT_PRIORITY_MIN = 10000;
export const PROJECT_PRIORITY_MAX = 29999;

export function fnv1a32(text: string): number {
    let h = 0x811c9dc5;
    for (const byte of Buffer.from(text, "utf8")) {
        h ^= byte;
        h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h >>> 0;
}

export function projectListenerPriority(name: string): number {
    const problem = projectNameProblem(name);
    if (problem !== undefined) throw new Error(`project name ${JSON.stringify(name)} ${problem}`);
    return PROJECT_PRIORITY_MIN + (fnv1a32(name) % (PROJECT_PRIORITY_MAX - PROJECT_PRIORITY_MIN + 1));
}

/**
 * Pairs of projects whose priorities collide. Two rules cannot share a priority on one
 * listener, and moving either one to "the next free" slot would make its priority depend on
 * the other project (the thing the hash avoids), so a collision is refused at config time: the
 * fix is to rename one of the two. With 20000 slots, 10 projects collide with odds ~0.2%.
 */
export function projectPriorityCollisions(names: readonly string[]): Array<[string, string, number]> {
    const byPriority = new Map<number, string>();
    const out: Array<[string, string, number]> = [];
    for (const name of names) {
        const p = projectListenerPriority(name);
        const other = byPriority.get(p);
        if (other !== undefined) out.push([other, name, p]);
        else byPriority.set(p, name);
    }
    return out;
}
