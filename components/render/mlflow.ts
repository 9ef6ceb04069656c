// The tracking server's environment. Every `mlflow server` option is read from an
// environment variable, so the container command carries no settings and no secrets.
import { renderUvicornOpts } from "./keepalive";

export const MLFLOW_PORT = 5000;
/** Where the image keeps its entrypoint; the e2e tests map this path to the repository file. */
export const ENTRYPOINT_PATH = "/opt/mlflow/entrypoint.py";
export const ENTRYPOINT_COMMAND = ["python", ENTRYPOINT_PATH];
/** Container healthcheck of the tracking server (the slim image has Python but no curl). */
export const HEALTHCHECK_COMMAND = ["CMD", "python", "-c",
    `import urllib.request; urllib.request.urlopen('http://127.0.0.1:${MLFLOW_PORT}/health', timeout=4)`];

export interface TrackingServerSettings {
    readonly port: number;
    readonly workers: number;
    /** Bucket name; the server stores artifacts there and serves them to clients. */
    readonly artifactBucket: string;
    /**
     * Whether clients may move artifacts directly to and from the bucket with presigned URLs
     * (MLflow offers them for s3:// destinations). Only when clients can reach the S3 endpoint:
     * true on AWS; false for MinIO inside Docker, whose endpoint only the containers resolve.
     */
    readonly presignedTransfers: boolean;
    /** S3 API endpoint for MinIO or another S3-compatible store; undefined on AWS. */
    readonly s3EndpointUrl?: string;
    /** Region boto3 signs requests for. */
    readonly s3Region: string;
    /** Host names (optionally host:port or with * wildcards) clients use to reach the proxy. */
    readonly allowedHosts: readonly string[];
    /** Origins the browser UI is served from, for MLflow's cross-origin check. */
    readonly corsAllowedOrigins: readonly string[];
    /** Let the database connection pool close idle connections, so Aurora can pause. */
    readonly releaseIdleConnections?: boolean;
}

/**
 * MLflow replaces its default allowed hosts with this list, so every name the proxy passes
 * on must be here. A name without a port also admits it with any port.
 */
export function renderAllowedHosts(hosts: readonly string[]): string[] {
    const out: string[] = [];
    for (const h of hosts) {
        for (const v of h.includes(":") ? [h] : [h, `${h}:*`]) {
            if (!out.includes(v)) out.push(v);
        }
    }
    return out;
}

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

/**
 * The host of the Docker flavour's exported trackingUri, and the allowed hosts that make
 * MLflow accept it: the first concrete non-loopback name clients were configured to use,
 * else the bound address ("localhost" for all interfaces or loopback). MLflow rejects any
 * other Host header with 403, so the exported URI's host is always added to the list.
 */
export function renderLocalPublicHost(bindAddress: string, allowedHosts: readonly string[]): { host: string; allowedHosts: string[] } {
    const named = allowedHosts.find(h => !h.includes("*") && !h.includes(":") && !LOOPBACK_NAMES.has(h));
    const host = named ?? (bindAddress === "0.0.0.0" || bindAddress.startsWith("127.") ? "localhost" : bindAddress);
    return { host, allowedHosts: allowedHosts.includes(host) ? [...allowedHosts] : [...allowedHosts, host] };
}

/** Origins a browser reports when it loads the UI from `scheme://host[:port]`. */
export function renderPublicOrigins(hosts: readonly string[], scheme: "http" | "https", port: number): string[] {
    const defaultPort = scheme === "https" ? 443 : 80;
    const out: string[] = [];
    for (const h of hosts) {
        const origin = h.includes(":") || port === defaultPort ? `${scheme}://${h}` : `${scheme}://${h}:${port}`;
        if (!out.includes(origin)) out.push(origin);
    }
    return out;
}

/** Non-secret environment; credentials (backend URI or DB password, S3 keys) are added by each flavour as secrets. */
export function renderTrackingServerEnvironment(s: TrackingServerSettings): Record<string, string> {
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(s.artifactBucket)) {
        throw new Error(`artifact bucket name is not valid for S3: ${JSON.stringify(s.artifactBucket)}`);
    }
    if (s.allowedHosts.length === 0) {
        throw new Error("at least one allowed host is needed, or MLflow rejects every proxied request");
    }
    const env: Record<string, string> = {
        MLFLOW_HOST: "0.0.0.0",
        MLFLOW_PORT: String(s.port),
        MLFLOW_WORKERS: String(s.workers),
        // Proxied artifact access: clients talk only to the tracking server, never to the bucket.
        MLFLOW_SERVE_ARTIFACTS: "true",
        // s3proxied:// is images/tracking-server/artifacts-plugin: the same bucket, no presigned transfers.
        MLFLOW_ARTIFACTS_DESTINATION: `${s.presignedTransfers ? "s3" : "s3proxied"}://${s.artifactBucket}/`,
        MLFLOW_SERVER_ALLOWED_HOSTS: renderAllowedHosts(s.allowedHosts).join(","),
        AWS_DEFAULT_REGION: s.s3Region,
        // Bring the schema up to date before serving (mlflow db upgrade), so upgrades of the image just work.
        MLFLOW_DB_UPGRADE: "true",
        // uvicorn keeps idle connections longer than nginx does (render/keepalive.ts); its 5 s default is shorter.
        MLFLOW_UVICORN_OPTS: renderUvicornOpts(),
    };
    if (s.corsAllowedOrigins.length > 0) {
        env.MLFLOW_SERVER_CORS_ALLOWED_ORIGINS = s.corsAllowedOrigins.join(",");
    }
    if (s.s3EndpointUrl !== undefined) {
        env.MLFLOW_S3_ENDPOINT_URL = s.s3EndpointUrl;
    }
    if (s.releaseIdleConnections) {
        // A persistent pool keeps Aurora Serverless from auto-pausing (DougTrajano/mlflow-server#124).
        env.MLFLOW_SQLALCHEMYSTORE_POOLCLASS = "NullPool";
    }
    return env;
}
