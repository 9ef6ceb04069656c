// Scheduled `mlflow gc` of one server (`/` or a project): the Python that runs it, its environment
// and the schedule, for both targets and the e2e suite. Pure.
//
// Why not the plain CLI: our runs' artifact URIs are `mlflow-artifacts:/<experiment>/<run>/artifacts`
// (served by proxy). `mlflow gc` resolves them through MLFLOW_TRACKING_URI, which must then be the
// HTTP address of a running server (mlflow/store/artifact/mlflow_artifacts_repo.py); with any other
// tracking URI it stops with "the tracking URI must be a valid http or https URI", and
// --artifacts-destination only sets the store's default root for new experiments. A server's
// address is not reachable from a scheduled task on AWS, and would move the deletes behind its
// auth proxy. So the script maps `mlflow-artifacts:/<path>` to `<path>` under the server's own
// MLFLOW_ARTIFACTS_DESTINATION, as `mlflow server` does for DELETE /mlflow-artifacts/artifacts/<path>
// (server/handlers.py _delete_artifact_mlflow_artifacts), with the server's own storage identity,
// then runs MLflow's gc command in-process: the backend store URI never reaches a command line.
import { renderDatabaseTlsQuery } from "../backendStore/aurora";
import type { BackendEngine } from "../config/types";
import { keyValues, logs } from "../shared/ecs";
import { MLFLOW_HOSTNAME, MLFLOW_PORT, renderTrackingServerEnvironment } from "../trackingServer/mlflow";

/** Where the tracking-server image keeps entrypoint.py (compose_backend_store_uri, shared with the server). */
export const GC_CODE_DIR = "/opt/mlflow";
/** Every log line starts with it; docs/operations.md names the failure line. */
export const GC_LOG_PREFIX = "mlflow-gc:";
/** The line a failed run writes (followed by the exit code). */
export const GC_FAILED_LINE = `${GC_LOG_PREFIX} run FAILED with exit code`;

/** The gc's own variables, beside those it shares with its server. */
export const GC_ENV = {
    olderThan: "MLFLOW_GC_OLDER_THAN",
    intervalSeconds: "MLFLOW_GC_INTERVAL_SECONDS",
    statusFile: "MLFLOW_GC_STATUS_FILE",
} as const;

/** Docker: the loop writes `ok` or `failed <code>` here after every run; the healthcheck reads it. */
export const GC_STATUS_FILE = "/tmp/mlflow-gc.status";

/**
 * What gc needs of its server's environment, and nothing else: the artifact destination with its
 * endpoint and region, and the non-secret parts of the database URI (AWS). The credentials (URI or
 * DB user/password, S3 keys) are added by each target as secrets.
 */
export const GC_SERVER_KEYS = [
    "MLFLOW_ARTIFACTS_DESTINATION", "MLFLOW_S3_ENDPOINT_URL", "AWS_DEFAULT_REGION",
    "MLFLOW_DB_ENGINE", "MLFLOW_DB_HOST", "MLFLOW_DB_PORT", "MLFLOW_DB_NAME", "MLFLOW_DB_TLS_QUERY",
] as const;

export interface GcSchedule {
    /** Deleted longer ago than this many days: rows and artifacts go (mlflow gc --older-than). */
    readonly olderThanDays: number;
    readonly intervalHours: number;
}

/** The default: on, a month to restore a deleted run, once a day. */
export const DEFAULT_GARBAGE_COLLECTION = { enabled: true, olderThanDays: 30, intervalHours: 24 } as const;

function checkSchedule(s: GcSchedule): void {
    if (!Number.isInteger(s.olderThanDays) || s.olderThanDays < 1) throw new Error(`gc olderThanDays must be a whole number of at least 1, got ${s.olderThanDays}`);
    if (!Number.isInteger(s.intervalHours) || s.intervalHours < 1) throw new Error(`gc intervalHours must be a whole number of at least 1, got ${s.intervalHours}`);
}

/** `mlflow gc --older-than` in MLflow's syntax (`<days>d`). */
export function renderOlderThan(days: number): string {
    checkSchedule({ olderThanDays: days, intervalHours: 1 });
    return `${days}d`;
}

/** The arguments of `mlflow gc` the script passes, the backend store URI appended at run time. */
export function renderGcArgs(olderThan: string): string[] {
    if (!/^\d+d$/.test(olderThan)) throw new Error(`gc --older-than must be <days>d, got ${JSON.stringify(olderThan)}`);
    return ["--older-than", olderThan];
}

/** EventBridge Scheduler's rate expression (its unit is singular for 1). */
export function renderGcScheduleExpression(intervalHours: number): string {
    checkSchedule({ olderThanDays: 1, intervalHours });
    if (intervalHours % 24 === 0) return intervalHours === 24 ? "rate(1 day)" : `rate(${intervalHours / 24} days)`;
    return intervalHours === 1 ? "rate(1 hour)" : `rate(${intervalHours} hours)`;
}

