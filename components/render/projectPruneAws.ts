// Removing a project on target aws with retainDataOnDestroy=false (issue 11): the reconciler of
// render/projectPrune.ts as a non-essential container in the task of the server at `/`. Aurora
// is reachable only from inside the VPC, and `/`'s task already holds the master secret and a
// task role over the whole bucket. It runs at every start of a `/` task with the CURRENT list
// (its environment), so a list change changes `/`'s task definition and ECS rolls `/`.
// The code is a `python -c` script (below), not a file in the image: no image rebuild. Pure.
import type { BackendEngine } from "../config/types";
import { PRUNE_DATABASE_LENGTH, PRUNE_DATABASE_PATTERN, type PruneProtected } from "./projectPrune";
import { PROJECT_NAME, PROJECT_NAME_MAX, projectNames, RESERVED_PROJECT_NAMES } from "./projects";

/** The container's name in `/`'s task definition (render/ecs.ts). */
export const PROJECT_PRUNE_CONTAINER = "project-prune";
/** The one variable holding what the script needs besides the connection: names, rules, SQL. */
export const PROJECT_PRUNE_SPEC_ENV = "MLFLOW_PROJECT_PRUNE_SPEC";
/** Where the tracking-server image keeps entrypoint.py (the URI composition the script reuses). */
export const PROJECT_PRUNE_CODE_DIR = "/opt/mlflow";
/** The artifact prefix every project lives under (projectNames().artifactPrefix is `projects/<n>/`). */
export const PRUNE_STORE_PREFIX = "projects/";

/** One kind of database object: how to list candidates, how to drop one (`{name}`, a name the rule allowed). */
export interface PruneDatabaseStep {
    readonly list: string;
    readonly drop: string;
}

export interface PruneNameRule {
    readonly pattern: string;
    readonly minLength: number;
    readonly maxLength: number;
    /** Never dropped even if they match (the script adds the admin user and the database it connects to). */
    readonly protected: readonly string[];
}

export interface ProjectPruneSpec {
    readonly database: PruneNameRule & { readonly session: readonly string[]; readonly steps: readonly PruneDatabaseStep[] };
    readonly store: PruneNameRule & { readonly bucket: string; readonly prefix: string };
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
 * PROJECT_NAME), the kept projects' names, the reserved ones and `protect` (`/`'s database).
 */
export function renderProjectPruneSpec(engine: BackendEngine, kept: readonly string[], protect: PruneProtected, bucket: string): ProjectPruneSpec {
    const reserved = Object.keys(RESERVED_PROJECT_NAMES);
    const keptDatabases = [...kept, ...reserved].map(k => `mlflow_${k.replace(/-/g, "_")}`);
    for (const k of kept) projectNames(k);
    const { min, max } = PRUNE_DATABASE_LENGTH;
    return {
        database: {
            pattern: PRUNE_DATABASE_PATTERN, minLength: min, maxLength: max,
            protected: [...new Set([...keptDatabases, ...protect.names])].sort(),
            ...databaseSteps(engine),
        },
        store: {
            pattern: PROJECT_NAME.source, minLength: 2, maxLength: PROJECT_NAME_MAX,
            protected: [...new Set([...kept, ...reserved])].sort(),
            bucket, prefix: PRUNE_STORE_PREFIX,
        },
    };
}

/**
 * The script, run by the tracking-server image's Python (SQLAlchemy, PyMySQL/psycopg2, boto3):
 * the database URI composed by entrypoint.py exactly as the tracking server composes its own
 * (MLFLOW_DB_TLS_QUERY: verified TLS to Aurora); S3 through the task role. Both parts run even
 * if one fails; the exit code says whether both succeeded. Idempotent: a second run finds nothing.
 */
export const PROJECT_PRUNE_SCRIPT = `import json, os, re, sys
from urllib.parse import quote
sys.path.insert(0, ${JSON.stringify(PROJECT_PRUNE_CODE_DIR)})
def log(m):
    print(f"project-prune: {m}", file=sys.stderr, flush=True)
def allowed(name, rule, extra=()):
    return (re.fullmatch(rule["pattern"], name) is not None and rule["minLength"] <= len(name) <= rule["maxLength"]
            and name not in rule["protected"] and name not in extra)
def prune_database(rule, env):
    import sqlalchemy
    from entrypoint import compose_backend_store_uri
    extra = {env.get("MLFLOW_DB_USER"), env.get("MLFLOW_DB_NAME")}
    engine = sqlalchemy.create_engine(compose_backend_store_uri(env), isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)
    conn = engine.raw_connection()
    try:
        cur = conn.cursor()
        for s in rule["session"]:
            cur.execute(s)
        for step in rule["steps"]:
            cur.execute(step["list"])
            rows = [r[0].decode() if isinstance(r[0], bytes) else r[0] for r in cur.fetchall()]
            for name in [n for n in rows if allowed(n, rule, extra)]:
                sql = step["drop"].replace("{name}", name)
                log(sql)
                cur.execute(sql)
    finally:
        conn.close()
def prune_store(rule):
    import boto3
    s3 = boto3.client("s3")
    pages = s3.get_paginator("list_objects_v2")
    b, p = rule["bucket"], rule["prefix"]
    names = [c["Prefix"][len(p):-1] for page in pages.paginate(Bucket=b, Prefix=p, Delimiter="/") for c in page.get("CommonPrefixes", [])]
    for n in [n for n in names if allowed(n, rule)]:
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
    for part, run in (("database", lambda: prune_database(spec["database"], env)), ("store", lambda: prune_store(spec["store"]))):
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
