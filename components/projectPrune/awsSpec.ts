// Removing a project on target aws with retainDataOnDestroy=false: the reconciler of
// projectPrune/scripts.ts as its own ECS task, started on a schedule (components/trackingServer/
// awsPrune.ts). It never holds a project list: it reads the CURRENT one, with its recent history,
// from the SSM parameter `pulumi up` writes, AFTER listing what exists, so no stale task
// definition, rollback or late start can delete a project that is in the list or was in it
// during the grace period. The code is a `python -c` script (below), not a file in the image. Pure.
import type { BackendEngine } from "../config/types";
import { PRUNE_DATABASE_LENGTH, PRUNE_DATABASE_PATTERN, type PruneProtected } from "./scripts";
import { PROJECT_NAME, PROJECT_NAME_MAX, projectNames, RESERVED_PROJECT_NAMES } from "../shared/projects";

/** The prune task's one container (shared/ecs.ts renderProjectPruneContainer). */
export const PROJECT_PRUNE_CONTAINER = "project-prune";
/** The one variable holding what the script needs besides the connection: rules, SQL, where the list is. */
export const PROJECT_PRUNE_SPEC_ENV = "MLFLOW_PROJECT_PRUNE_SPEC";
/** Where the tracking-server image keeps entrypoint.py (the URI composition the script reuses). */
export const PROJECT_PRUNE_CODE_DIR = "/opt/mlflow";
/** The artifact prefix every project lives under (projectNames().artifactPrefix is `projects/<n>/`). */
export const PRUNE_STORE_PREFIX = "projects/";
/**
 * A project is deleted only once it has been out of the list for this long: removed and re-added
 * within it, nothing is lost; and the removed project's service (deleted at the end of the same
 * `pulumi up`) is long gone, so its init container cannot create the database again afterwards.
 */
export const PRUNE_GRACE_SECONDS = 3600;
/**
 * Once a day: every run connects to Aurora, which resumes from auto-pause (dbMinCapacity 0) and
 * bills until it pauses again; hourly runs would keep it awake a quarter of the time.
 */
export const PRUNE_SCHEDULE = "rate(1 day)";
/** The prune task's size: the smallest Fargate task (a script, no server). */
export const PRUNE_TASK_SIZE = { cpu: 256, memory: 512 } as const;

/** The parameter's value: the current projects' names, sorted, as JSON (read back by the script). */
export function renderProjectListValue(kept: readonly string[]): string {
    for (const k of kept) projectNames(k);
    return JSON.stringify([...new Set(kept)].sort());
}

/** One kind of database object: how to list candidates, how to drop one (`{name}`, a name the rule allowed). */
export interface PruneDatabaseStep {
    readonly list: string;
    readonly drop: string;
}

export interface PruneNameRule {
    readonly pattern: string;
    readonly minLength: number;
    readonly maxLength: number;
    /** Never dropped even if they match (the script adds the admin user, its database and the kept projects'). */
    readonly protected: readonly string[];
}

export interface ProjectPruneSpec {
    readonly database: PruneNameRule & { readonly session: readonly string[]; readonly steps: readonly PruneDatabaseStep[] };
    readonly store: PruneNameRule & { readonly bucket: string; readonly prefix: string };
    /** The SSM parameter holding the current list (renderProjectListValue), and the grace period. */
    readonly list: { readonly parameter: string; readonly graceSeconds: number };
}

/**
 * Order as the Docker reconciler: MySQL drops users first (a dropped user's grants go with it,
 * so a removed project's task still running cannot create its database again); PostgreSQL drops
 * databases first (a role owning one cannot be dropped), WITH (FORCE) ending their sessions (13+).
 * The names are quoted although the rule only lets `[a-z0-9_]` through.
 */
function databaseSteps(engine: BackendEngine): { session: string[]; steps: PruneDatabaseStep[] } {
    if (engine === "mysql") {
        return {
            session: ["SET SESSION lock_wait_timeout = 60"],
            steps: [
                { list: "SELECT User FROM mysql.user WHERE Host = '%' ORDER BY 1", drop: "DROP USER IF EXISTS '{name}'@'%'" },
                { list: "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1", drop: "DROP DATABASE IF EXISTS `{name}`" },
            ],
        };
    }
    return {
        session: [],
        steps: [
            { list: "SELECT datname FROM pg_database ORDER BY 1", drop: "DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)" },
            { list: "SELECT rolname FROM pg_roles ORDER BY 1", drop: "DROP ROLE IF EXISTS \"{name}\"" },
        ],
    };
}

/**
 * What the prune container needs: the same name rules as the Docker reconciler (database/user
 * `mlflow_<n>` by PRUNE_DATABASE_PATTERN and its length bounds; prefix `projects/<n>/` by
 * PROJECT_NAME), the reserved names, `protect` (`/`'s database) and where the list is. No
 * project's name: the task definition does not change when the list does.
 */
