// Removing a project with retainDataOnDestroy=false: the one-shot reconciler that drops what
// belongs to managed project names no longer in `projects`. A one-shot container
// has no delete-time hook, so instead of "on delete of project X" this runs with the CURRENT
// list whenever it changes and removes every project-named object that is not in it. It only
// ever matches the naming scheme of projectNames(): database/user `mlflow_<n>`, MinIO user
// `mlflow-project-<n>` (policy `<user>-artifacts`), prefix `projects/<n>/`. Pure: shared by the
// local target, the unit tests and the e2e suite.
import type { BackendEngine } from "../config/types";
import { BUCKET_INIT_ENV } from "../bucketInit/bucket";
import { mysqlString } from "../backendStore/database";
import { PROJECT_NAME_MAX, projectNames, RESERVED_PROJECT_NAMES } from "../shared/projects";

/** Managed database/user names: `mlflow_` + a project name with `-` as `_` (shared/projects.ts). */
export const PRUNE_DATABASE_PATTERN = "^mlflow_[a-z][a-z0-9]*(_[a-z0-9]+)*$";
const DB_PREFIX = "mlflow_";
/** Length bounds of a managed database/user name: the prefix plus 2..PROJECT_NAME_MAX characters. */
export const PRUNE_DATABASE_LENGTH = { min: DB_PREFIX.length + 2, max: DB_PREFIX.length + PROJECT_NAME_MAX } as const;
/** The MinIO user of project <n> is this plus <n> (projectNames().accessKeyId). */
export const PRUNE_ACCESS_KEY_PREFIX = "mlflow-project-";
/** The bucket-init policy of an identity is named `<access key>-artifacts` (components/bucketInit/docker.ts). */
export const PRUNE_POLICY_SUFFIX = "-artifacts";

export const PROJECT_PRUNE_FILES = { dbScript: "/init/project-prune-db.sh", storeScript: "/init/project-prune-store.sh" } as const;

/** Admin connection of the database prune container: values only through the environment. */
export const PROJECT_PRUNE_DB_ENV = { host: "DB_HOST", port: "DB_PORT", adminUser: "DB_ADMIN_USER", adminPassword: "DB_ADMIN_PASSWORD" } as const;

/** The MinIO prune container reuses bucket-init's variable names for the root login and the bucket. */
export const PROJECT_PRUNE_STORE_ENV = {
    endpoint: BUCKET_INIT_ENV.endpoint, rootUser: BUCKET_INIT_ENV.rootUser, rootPassword: BUCKET_INIT_ENV.rootPassword, bucket: BUCKET_INIT_ENV.bucket,
} as const;

/** Names that must never be dropped even if they matched: `/`'s database and user, the admin. */
export interface PruneProtected {
    readonly names: readonly string[];
}

function keptDatabaseNames(kept: readonly string[], protect: PruneProtected): string[] {
    const names = kept.map(k => projectNames(k).database);
    const reserved = Object.keys(RESERVED_PROJECT_NAMES).map(r => `${DB_PREFIX}${r.replace(/-/g, "_")}`);
    return [...new Set([...reserved, ...protect.names, ...names])].sort();
}

/** Whether a database/user name is one the reconciler may drop (the SQL below says the same). */
export function isPrunableDatabaseName(name: string, kept: readonly string[], protect: PruneProtected): boolean {
    return new RegExp(PRUNE_DATABASE_PATTERN).test(name)
        && name.length >= PRUNE_DATABASE_LENGTH.min && name.length <= PRUNE_DATABASE_LENGTH.max
        && !keptDatabaseNames(kept, protect).includes(name);
}

/** SQL condition on column `col`: a managed project name, lowercase, not kept, not protected. */
function mysqlMatch(col: string, keep: string[]): string {
    const { min, max } = PRUNE_DATABASE_LENGTH;
    // Case-sensitive: REGEXP follows the column's (case-insensitive) collation on schema names.
    return `CAST(${col} AS BINARY) = CAST(LOWER(${col}) AS BINARY) AND ${col} REGEXP ${mysqlString(PRUNE_DATABASE_PATTERN)}`
        + ` AND CHAR_LENGTH(${col}) BETWEEN ${min} AND ${max} AND ${col} NOT IN (${keep.map(mysqlString).join(", ")})`;
}

function pgLiteral(value: string): string {
    return `'${value.replace(/'/g, "''")}'`;
}

function pgMatch(col: string, keep: string[]): string {
    const { min, max } = PRUNE_DATABASE_LENGTH;
    return `${col} ~ ${pgLiteral(PRUNE_DATABASE_PATTERN)} AND char_length(${col}) BETWEEN ${min} AND ${max} AND ${col} NOT IN (${keep.map(pgLiteral).join(", ")})`;
}

