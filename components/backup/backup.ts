// Scheduled backups on Docker: the database dump script (run in the database server's own image,
// so mysqldump / pg_dump match the server's version), the artifact copy script (run in the MLflow
// image, which has Python and boto3), their environments and the restore commands of both. Pure;
// shared by components/backup/docker.ts and the e2e suite, which runs both scripts for real.
import { mysqlGrantDatabase, mysqlString } from "../backendStore/database";
import type { BackendEngine } from "../config/types";

/** Every log line starts with it; docs/operations.md names the failure line. */
export const BACKUP_LOG_PREFIX = "mlflow-backup:";
/** The line a failed scheduled run writes (followed by the exit code). */
export const BACKUP_FAILED_LINE = `${BACKUP_LOG_PREFIX} run FAILED with exit code`;

/** The default: on, once a day, a week of dumps. */
export const DEFAULT_BACKUP = { enabled: true, intervalHours: 24, keep: 7 } as const;

/** Where the scripts are uploaded in their containers. */
export const BACKUP_FILES = { databases: "/opt/mlflow-backup/backup-db.sh", artifacts: "/opt/mlflow-backup/backup-artifacts.py" } as const;

/**
 * Where each container's retained volume is mounted. The artifact copy runs as the MLflow image's
 * non-root user: its volume is mounted on that user's home, so Docker gives the new volume the
 * home's owner (uid 10001) and the copy can write to it.
 */
export const BACKUP_DIRS = { databases: "/backup", artifacts: "/home/mlflow" } as const;

/** The variables both scripts read. */
export const BACKUP_ENV = {
    dir: "BACKUP_DIR",
    keep: "BACKUP_KEEP",
    intervalSeconds: "BACKUP_INTERVAL_SECONDS",
    statusFile: "BACKUP_STATUS_FILE",
    databases: "BACKUP_DATABASES",
    host: "DB_HOST",
    port: "DB_PORT",
    user: "BACKUP_DB_USER",
    password: "BACKUP_DB_PASSWORD",
    adminUser: "DB_ADMIN_USER",
    adminPassword: "DB_ADMIN_PASSWORD",
    bucket: "BACKUP_BUCKET",
    endpoint: "MLFLOW_S3_ENDPOINT_URL",
} as const;

/** The loops write `ok` or `failed <code>` here after every run; the healthchecks read it. */
export const BACKUP_STATUS_FILE = "/tmp/mlflow-backup.status";

/** The backup's own database user: read-only, on the listed databases only. */
export const BACKUP_DB_USER = "mlflow_backup";

export interface BackupSchedule {
    readonly intervalHours: number;
    /** Database dumps kept, newest first. */
    readonly keep: number;
}

const NAME = /^[a-z][a-z0-9_]{0,62}$/;

export function checkBackupSchedule(s: BackupSchedule): void {
    if (!Number.isInteger(s.intervalHours) || s.intervalHours < 1) throw new Error(`backup intervalHours must be a whole number of at least 1, got ${s.intervalHours}`);
    if (!Number.isInteger(s.keep) || s.keep < 1) throw new Error(`backup keep must be a whole number of at least 1, got ${s.keep}`);
}

function checkDatabases(databases: readonly string[]): void {
    if (databases.length === 0) throw new Error("a backup needs at least one database");
    for (const d of databases) {
        if (!NAME.test(d)) throw new Error(`database name ${JSON.stringify(d)} is not one the backup script can name safely (lowercase letters, digits, _)`);
    }
    if (new Set(databases).size !== databases.length) throw new Error(`databases listed twice: ${databases.join(", ")}`);
}

/** The loop settings shared by both containers (no secrets). */
function loopEnvironment(s: BackupSchedule, dir: string): Record<string, string> {
    checkBackupSchedule(s);
    return {
        [BACKUP_ENV.dir]: dir,
        [BACKUP_ENV.keep]: String(s.keep),
        [BACKUP_ENV.intervalSeconds]: String(s.intervalHours * 3600),
        [BACKUP_ENV.statusFile]: BACKUP_STATUS_FILE,
    };
}

/** The dump container's environment without its password (added by the target as a secret). */
export function renderDatabaseBackupEnvironment(p: BackupSchedule & { host: string; port: number; databases: readonly string[] }): Record<string, string> {
    checkDatabases(p.databases);
    return {
        ...loopEnvironment(p, BACKUP_DIRS.databases),
        [BACKUP_ENV.databases]: p.databases.join(" "),
        [BACKUP_ENV.host]: p.host,
        [BACKUP_ENV.port]: String(p.port),
        [BACKUP_ENV.user]: BACKUP_DB_USER,
    };
}