export function renderProjectPruneSpec(engine: BackendEngine, protect: PruneProtected, bucket: string, parameter: string): ProjectPruneSpec {
    const reserved = Object.keys(RESERVED_PROJECT_NAMES);
    const { min, max } = PRUNE_DATABASE_LENGTH;
    return {
        database: {
            pattern: PRUNE_DATABASE_PATTERN, minLength: min, maxLength: max,
            protected: [...new Set([...reserved.map(projectDatabaseName), ...protect.names])].sort(),
            ...databaseSteps(engine),
        },
        store: {
            pattern: PROJECT_NAME.source, minLength: 2, maxLength: PROJECT_NAME_MAX,
            protected: [...reserved].sort(),
            bucket, prefix: PRUNE_STORE_PREFIX,
        },
        list: { parameter, graceSeconds: PRUNE_GRACE_SECONDS },
    };
}

/** `mlflow_<n>` with `-` as `_`: projectNames(n).database, also for the reserved names. The script has the same rule. */
function projectDatabaseName(name: string): string {
    return `mlflow_${name.replace(/-/g, "_")}`;
}

/**
 * The script, run by the tracking-server image's Python (SQLAlchemy, PyMySQL/psycopg2, boto3):
 * the database URI composed by entrypoint.py exactly as the tracking server composes its own
 * (MLFLOW_DB_TLS_QUERY: verified TLS to Aurora); S3 and SSM through the prune's task role.
 * Each part LISTS what exists first and only then reads the list (`kept`): a project's service
 * starts only after the list holding it was written, so whatever a part saw existing belongs to
 * a project the later read includes. Kept: every name in the versions of the list in force
 * during the last graceSeconds; with no version older than that, nothing is deleted. Both parts
 * run even if one fails; the exit code says whether both succeeded. A second run finds nothing.
 */
export const PROJECT_PRUNE_SCRIPT = `import json, os, re, sys
from datetime import datetime, timedelta, timezone
from urllib.parse import quote
sys.path.insert(0, ${JSON.stringify(PROJECT_PRUNE_CODE_DIR)})
def log(m):
    print(f"project-prune: {m}", file=sys.stderr, flush=True)
def allowed(name, rule, extra=()):
    return (re.fullmatch(rule["pattern"], name) is not None and rule["minLength"] <= len(name) <= rule["maxLength"]
            and name not in rule["protected"] and name not in extra)
def kept_from(versions, grace, now):
    """Names in every version in force during [now - grace, now]; None if the list is younger than that."""
    versions = sorted(versions, key=lambda v: v["Version"])
    cutoff = now - timedelta(seconds=grace)
    older = [v for v in versions if v["LastModifiedDate"] <= cutoff]
    if not older:
        return None
    kept = set()
    for v in [older[-1]] + [v for v in versions if v["LastModifiedDate"] > cutoff]:
        names = json.loads(v["Value"])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise RuntimeError(f"version {v['Version']} of the project list is not a JSON list of names")
        kept.update(names)
    return kept
def read_kept(spec):
    import boto3
    pages = boto3.client("ssm").get_paginator("get_parameter_history").paginate(Name=spec["parameter"])
    kept = kept_from([v for page in pages for v in page["Parameters"]], spec["graceSeconds"], datetime.now(timezone.utc))
    if kept is None:
        log(f"the project list changed less than {spec['graceSeconds']} s ago in every version: nothing deleted this run")
    return kept
def prune_database(rule, env, spec):
    import sqlalchemy
    from entrypoint import compose_backend_store_uri
    extra = {env.get("MLFLOW_DB_USER"), env.get("MLFLOW_DB_NAME")}
    engine = sqlalchemy.create_engine(compose_backend_store_uri(env), isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)
    conn = engine.raw_connection()
    try:
        cur = conn.cursor()
        for s in rule["session"]:
            cur.execute(s)
        found = []
        for step in rule["steps"]:
            cur.execute(step["list"])
            found.append([r[0].decode() if isinstance(r[0], bytes) else r[0] for r in cur.fetchall()])
        kept = read_kept(spec)
        if kept is None:
            return
        extra |= {"mlflow_" + k.replace("-", "_") for k in kept}
        for step, rows in zip(rule["steps"], found):
            for name in [n for n in rows if allowed(n, rule, extra)]:
                sql = step["drop"].replace("{name}", name)
                log(sql)
                cur.execute(sql)
    finally:
        conn.close()
def prune_store(rule, spec):
    import boto3
    s3 = boto3.client("s3")
    pages = s3.get_paginator("list_objects_v2")
    b, p = rule["bucket"], rule["prefix"]
    names = [c["Prefix"][len(p):-1] for page in pages.paginate(Bucket=b, Prefix=p, Delimiter="/") for c in page.get("CommonPrefixes", [])]
    kept = read_kept(spec)
    if kept is None:
        return
    for n in [n for n in names if allowed(n, rule, kept)]:
        removed = 0
        for page in pages.paginate(Bucket=b, Prefix=f"{p}{n}/"):
            keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
            for i in range(0, len(keys), 1000):
                r = s3.delete_objects(Bucket=b, Delete={"Objects": keys[i:i + 1000], "Quiet": True})
                if r.get("Errors"):
                    raise RuntimeError(f"{len(r['Errors'])} objects under {p}{n}/ not deleted, first: {r['Errors'][0]}")
                removed += len(keys[i:i + 1000])
        log(f"deleted {removed} objects under s3://{b}/{p}{n}/")
def main():
    env, spec = os.environ, json.loads(os.environ[${JSON.stringify(PROJECT_PRUNE_SPEC_ENV)}])
    failed = []
    parts = (("database", lambda: prune_database(spec["database"], env, spec["list"])), ("store", lambda: prune_store(spec["store"], spec["list"])))
    for part, run in parts:
        try:
            run()
        except (Exception, SystemExit) as e:  # entrypoint.py reports a bad connection setting as SystemExit
            text = str(e)
            # The password, raw and as the URI holds it (percent-encoded), never reaches the log.
            for secret in filter(None, {env.get("MLFLOW_DB_PASSWORD"), quote(env.get("MLFLOW_DB_PASSWORD") or "", safe="")}):
                text = text.replace(secret, "***")
            log(f"{part} failed: {type(e).__name__}: {text}")
            failed.append(part)
    log("done" if not failed else f"FAILED: {', '.join(failed)}")
    sys.exit(1 if failed else 0)
main()
`;

