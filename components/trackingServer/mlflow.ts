// The tracking server's environment. Every `mlflow server` option is read from an
// environment variable, so the container command carries no settings and no secrets.
import { DEFAULT_POOL, PoolSettings } from "../config/capacity";
import { renderUvicornOpts } from "../shared/keepalive";
import type { LogLevel } from "../config/types";

export const MLFLOW_PORT = 5000;
/** MLflow's name on the Docker network (the proxy and model servers reach it by it). */
export const MLFLOW_HOSTNAME = "mlflow";
/** Where the image keeps its entrypoint; the e2e tests map this path to the repository file. */
export const ENTRYPOINT_PATH = "/opt/mlflow/entrypoint.py";
export const ENTRYPOINT_COMMAND = ["python", ENTRYPOINT_PATH];
/**
 * MLflow's Prometheus exporter keeps one file per worker process here (prometheus_client's
 * multiprocess mode) and sums them on every scrape of /metrics; the entrypoint empties it at start.
 */
export const PROMETHEUS_DIR = "/tmp/mlflow-prometheus";
/** Container healthcheck of the tracking server (the slim image has Python but no curl). */
export const HEALTHCHECK_COMMAND = healthcheckCommand("");

/** The healthcheck of a server whose routes live under `staticPrefix` (a project's `/projects/<name>`). */
export function healthcheckCommand(staticPrefix: string): string[] {
    return ["CMD", "python", "-c",
        `import urllib.request; urllib.request.urlopen('http://127.0.0.1:${MLFLOW_PORT}${staticPrefix}/health', timeout=4)`];
}

export interface TrackingServerSettings {
    readonly port: number;
    readonly workers: number;
    /** Config logLevel; absent: MLflow's and uvicorn's defaults (info). */
    readonly logLevel?: LogLevel;
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
    /** SQLAlchemy pool per engine when connections are kept; DEFAULT_POOL (bench-chosen) when unset. */
    readonly pool?: PoolSettings;
    /** Most servers that can run at once on this database (ECS maxTasks); 1 when undefined (Docker). */
    readonly maxReplicas?: number;
    /** Job execution: false keeps it (and its periodic tasks) off even with one replica; unset: on exactly with one. */
    readonly jobExecution?: boolean;
    /**
     * MLflow's AI Gateway (provider API keys stored in the database). Off when undefined: on, it
     * needs MLFLOW_CRYPTO_KEK_PASSPHRASE, which each target adds as a secret.
     */
    readonly aiGateway?: boolean;
    /**
     * A project's server (shared/projects.ts): every route, API, UI and artifacts, under this
     * path (MLflow's --static-prefix, `/x` without a trailing slash), and artifacts under
     * `artifactPrefix` (`projects/<name>/`) of the bucket. Unset: the server at `/`.
     */
    readonly project?: { readonly staticPrefix: string; readonly artifactPrefix: string };
}

/**
 * MLflow 3.17 starts two kinds of background work with `mlflow server` (mlflow/server/__init__.py):
 * - job execution (MLFLOW_SERVER_ENABLE_JOB_EXECUTION): a Huey queue in this server's /dev/shm runs
 *   the UI's GenAI jobs (judges/scorers on traces, GenAI evaluation, prompt optimisation, issue
 *   detection). Every starting server re-enqueues every unfinished job of the shared database
 *   (jobs/utils.py _enqueue_unfinished_jobs), so with several replicas a job can run twice.
 * - periodic tasks (MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS): online scoring and trace archival
 *   schedulers that query the database every minute, which keeps Aurora from pausing; MLflow wants
 *   them on one instance only.
 * So: both only where exactly one server can run; periodic tasks also only where the database
 * need not pause.
 */