/** The artifact copy's environment without its keys (added by the target as secrets). */
export function renderArtifactBackupEnvironment(p: BackupSchedule & { bucket: string; endpointUrl: string }): Record<string, string> {
    return {
        ...loopEnvironment(p, BACKUP_DIRS.artifacts),
        [BACKUP_ENV.bucket]: p.bucket,
        [BACKUP_ENV.endpoint]: p.endpointUrl,
        AWS_DEFAULT_REGION: "us-east-1",
    };
}

/**
 * The backup user, recreated at every run of `grant` so its rights are exactly these: MySQL,
 * SELECT, SHOW VIEW and TRIGGER on each listed database (what mysqldump --single-transaction
 * --no-tablespaces reads); PostgreSQL, pg_read_all_data (read, never write) and CONNECT on each.
 */
export function renderBackupGrantSql(engine: BackendEngine, databases: readonly string[]): string {
    checkDatabases(databases);
    if (engine === "mysql") {
        // The user is dropped and created by the script with the password from its environment.
        return databases.map(d => `GRANT SELECT, SHOW VIEW, TRIGGER ON ${mysqlGrantDatabase(d)}.* TO ${mysqlString(BACKUP_DB_USER)}@'%';`).join("\n");
    }
    return [
        // Re-granting a role it already has is a NOTICE, not news.
        "SET client_min_messages = warning;",
        `SELECT format('CREATE ROLE %I', :'u') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'u') \\gexec`,
        `SELECT format('ALTER ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L', :'u', :'pw') \\gexec`,
        `SELECT format('GRANT pg_read_all_data TO %I', :'u') \\gexec`,
        ...databases.map(d => `SELECT format('GRANT CONNECT ON DATABASE %I TO %I', '${d}', :'u') \\gexec`),
    ].join("\n");
}

/** MySQL's client options, in a file only this process reads: a password never reaches a command line. */
const MYSQL_FUNCTIONS = `cnf() {
    f="$(mktemp)"
    chmod 600 "$f"
    printf '[client]\\nhost=%s\\nport=%s\\nuser=%s\\npassword="%s"\\n' "$DB_HOST" "$DB_PORT" "$1" "$2" > "$f"
    echo "$f"
}
dump_one() {
    c="$(cnf "$BACKUP_DB_USER" "$BACKUP_DB_PASSWORD")"
    rc=0
    mysqldump --defaults-extra-file="$c" --single-transaction --skip-lock-tables --no-tablespaces --triggers --hex-blob \\
        --default-character-set=utf8mb4 "$1" > "$2" || rc=$?
    rm -f "$c"
    return $rc
}
restore_one() {
    c="$(cnf "$DB_ADMIN_USER" "$DB_ADMIN_PASSWORD")"
    rc=0
    mysql --defaults-extra-file="$c" --default-character-set=utf8mb4 "$1" < "$2" || rc=$?
    rm -f "$c"
    return $rc
}
grant() {
    case "$BACKUP_DB_PASSWORD" in *"'"*|*"\\\\"*) log "the backup user's password must not hold ' or a backslash"; return 2 ;; esac
    c="$(cnf "$DB_ADMIN_USER" "$DB_ADMIN_PASSWORD")"
    rc=0
    {
        printf "DROP USER IF EXISTS '%s'@'%%';\nCREATE USER '%s'@'%%' IDENTIFIED BY '%s';\n" "$BACKUP_DB_USER" "$BACKUP_DB_USER" "$BACKUP_DB_PASSWORD"
        cat <<'SQL'
__GRANT_SQL__
SQL
    } | mysql --defaults-extra-file="$c" || rc=$?
    rm -f "$c"
    return $rc
}`;

/** PostgreSQL reads the password from PGPASSWORD, set per command. */
const POSTGRES_FUNCTIONS = `dump_one() {
    PGPASSWORD="$BACKUP_DB_PASSWORD" pg_dump --host="$DB_HOST" --port="$DB_PORT" --username="$BACKUP_DB_USER" --no-password \\
        --clean --if-exists --file="$2" "$1"
}
restore_one() {
    PGPASSWORD="$DB_ADMIN_PASSWORD" psql --host="$DB_HOST" --port="$DB_PORT" --username="$DB_ADMIN_USER" --no-password --no-psqlrc \\
        -v ON_ERROR_STOP=1 --quiet --single-transaction --dbname="$1" --file="$2" > /dev/null
}
grant() {
    PGPASSWORD="$DB_ADMIN_PASSWORD" psql --host="$DB_HOST" --port="$DB_PORT" --username="$DB_ADMIN_USER" --no-password --no-psqlrc \\
        -v ON_ERROR_STOP=1 --quiet --dbname=postgres -v u="$BACKUP_DB_USER" -v pw="$BACKUP_DB_PASSWORD" <<'SQL'
__GRANT_SQL__
SQL
}`;