/**
 * MySQL: one query that writes the DROP statements (users first: a dropped user's grants go
 * with it, so the removed project's still-running server, deleted by Pulumi after this step,
 * cannot create its database again), then the statements run. Only users at host '%' (the
 * only host the init creates). lock_wait_timeout bounds the wait on a busy database.
 */
export function renderProjectPruneMysqlQuery(kept: readonly string[], protect: PruneProtected): string {
    const keep = keptDatabaseNames(kept, protect);
    // One explicit collation for the three rows: mysql.user and information_schema columns differ
    // (utf8mb3_bin vs the data dictionary's), and a UNION of two implicit collations can fail (error 1271).
    const text = (expr: string) => `CONVERT(${expr} USING utf8mb4) COLLATE utf8mb4_bin`;
    return `SELECT stmt FROM (
  SELECT 0 AS k, ${text("'SET SESSION lock_wait_timeout = 60;'")} AS stmt
  UNION ALL SELECT 1, ${text("CONCAT('DROP USER IF EXISTS ''', User, '''@''%'';')")} FROM mysql.user WHERE Host = '%' AND ${mysqlMatch("User", keep)}
  UNION ALL SELECT 2, ${text("CONCAT('DROP DATABASE IF EXISTS `', SCHEMA_NAME, '`;')")} FROM information_schema.SCHEMATA WHERE ${mysqlMatch("SCHEMA_NAME", keep)}
) AS drops ORDER BY k, stmt;
`;
}

/**
 * PostgreSQL: `\gexec` runs each generated statement on its own (DROP DATABASE cannot run in a
 * transaction). Databases first (a role that owns one cannot be dropped); WITH (FORCE)
 * (PostgreSQL 13+) ends the removed project's sessions, whose server Pulumi deletes after this step.
 */
export function renderProjectPrunePostgresSql(kept: readonly string[], protect: PruneProtected): string {
    const keep = keptDatabaseNames(kept, protect);
    return `SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', datname) FROM pg_database WHERE ${pgMatch("datname", keep)} ORDER BY 1\\gexec
SELECT format('DROP ROLE IF EXISTS %I', rolname) FROM pg_roles WHERE ${pgMatch("rolname", keep)} ORDER BY 1\\gexec
`;
}

/** The database prune container's script, run with the database image's own client as the admin. */
export function renderProjectPruneDatabaseScript(engine: BackendEngine, kept: readonly string[], protect: PruneProtected): string {
    const e = PROJECT_PRUNE_DB_ENV;
    const head = `#!/bin/sh
# Rendered by mlflow-platform (components/render/projectPrune.ts): drops the database and user of
# every project no longer in \`projects\` (retainDataOnDestroy=false). Kept: ${kept.length === 0 ? "(none)" : kept.join(" ")}
set -eu
`;
    if (engine === "mysql") {
        return `${head}umask 077
# The admin password goes into an option file, not onto the command line.
cnf="\${TMPDIR:-/tmp}/project-prune-admin.cnf"
drops="\${TMPDIR:-/tmp}/project-prune-drops.sql"
printf '[client]\\nuser=%s\\npassword="%s"\\n' "\${${e.adminUser}}" "\${${e.adminPassword}}" > "$cnf"
set -- --defaults-extra-file="$cnf" --host="\${${e.host}}" --port="\${${e.port}}" --protocol=TCP
mysql "$@" --batch --raw --skip-column-names > "$drops" <<'SQL'
${renderProjectPruneMysqlQuery(kept, protect)}SQL
while IFS= read -r line; do printf 'prune: %s\\n' "$line"; done < "$drops"
mysql "$@" < "$drops"
echo "project prune (database) done"
`;
    }
    return `${head}export PGPASSWORD="\${${e.adminPassword}}"
psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --echo-queries --host "\${${e.host}}" --port "\${${e.port}}" --username "\${${e.adminUser}}" --dbname postgres <<'SQL'
${renderProjectPrunePostgresSql(kept, protect)}SQL
echo "project prune (database) done"
`;
}

