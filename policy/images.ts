// Pure helpers the policies share: image references, ports, environment variables. No Pulumi here.

/**
 * Why an image reference is not pinned, or undefined when it is. Pinned means a digest, an image
 * ID, or a tag other than `latest`. `docker.Container.image` usually holds a RemoteImage's ID.
 */
export function unpinnedImageReason(ref: unknown): string | undefined {
    if (typeof ref !== "string" || ref.trim() === "") return "has no image reference";
    if (/^sha256:[0-9a-f]+$/i.test(ref) || /@sha256:[0-9a-f]{64}$/i.test(ref)) return undefined;
    // The tag is after the last ":" of the last path segment (a registry host may have a port).
    const lastSegment = ref.slice(ref.lastIndexOf("/") + 1);
    const colon = lastSegment.indexOf(":");
    if (colon < 0) return `"${ref}" has no tag (Docker pulls :latest)`;
    const tag = lastSegment.slice(colon + 1);
    if (tag.toLowerCase() === "latest") return `"${ref}" uses the mutable tag latest`;
    if (tag === "") return `"${ref}" has an empty tag`;
    return undefined;
}

/** Ports of databases and object stores; publishing one to the host bypasses the auth proxy. */
export const DATA_PORTS: Readonly<Record<number, string>> = {
    1433: "SQL Server",
    3306: "MySQL",
    5432: "PostgreSQL",
    6379: "Redis",
    9000: "MinIO S3 API",
    9001: "MinIO console",
    27017: "MongoDB",
};

/**
 * Names that say the value is a credential. An access key (MinIO's MINIO_ACCESS_KEY, AWS's
 * AWS_ACCESS_KEY_ID) is the identity, not the secret; `*_FILE` variables hold a path.
 */
const SECRET_NAME = /(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_?KEY|API_?KEY|CREDENTIAL)/i;

export function looksLikeSecretName(name: string): boolean {
    return SECRET_NAME.test(name) && !/_FILE$/i.test(name) && !/_(ID|ARN|PATH|URL)$/i.test(name);
}

/** Well-known default or placeholder credentials that turn up in copied compose files. */
const WEAK_VALUES = new Set([
    "", "admin", "changeme", "change-me", "example", "minio123", "minioadmin", "mlflow", "pass", "password",
    "postgres", "root", "secret", "test", "12345678", "password123",
]);

/**
 * Why a secret-named variable's value is evidently not a generated secret, or undefined.
 * Policies receive secrets already unwrapped (see docs/testing.md, "CI"), so the value itself is all there is:
 * a known default, a placeholder, the variable's own name, or something shorter than 16 characters.
 */
export function weakSecretValueReason(name: string, value: string): string | undefined {
    const v = value.trim();
    if (WEAK_VALUES.has(v.toLowerCase())) return v === "" ? "is empty" : "is a well-known default";
    if (/^(\$\{.*\}|<.*>|\{\{.*\}\})$/.test(v)) return "is an unfilled placeholder";
    if (v.toLowerCase() === name.toLowerCase()) return "repeats the variable name";
    if (v.length < 16) return `is only ${v.length} characters (generated secrets are 16+)`;
    return undefined;
}

/** `NAME=value` entries of docker.Container `envs`. */
export function splitEnv(entry: string): { name: string; value: string } {
    const eq = entry.indexOf("=");
    return eq < 0 ? { name: entry, value: "" } : { name: entry.slice(0, eq), value: entry.slice(eq + 1) };
}

/** Whether a port range (any protocol when `protocol` is "-1"/"all") covers `port`. */
export function rangeCovers(protocol: unknown, from: unknown, to: unknown, port: number): boolean {
    const p = typeof protocol === "string" || typeof protocol === "number" ? String(protocol).toLowerCase() : "";
    if (p === "-1" || p === "all") return true;
    if (p !== "tcp" && p !== "6") return false;
    const lo = Number(from ?? 0);
    const hi = Number(to ?? from ?? 65535);
    return lo <= port && port <= hi;
}

export const OPEN_CIDRS = new Set(["0.0.0.0/0", "::/0"]);