export function renderBackgroundWorkEnvironment(p: { maxReplicas: number; databaseMayPause: boolean; jobExecution?: boolean }): Record<string, string> {
    if (!Number.isInteger(p.maxReplicas) || p.maxReplicas < 1) {
        throw new Error(`maxReplicas must be a whole number of at least 1, got ${p.maxReplicas}`);
    }
    if (p.jobExecution === true && p.maxReplicas !== 1) {
        throw new Error(`job execution needs exactly one replica (a job would run twice), got ${p.maxReplicas}`);
    }
    // A project's server keeps it off unless asked for: its processes hold ~1.9 GB (docs/benchmarks.md).
    const single = p.maxReplicas === 1 && p.jobExecution !== false;
    return {
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION: String(single),
        MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS: String(single && !p.databaseMayPause),
    };
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
 * The host of the local target's exported trackingUri, and the allowed hosts that make
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

/**
 * One level for MLflow's own loggers (MLFLOW_LOGGING_LEVEL, mlflow/utils/logging_utils.py) and
 * for uvicorn, which `mlflow server` starts as a command that reads UVICORN_* variables
 * (click's auto_envvar_prefix): so MLFLOW_UVICORN_OPTS stays the keep-alive settings alone.
 */
export function renderLogLevelEnvironment(level: LogLevel): Record<string, string> {
    if (!["debug", "info", "warning", "error"].includes(level)) throw new Error(`log level must be debug, info, warning or error, got ${JSON.stringify(level)}`);
    return { MLFLOW_LOGGING_LEVEL: level.toUpperCase(), UVICORN_LOG_LEVEL: level };
}

/** Non-secret environment; credentials (backend URI or DB password, S3 keys) are added by each target as secrets. */
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
        MLFLOW_ARTIFACTS_DESTINATION: `${s.presignedTransfers ? "s3" : "s3proxied"}://${s.artifactBucket}/${s.project?.artifactPrefix ?? ""}`,
        MLFLOW_SERVER_ALLOWED_HOSTS: renderAllowedHosts(s.allowedHosts).join(","),
        AWS_DEFAULT_REGION: s.s3Region,
        // Bring the schema up to date before serving (mlflow db upgrade), so upgrades of the image just work.
        MLFLOW_DB_UPGRADE: "true",
        ...renderBackgroundWorkEnvironment({
            maxReplicas: s.maxReplicas ?? 1, databaseMayPause: s.releaseIdleConnections ?? false, ...(s.jobExecution === undefined ? {} : { jobExecution: s.jobExecution }),
        }),
        // Off unless asked for: on, users store provider API keys in the database (see aiGateway).
        MLFLOW_ENABLE_AI_GATEWAY: String(s.aiGateway ?? false),
        // uvicorn keeps idle connections longer than nginx does (shared/keepalive.ts); its 5 s default is shorter.
        MLFLOW_UVICORN_OPTS: renderUvicornOpts(),
        // mlflow server --expose-prometheus: request counts and latencies at /metrics (docs/observability.md).
        MLFLOW_EXPOSE_PROMETHEUS: PROMETHEUS_DIR,
        ...(s.logLevel === undefined ? {} : renderLogLevelEnvironment(s.logLevel)),
    };
    if (s.project !== undefined) {
        if (!/^(\/[a-z0-9-]+)+$/.test(s.project.staticPrefix) || !/^([a-z0-9-]+\/)+$/.test(s.project.artifactPrefix)) {
            throw new Error(`project prefixes must be /a/b and a/b/, got ${JSON.stringify(s.project)}`);
        }
        // mlflow server --static-prefix (mlflow/cli/__init__.py: envvar MLFLOW_STATIC_PREFIX).
        env.MLFLOW_STATIC_PREFIX = s.project.staticPrefix;
    }
    if (s.corsAllowedOrigins.length > 0) {
        env.MLFLOW_SERVER_CORS_ALLOWED_ORIGINS = s.corsAllowedOrigins.join(",");
    }
    if (s.s3EndpointUrl !== undefined) {
        env.MLFLOW_S3_ENDPOINT_URL = s.s3EndpointUrl;
    }
    if (s.releaseIdleConnections) {
        // A persistent pool keeps Aurora Serverless from auto-pausing (DougTrajano/mlflow-server#124).
        // No pool sizes with it: SQLAlchemy refuses pool_size/max_overflow for NullPool.
        env.MLFLOW_SQLALCHEMYSTORE_POOLCLASS = "NullPool";
    } else {
        // Bounded so pool x workers x tasks fits the database (components/config/capacity.ts).
        const pool = s.pool ?? DEFAULT_POOL;
        if (pool.poolSize < 1 || pool.maxOverflow < 1) {
            // MLflow passes these only when truthy (mlflow/store/db/utils.py): 0 would silently mean SQLAlchemy's 5/10.
            throw new Error(`pool size and overflow must be at least 1, got ${pool.poolSize}/${pool.maxOverflow}`);
        }
        env.MLFLOW_SQLALCHEMYSTORE_POOL_SIZE = String(pool.poolSize);
        env.MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW = String(pool.maxOverflow);
        env.MLFLOW_SQLALCHEMYSTORE_POOL_RECYCLE = String(pool.recycleSeconds);
    }
    return env;
}