/**
 * The gc container's environment (no secrets): its server's artifact and database settings,
 * taken from the server's own rendered environment so both always agree, plus its schedule.
 * `loop` (Docker) adds the interval and status file the long-running container needs.
 */
export function renderGcEnvironment(serverEnvironment: Record<string, string>, s: GcSchedule & { readonly loop: boolean }): Record<string, string> {
    checkSchedule(s);
    if (!serverEnvironment.MLFLOW_ARTIFACTS_DESTINATION) throw new Error("the server's environment has no MLFLOW_ARTIFACTS_DESTINATION: gc could not delete artifacts");
    const env: Record<string, string> = {};
    for (const k of GC_SERVER_KEYS) {
        if (serverEnvironment[k] !== undefined) env[k] = serverEnvironment[k];
    }
    env[GC_ENV.olderThan] = renderOlderThan(s.olderThanDays);
    // One short-lived process: no pool kept open (an idle Aurora can pause again right after).
    env.MLFLOW_SQLALCHEMYSTORE_POOLCLASS = "NullPool";
    if (s.loop) {
        env[GC_ENV.intervalSeconds] = String(s.intervalHours * 3600);
        env[GC_ENV.statusFile] = GC_STATUS_FILE;
    }
    return env;
}

/** One gc run: exits 0 when MLflow's gc finished, 1 (after a FAILED line) otherwise. */
export const GC_SCRIPT = `import os, posixpath, sys
from urllib.parse import quote, unquote, urlsplit
sys.path.insert(0, ${JSON.stringify(GC_CODE_DIR)})
def log(m):
    print(${JSON.stringify(GC_LOG_PREFIX)} + " " + m, file=sys.stderr, flush=True)
def use_server_destination():
    from mlflow.store.artifact.artifact_repository_registry import _artifact_repository_registry, get_artifact_repository
    from mlflow.utils.uri import validate_path_is_safe
    destination = os.environ["MLFLOW_ARTIFACTS_DESTINATION"]
    class ServerDestination:
        def __init__(self, artifact_uri, tracking_uri=None, registry_uri=None):
            parts = urlsplit(artifact_uri)
            if parts.netloc:
                raise ValueError(f"{artifact_uri} names a server ({parts.netloc}): only this server's mlflow-artifacts:/ paths are collected")
            self.path = parts.path.strip("/")
        def delete_artifacts(self, artifact_path=None):
            path = validate_path_is_safe(posixpath.join(self.path, artifact_path) if artifact_path else self.path)
            if not path.strip("/"):
                raise ValueError("refusing to delete the whole artifact destination")
            repo = get_artifact_repository(destination)
            repo.delete_artifacts(path)
            # S3's multi-object delete reports refused keys in its answer, which MLflow ignores:
            # what is still listed was not deleted, and the run must fail rather than drop the rows.
            left = repo.list_artifacts(path)
            if left:
                raise RuntimeError(f"{len(left)} artifact(s) under {path} were not deleted (the store refused), first: {left[0].path}")
    _artifact_repository_registry.register("mlflow-artifacts", ServerDestination)
def main():
    from entrypoint import compose_backend_store_uri
    uri = compose_backend_store_uri(os.environ)
    # gc insists on a tracking URI; artifacts never go through it (mapped above), rows go to the URI.
    os.environ["MLFLOW_TRACKING_URI"] = uri
    use_server_destination()
    from mlflow.cli import gc
    older = os.environ[${JSON.stringify(GC_ENV.olderThan)}]
    log(f"deleting what was deleted more than {older} ago, artifacts under {os.environ['MLFLOW_ARTIFACTS_DESTINATION']}")
    gc.main(["--older-than", older, "--backend-store-uri", uri], prog_name="mlflow gc", standalone_mode=False)
    log("run ok")
try:
    main()
except BaseException as e:  # entrypoint.py reports a bad connection setting as SystemExit
    text = f"{type(e).__name__}: {e}"
    secrets = {os.environ.get("MLFLOW_DB_PASSWORD"), os.environ.get("AWS_SECRET_ACCESS_KEY")}
    uri = os.environ.get("MLFLOW_BACKEND_STORE_URI") or ""
    try:
        secrets |= {urlsplit(uri).password, unquote(urlsplit(uri).password or "")}
    except ValueError:
        pass
    for s in [x for x in secrets if x]:
        text = text.replace(s, "***").replace(quote(s, safe=""), "***")
    log(f"FAILED: {text}")
    sys.exit(1)
`;

/** The scheduled task's entry point on AWS: one run (the task's exit code is its status). */
export const GC_COMMAND = ["python", "-c", GC_SCRIPT];

/**
 * Docker: the container runs the gc every interval, each run a child process with the same
 * environment; a failed run is logged (GC_FAILED_LINE) and written to the status file, which
 * makes the healthcheck fail until a run succeeds. Stops at once on SIGTERM (docker stop).
 */