/** The store script's shell functions: name check, JSON value extraction, removal. Builtins and mc only. */
function storeScriptFunctions(): string {
    const e = PROJECT_PRUNE_STORE_ENV;
    const reserved = Object.keys(RESERVED_PROJECT_NAMES);
    return `# 0 when $1 is a project name (PROJECT_NAME, 2-${PROJECT_NAME_MAX} characters) that is neither kept nor reserved.
prunable() {
    case "$1" in
        ""|*[!a-z0-9-]*|[!a-z]*|*-|*--*${reserved.map(r => `|${r}`).join("")}) return 1 ;;
    esac
    [ "\${#1}" -ge 2 ] && [ "\${#1}" -le ${PROJECT_NAME_MAX} ] || return 1
    case "$KEEP" in *" $1 "*) return 1 ;; esac
    return 0
}

# Prints each string value of key $1 in the JSON text $2, one per line.
values() {
    rest="$2"
    while :; do
        case "$rest" in *"\\"$1\\":"*) ;; *) break ;; esac
        rest="\${rest#*\\"$1\\":}"
        while :; do case "$rest" in " "*) rest="\${rest# }" ;; *) break ;; esac; done
        case "$rest" in "\\""*) rest="\${rest#\\"}" ;; *) continue ;; esac
        printf '%s\\n' "\${rest%%\\"*}"
        rest="\${rest#*\\"}"
    done
}

# $1: the names to remove; $2: those with a MinIO user; $3: those with objects under projects/<n>/.
prune() {
    for n in $1; do
        echo "prune: project $n"
        case "$3" in *" $n "*) mc rm --recursive --force "store/\${${e.bucket}}/projects/$n/" ;; esac
        case "$2" in
            *" $n "*)
                mc admin user rm store "${PRUNE_ACCESS_KEY_PREFIX}$n"
                # A policy attached to no user grants nothing: a failure here does not stop the rest.
                mc admin policy rm store "${PRUNE_ACCESS_KEY_PREFIX}$n${PRUNE_POLICY_SUFFIX}" || echo "prune: policy ${PRUNE_ACCESS_KEY_PREFIX}$n${PRUNE_POLICY_SUFFIX} not removed"
                ;;
        esac
    done
}

`;
}

/**
 * The MinIO prune container's script: only sh and mc (the mc image has no grep, sed or cat).
 * Candidates are the MinIO users named `mlflow-project-<n>` and the folders under `projects/`;
 * a candidate is removed when <n> is a valid project name (checked with `case` patterns, the
 * same rule as PROJECT_NAME) that is neither kept nor reserved: its objects, then its user and
 * its policy; each only when a listing showed it, so a second run finds nothing to do. Values
 * are read from mc's --json output by key, whether mc prints one object per line (ls:
 * encoding/json Marshal) or indented (admin user ls: MarshalIndent): minio/mc cmd/ls.go
 * contentMessage `key`, cmd/admin-user-add.go userMessage `accessKey`.
 */
export function renderProjectPruneStoreScript(kept: readonly string[]): string {
    for (const k of kept) projectNames(k);
    const e = PROJECT_PRUNE_STORE_ENV;
    return `#!/bin/sh
# Rendered by mlflow-platform (components/render/projectPrune.ts): removes the objects, MinIO user
# and policy of every project no longer in \`projects\` (retainDataOnDestroy=false).
# Only sh and mc: the mc image is ubi-micro plus mc, without grep, sed or cat.
set -euf
KEEP=" ${kept.join(" ")} "
scheme="\${${e.endpoint}%%://*}"
hostport="\${${e.endpoint}#*://}"
export MC_HOST_store="\${scheme}://\${${e.rootUser}}:\${${e.rootPassword}}@\${hostport}"

${storeScriptFunctions()}mc ready store
names=" "
users=" "
folders=" "
out=$(mc admin user ls store --json)
for key in $(values accessKey "$out"); do
    case "$key" in ${PRUNE_ACCESS_KEY_PREFIX}*) ;; *) continue ;; esac
    n="\${key#${PRUNE_ACCESS_KEY_PREFIX}}"
    prunable "$n" || continue
    users="$users$n "
    case "$names" in *" $n "*) ;; *) names="$names$n " ;; esac
done
# projects/ is listed only when the bucket's top level shows it (listing a missing folder is not
# relied on), and then a failed listing stops the run instead of skipping the objects.
top=$(mc ls --json "store/\${${e.bucket}}/")
out=""
for key in $(values key "$top"); do
    if [ "$key" = "projects/" ]; then out=$(mc ls --json "store/\${${e.bucket}}/projects/"); fi
done
for key in $(values key "$out"); do
    n="\${key%/}"
    [ "$n/" = "$key" ] || continue
    prunable "$n" || continue
    folders="$folders$n "
    case "$names" in *" $n "*) ;; *) names="$names$n " ;; esac
done
prune "$names" "$users" "$folders"
echo "project prune (store) done; kept:$KEEP"
`;
}

/** Error for a prune container that exited non-zero: where its output is, how to run it again. */
export function projectPruneFailureMessage(exitCode: number, containerName: string, urn: string): string {
    return `project prune exited with ${exitCode}. Its output: \`docker logs ${containerName}\`. `
        + "It runs again only when the project list changes, so after fixing the cause run it again with: "
        + `pulumi up --replace '${urn}'`;
}