const DB_SCRIPT_BODY = `log() { printf '${BACKUP_LOG_PREFIX} %s\\n' "$*" >&2; }
dumps="$BACKUP_DIR/databases"
once() {
    mkdir -p "$dumps"
    rm -rf "$dumps"/*.partial
    stamp="$(date -u +%Y%m%dT%H%M%SZ)"
    # One dump per second at most: a name is never reused.
    while [ -e "$dumps/$stamp" ]; do sleep 1; stamp="$(date -u +%Y%m%dT%H%M%SZ)"; done
    work="$dumps/$stamp.partial"
    mkdir "$work"
    for db in $BACKUP_DATABASES; do
        dump_one "$db" "$work/$db.sql" || { log "dump of $db failed"; return 1; }
    done
    # Complete only now: restore never sees a half-written dump.
    mv "$work" "$dumps/$stamp"
    log "databases: $BACKUP_DATABASES dumped to $dumps/$stamp"
    # Keep the newest BACKUP_KEEP complete dumps.
    n=0
    for d in $(ls -1 "$dumps" | grep -v '\\.partial$' | sort -r); do
        n=$((n + 1))
        if [ "$n" -gt "$BACKUP_KEEP" ]; then rm -rf "\${dumps:?}/$d"; log "removed the dump $d (keeping $BACKUP_KEEP)"; fi
    done
}
restore() {
    [ -n "\${1:-}" ] && [ -d "$dumps/$1" ] || { log "restore needs the name of a dump under $dumps: $(ls -1 "$dumps" 2>/dev/null | tr '\\n' ' ')"; return 2; }
    for f in "$dumps/$1"/*.sql; do
        db="$(basename "$f" .sql)"
        restore_one "$db" "$f" || { log "restore of $db failed"; return 1; }
        log "restored $db from $f"
    done
}
# A fresh stack on kept backup volumes must not dump its empty databases over the backup at
# once: while the newest dump is younger than the interval, the first run waits.
wait_for_due() {
    last="$(ls -1 "$dumps" 2>/dev/null | grep -v '\\.partial$' | sort | tail -n 1)" || true
    [ -n "$last" ] || return 0
    age=$(( $(date +%s) - $(date -r "$dumps/$last" +%s) ))
    if [ "$age" -lt "$BACKUP_INTERVAL_SECONDS" ]; then
        log "the last dump $last is $age s old: next in $((BACKUP_INTERVAL_SECONDS - age)) s"
        sleep $((BACKUP_INTERVAL_SECONDS - age)) &
        wait $!
    fi
}
loop() {
    trap 'exit 0' TERM INT
    wait_for_due
    while :; do
        started=$(date +%s)
        if sh "$0" once; then code=0; else code=$?; fi
        took=$(( $(date +%s) - started ))
        # The status first: once the line is in the log, the healthcheck already answers for this run.
        if [ "$code" = 0 ]; then echo ok > "$BACKUP_STATUS_FILE.tmp"; else echo "failed $code" > "$BACKUP_STATUS_FILE.tmp"; fi
        mv "$BACKUP_STATUS_FILE.tmp" "$BACKUP_STATUS_FILE"
        if [ "$code" = 0 ]; then log "run ok in $took s; next in $BACKUP_INTERVAL_SECONDS s"
        else log "run FAILED with exit code $code after $took s; unhealthy until a run succeeds; next in $BACKUP_INTERVAL_SECONDS s"; fi
        sleep "$BACKUP_INTERVAL_SECONDS" &
        wait $!
    done
}
case "\${1:-}" in
    once) once ;;
    loop) loop ;;
    grant) grant && log "the backup user $BACKUP_DB_USER may read: $BACKUP_DATABASES" ;;
    restore) restore "\${2:-}" ;;
    *) log "usage: $0 once|loop|grant|restore <dump>"; exit 2 ;;
esac`;

/**
 * The database script: `grant` (as the admin: the backup user), `once` (one dump of every listed
 * database into BACKUP_DIR/databases/<UTC time>/<database>.sql), `loop` (once every interval,
 * its status in BACKUP_STATUS_FILE) and `restore <dump>` (as the admin, into the existing databases).
 */
export function renderDatabaseBackupScript(engine: BackendEngine, databases: readonly string[]): string {
    const functions = (engine === "mysql" ? MYSQL_FUNCTIONS : POSTGRES_FUNCTIONS).replace("__GRANT_SQL__", () => renderBackupGrantSql(engine, databases));
    return `#!/bin/sh
# Rendered by mlflow-platform (components/backup/backup.ts): database dumps, the backup user, restore.
set -eu
${functions}
${DB_SCRIPT_BODY}
`;
}