export const GC_LOOP_SCRIPT = `import os, signal, subprocess, sys, time
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
SCRIPT = ${JSON.stringify(GC_SCRIPT)}
interval = int(os.environ[${JSON.stringify(GC_ENV.intervalSeconds)}])
status = os.environ[${JSON.stringify(GC_ENV.statusFile)}]
def log(m):
    print(${JSON.stringify(GC_LOG_PREFIX)} + " " + m, file=sys.stderr, flush=True)
while True:
    started = time.monotonic()
    code = subprocess.run([sys.executable, "-c", SCRIPT]).returncode
    took = time.monotonic() - started
    # The status first: once the line is in the log, the healthcheck already answers for this run.
    with open(status + ".tmp", "w") as f:
        f.write("ok" if code == 0 else f"failed {code}")
    os.replace(status + ".tmp", status)
    if code == 0:
        log(f"run ok in {took:.0f} s; next in {interval} s")
    else:
        log(f"run FAILED with exit code {code} after {took:.0f} s; unhealthy until a run succeeds; next in {interval} s")
    time.sleep(interval)
`;

export const GC_LOOP_COMMAND = ["python", "-c", GC_LOOP_SCRIPT];

/** Healthy until a run fails (no status yet: the first run is still going), unhealthy until one succeeds. */
export const GC_HEALTHCHECK_COMMAND = ["CMD", "python", "-c",
    `import os, sys; p = os.environ[${JSON.stringify(GC_ENV.statusFile)}]; sys.exit(0 if not os.path.exists(p) or open(p).read().startswith("ok") else 1)`];

/** A project's paths as its server gets them (shared/projects.ts); unset for `/`. */
export interface GcProject {
    readonly staticPrefix: string;
    readonly artifactPrefix: string;
}

/** The server's environment for the keys gc takes from it; host names and workers do not reach gc. */
function serverSettings(p: { artifactBucket: string; project?: GcProject }) {
    return {
        port: MLFLOW_PORT, workers: 1, artifactBucket: p.artifactBucket, allowedHosts: [MLFLOW_HOSTNAME], corsAllowedOrigins: [],
        ...(p.project === undefined ? {} : { project: { staticPrefix: p.project.staticPrefix, artifactPrefix: p.project.artifactPrefix } }),
    };
}

/** Docker: the tracking server's environment as trackingServer/docker.ts renders it (MinIO, no presigned transfers). */
export function renderLocalServerEnvironment(p: { artifactBucket: string; s3EndpointUrl: string; project?: GcProject }): Record<string, string> {
    return renderTrackingServerEnvironment({ ...serverSettings(p), s3EndpointUrl: p.s3EndpointUrl, presignedTransfers: false, s3Region: "us-east-1" });
}

export interface AwsGcDatabase {
    readonly engine: BackendEngine;
    readonly host: string;
    readonly port: number;
    readonly name: string;
}

/** AWS: the task's MLflow environment as shared/ecs.ts renders it (S3 in the region, the database's parts). */
export function renderAwsServerEnvironment(p: { region: string; artifactBucket: string; database: AwsGcDatabase; project?: GcProject }): Record<string, string> {
    const db = p.database;
    return {
        ...renderTrackingServerEnvironment({ ...serverSettings(p), presignedTransfers: true, s3Region: p.region }),
        MLFLOW_DB_ENGINE: db.engine,
        MLFLOW_DB_HOST: db.host,
        MLFLOW_DB_PORT: String(db.port),
        MLFLOW_DB_NAME: db.name,
        MLFLOW_DB_TLS_QUERY: renderDatabaseTlsQuery(db.engine),
    };
}

/** The gc task's one container (essential: it is the task). */
export const GC_CONTAINER = "mlflow-gc";
/** The smallest Fargate task: one Python process that imports MLflow, no server. */
export const GC_TASK_SIZE = { cpu: 256, memory: 512 } as const;

/** The gc task's container: the server's image, the gc environment, the server's database secret injected by ECS. */
export function renderGcContainer(s: { region: string; logGroupName: string; image: string; environment: Record<string, string>; databaseSecretArn: string }): object {
    for (const k of ["MLFLOW_BACKEND_STORE_URI", "MLFLOW_DB_USER", "MLFLOW_DB_PASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]) {
        if (k in s.environment) throw new Error(`${k} must reach the gc task as a secret, not in its environment`);
    }
    return {
        name: GC_CONTAINER,
        image: s.image,
        essential: true,
        entryPoint: GC_COMMAND,
        environment: keyValues(s.environment),
        secrets: [
            { name: "MLFLOW_DB_USER", valueFrom: `${s.databaseSecretArn}:username::` },
            { name: "MLFLOW_DB_PASSWORD", valueFrom: `${s.databaseSecretArn}:password::` },
        ],
        logConfiguration: logs(s, GC_CONTAINER),
    };
}