/** The container's entry point: the image's Python with the script above (no file in the image). */
export const PROJECT_PRUNE_COMMAND = ["python", "-c", PROJECT_PRUNE_SCRIPT];

/** `arn:<partition>:<service>:<region>:<account>:...` split into the parts a policy needs. */
function arnParts(arn: string): { partition: string; region: string; account: string } {
    const [prefix, partition, , region, account] = arn.split(":");
    if (prefix !== "arn" || !partition || !region || !/^\d{12}$/.test(account ?? "")) throw new Error(`not a regional ARN: ${arn}`);
    return { partition, region, account };
}

/**
 * The prune task's role: list the bucket only under `projects/`, delete only under it (a
 * versioned bucket keeps deleted objects as noncurrent versions until the lifecycle expires
 * them), read the one parameter's history. Nothing of `/`'s artifacts, no write anywhere.
 */
export function pruneTaskRolePolicy(p: { bucketArn: string; parameterArn: string }) {
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "ListProjectPrefixes", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [p.bucketArn], Condition: { StringLike: { "s3:prefix": [PRUNE_STORE_PREFIX + "*"] } } },
            { Sid: "DeleteProjectObjects", Effect: "Allow", Action: ["s3:DeleteObject"], Resource: [`${p.bucketArn}/${PRUNE_STORE_PREFIX}*`] },
            { Sid: "ReadProjectList", Effect: "Allow", Action: ["ssm:GetParameterHistory"], Resource: [p.parameterArn] },
        ],
    };
}

/** EventBridge Scheduler may assume the scheduler role, for schedules of this account only (confused deputy). */
export function pruneSchedulerTrust(clusterArn: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{
            Effect: "Allow", Principal: { Service: "scheduler.amazonaws.com" }, Action: "sts:AssumeRole",
            Condition: { StringEquals: { "aws:SourceAccount": arnParts(clusterArn).account } },
        }],
    });
}

/**
 * The scheduler role: RunTask of the prune's task definition family (any revision) in the one
 * cluster, and passing exactly the prune's two roles to ECS tasks (the ECS scheduled-task role
 * as documented: ecs:RunTask plus iam:PassRole on each role the task uses; no tags are passed,
 * so no ecs:TagResource).
 */
export function pruneSchedulerPolicy(p: { clusterArn: string; family: string; roleArns: string[]; task?: string }) {
    const { partition, region, account } = arnParts(p.clusterArn);
    // Other scheduled tasks (garbageCollection/aws.ts) get the same policy under their own name.
    const task = p.task ?? "Prune";
    return {
        Version: "2012-10-17",
        Statement: [
            {
                Sid: `Run${task}Task`, Effect: "Allow", Action: ["ecs:RunTask"],
                Resource: [`arn:${partition}:ecs:${region}:${account}:task-definition/${p.family}:*`],
                Condition: { ArnEquals: { "ecs:cluster": p.clusterArn } },
            },
            {
                Sid: `Pass${task}Roles`, Effect: "Allow", Action: ["iam:PassRole"], Resource: [...p.roleArns].sort(),
                Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
            },
        ],
    };
}