/** Healthy until a run fails (no status yet: the first run is still going), unhealthy until one succeeds. */
export const DATABASE_BACKUP_HEALTHCHECK = ["CMD", "sh", "-c", `test ! -f "$${BACKUP_ENV.statusFile}" || grep -q '^ok' "$${BACKUP_ENV.statusFile}"`];
export const ARTIFACT_BACKUP_HEALTHCHECK = ["CMD", "python", "-c",
    `import os, sys; p = os.environ[${JSON.stringify(BACKUP_ENV.statusFile)}]; sys.exit(0 if not os.path.exists(p) or open(p).read().startswith("ok") else 1)`];

/**
 * The artifact copy: `once` copies every object of the bucket that is new or changed (by ETag)
 * since the last run into BACKUP_DIR/artifacts/objects/<key>, and deletes nothing, so every kept
 * dump still finds the artifacts it names even after gc removed them from the bucket; `loop`
 * runs it every interval; `restore [prefix]` uploads the copy (or the keys under prefix) into
 * the bucket with the credentials in the environment, skipping objects already there with the
 * same size.
 */
export const ARTIFACT_BACKUP_SCRIPT = `import json, os, signal, subprocess, sys, time
PREFIX = ${JSON.stringify(BACKUP_LOG_PREFIX)}
def log(m):
    print(PREFIX + " " + m, file=sys.stderr, flush=True)
def client():
    import boto3
    return boto3.client("s3", endpoint_url=os.environ.get("MLFLOW_S3_ENDPOINT_URL") or None)
def roots():
    root = os.path.join(os.environ["BACKUP_DIR"], "artifacts")
    return os.path.join(root, "objects"), os.path.join(root, "manifest.json")
def local_path(objects, key):
    parts = key.split("/")
    if any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"object key {key!r} cannot be stored as a file path")
    return os.path.join(objects, *parts)
def save(manifest, path):
    with open(path + ".tmp", "w") as f:
        json.dump(manifest, f)
    os.replace(path + ".tmp", path)
def once():
    objects, manifest_path = roots()
    os.makedirs(objects, exist_ok=True)
    manifest = json.load(open(manifest_path)) if os.path.exists(manifest_path) else {}
    s3, bucket = client(), os.environ["BACKUP_BUCKET"]
    copied = unchanged = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            key = o["Key"]
            if key.endswith("/"):
                continue  # a folder marker holds no data
            path = local_path(objects, key)
            if manifest.get(key) == o["ETag"] and os.path.exists(path):
                unchanged += 1
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            s3.download_file(bucket, key, path + ".part")
            os.replace(path + ".part", path)
            manifest[key] = o["ETag"]
            copied += 1
            if copied % 500 == 0:
                save(manifest, manifest_path)
    save(manifest, manifest_path)
    log(f"artifacts: {copied} object(s) copied, {unchanged} unchanged, {len(manifest)} in the copy at {objects}")
def restore(prefix=""):
    objects, _ = roots()
    s3, bucket = client(), os.environ["BACKUP_BUCKET"]
    uploaded = present = 0
    for base, _, files in os.walk(objects):
        for name in sorted(files):
            if name.endswith(".part"):
                continue
            path = os.path.join(base, name)
            key = os.path.relpath(path, objects).replace(os.sep, "/")
            if not key.startswith(prefix):
                continue
            try:
                if s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == os.path.getsize(path):
                    present += 1
                    continue
            except s3.exceptions.ClientError as e:
                if e.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
                    raise
            s3.upload_file(path, bucket, key)
            uploaded += 1
    log(f"artifacts: {uploaded} object(s) restored into {bucket}, {present} already there")
def loop():
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    interval, status = int(os.environ["BACKUP_INTERVAL_SECONDS"]), os.environ["BACKUP_STATUS_FILE"]
    while True:
        started = time.monotonic()
        code = subprocess.run([sys.executable, os.path.abspath(__file__), "once"]).returncode
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
def main(argv):
    command = argv[1] if len(argv) > 1 else ""
    if command == "loop":
        return loop()
    try:
        if command == "once":
            once()
        elif command == "restore":
            restore(argv[2] if len(argv) > 2 else "")
        else:
            log("usage: backup-artifacts.py once|loop|restore [prefix]")
            sys.exit(2)
    except Exception as e:
        log(f"artifacts FAILED: {type(e).__name__}: {e}")
        sys.exit(1)
if __name__ == "__main__":
    main(sys.argv)
`;
