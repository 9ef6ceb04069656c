#!/usr/bin/env python3
"""Starts the MLflow tracking server from environment variables alone.

No credential ever becomes a command-line argument (visible in `ps` and `docker inspect`):
- MLFLOW_BACKEND_STORE_URI is used as given (the Docker flavour renders it with URL-encoded
  credentials), or composed here from MLFLOW_DB_* parts (the AWS flavour, where ECS injects
  the password from Secrets Manager and cannot build a URI itself);
- with MLFLOW_DB_UPGRADE=true the schema is brought up to date in this process first, so a
  new image on an existing database does not fail with "out-of-date database schema". A
  database advisory lock (MySQL GET_LOCK, PostgreSQL pg_advisory_lock) is held around it: tasks
  that start together (a rolling deploy, scale-out) upgrade one at a time, and the later ones
  find the schema current and change nothing;
- then `mlflow server` runs here, reading every option from MLFLOW_* variables, and this process
  becomes the uvicorn server it starts (become_mlflow_server).

With MLFLOW_DB_ROTATION_WATCH_ARN set (AWS), the server runs as a child instead and this process
watches that Secrets Manager secret: RDS rotates a managed master password every 7 days,
ECS injects secrets only when a task starts, so after a rotation this process stops the
server and exits, and ECS starts a task that gets the new password. Only the secret's
metadata is read (DescribeSecret), never its value, and the database is not touched, so
an auto-paused Aurora stays paused.
"""
import contextlib
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from urllib.parse import quote

# engine -> (SQLAlchemy dialect, default port, query): the table the Docker flavour's URIs use,
# generated from components/render/database.ts (ENGINES) by `npm run generate`.
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "db_dialects.json"), encoding="utf-8") as _table:
    DIALECTS = {engine: (d["dialect"], d["port"], d["query"]) for engine, d in json.load(_table).items()}


def log(message):
    print(f"entrypoint: {message}", file=sys.stderr, flush=True)


def compose_backend_store_uri(env):
    """The SQLAlchemy URI, credentials percent-encoded so '@', ':' and '%' survive (mlflow#1419)."""
    if env.get("MLFLOW_BACKEND_STORE_URI"):
        return env["MLFLOW_BACKEND_STORE_URI"]
    missing = [k for k in ("MLFLOW_DB_ENGINE", "MLFLOW_DB_HOST", "MLFLOW_DB_NAME", "MLFLOW_DB_USER", "MLFLOW_DB_PASSWORD")
               if not env.get(k)]
    if missing:
        raise SystemExit(f"entrypoint: set MLFLOW_BACKEND_STORE_URI, or all of: {', '.join(missing)}")
    engine = env["MLFLOW_DB_ENGINE"]
    if engine not in DIALECTS:
        raise SystemExit(f"entrypoint: MLFLOW_DB_ENGINE must be one of {sorted(DIALECTS)}, got {engine!r}")
    dialect, default_port, query = DIALECTS[engine]
    port = env.get("MLFLOW_DB_PORT") or default_port
    user = quote(env["MLFLOW_DB_USER"], safe="")
    password = quote(env["MLFLOW_DB_PASSWORD"], safe="")
    database = quote(env["MLFLOW_DB_NAME"], safe="")
    # TLS to the database (AWS): the query is rendered by components/render/aurora.ts.
    tls = env.get("MLFLOW_DB_TLS_QUERY", "")
    if tls:
        query = f"{query}&{tls}" if query else f"?{tls}"
    return f"{dialect}://{user}:{password}@{env['MLFLOW_DB_HOST']}:{port}/{database}{query}"


def compose_read_replica_uri(env):
    """MLflow's --read-replica-backend-store-uri: as given, or the writer's parts with MLFLOW_DB_READER_HOST.

    An Aurora reader endpoint serves the same databases with the same users, so only the host
    differs (TLS is checked against it the same way). None without either variable.
    """
    if env.get("MLFLOW_READ_REPLICA_BACKEND_STORE_URI"):
        return env["MLFLOW_READ_REPLICA_BACKEND_STORE_URI"]
    if not env.get("MLFLOW_DB_READER_HOST"):
        return None
    return compose_backend_store_uri({**env, "MLFLOW_BACKEND_STORE_URI": "", "MLFLOW_DB_HOST": env["MLFLOW_DB_READER_HOST"]})


# One name for every MLflow image version, so an old and a new image also wait for each other.
UPGRADE_LOCK = "mlflow-db-upgrade"
# PostgreSQL advisory locks are per database and keyed by a 64-bit integer.
UPGRADE_LOCK_KEY = int.from_bytes(hashlib.sha256(UPGRADE_LOCK.encode()).digest()[:8], "big", signed=True)


def upgrade_lock_statements(dialect, database):
    """(try-acquire, release, parameters) for the schema-upgrade lock, or None where there is none."""
    if dialect == "mysql":
        # MySQL lock names are server-wide (<= 64 characters): one lock per database.
        name = f"{UPGRADE_LOCK}:{hashlib.sha256(database.encode()).hexdigest()[:40]}"
        return "SELECT GET_LOCK(:name, 0)", "SELECT RELEASE_LOCK(:name)", {"name": name}
    if dialect == "postgresql":
        return "SELECT pg_try_advisory_lock(:key)", "SELECT pg_advisory_unlock(:key)", {"key": UPGRADE_LOCK_KEY}
    return None


@contextlib.contextmanager
def schema_upgrade_lock(engine, timeout_seconds, poll_seconds=1.0):
    """Holds the database's advisory lock for the upgrade, on a connection of its own.

    Session-level locks: released by RELEASE_LOCK/pg_advisory_unlock, or by the server when this
    process dies and its connection closes, so a crashed upgrade never leaves the lock behind.
    """
    from sqlalchemy import text

    statements = upgrade_lock_statements(engine.dialect.name, engine.url.database or "")
    if statements is None:
        yield
        return
    acquire, release, params = statements
    # Autocommit: the lock connection holds no transaction open while another one migrates.
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        deadline = time.monotonic() + timeout_seconds
        waited = False
        while not conn.execute(text(acquire), params).scalar():
            if not waited:
                log("another server is upgrading the database schema; waiting for it to finish")
                waited = True
            if time.monotonic() > deadline:
                raise SystemExit(f"entrypoint: the schema upgrade lock was still taken after {timeout_seconds:.0f} s; "
                                 "another server may be stuck migrating: see its log, or raise MLFLOW_DB_UPGRADE_LOCK_SECONDS")
            time.sleep(poll_seconds)
        try:
            yield
        finally:
            conn.execute(text(release), params)


def schema_revision(engine):
    """The database's alembic revision; None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def announce_upgrade(before, image_revision, now=None):
    """Logs the UTC time right before a schema upgrade of a database that has a schema: the point
    to restore to when the upgrade fails (MLflow's migrations are not transactional). Returns it."""
    if before is None or before == image_revision:
        return None
    at = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    log(f"database schema {before} is not this image's {image_revision}: upgrading it at {at}; "
        f"to undo, restore the database to {at} and run the previous image "
        f"(AWS: aws rds restore-db-cluster-to-point-in-time --restore-to-time {at}, docs/aws.md)")
    return at


def upgrade_schema(uri, timeout_seconds, upgrade=None, image_revision=None):
    """`mlflow db upgrade` under the advisory lock; returns the revisions before and after."""
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    if image_revision is None:
        from mlflow.store.db.utils import _get_latest_schema_revision as image_revision
    if upgrade is None:
        from mlflow.db import upgrade as mlflow_upgrade

        # In-process, so the URI is an argument of a function call, not of a process.
        def upgrade():
            mlflow_upgrade.main(args=[uri], standalone_mode=False)

    engine = sqlalchemy.create_engine(uri, poolclass=NullPool)
    try:
        with schema_upgrade_lock(engine, timeout_seconds):
            before = schema_revision(engine)
            announce_upgrade(before, image_revision())
            upgrade()
            after = schema_revision(engine)
    finally:
        engine.dispose()
    if before == after:
        log(f"database schema already current at {after}")
    else:
        log(f"database schema upgraded from {before or 'an empty database'} to {after}")
    return before, after


def current_secret_version(client, secret_arn):
    """Id of the version labelled AWSCURRENT: it changes when the secret is rotated."""
    stages = client.describe_secret(SecretId=secret_arn).get("VersionIdsToStages", {})
    return next((version for version, labels in stages.items() if "AWSCURRENT" in labels), None)


def watch_until_secret_rotates(child, client, secret_arn, started_with, interval_seconds, stop_grace_seconds=30):
    """Waits for the child server; returns its exit code, or 0 after stopping it because the secret rotated."""
    while True:
        try:
            return child.wait(timeout=interval_seconds)
        except subprocess.TimeoutExpired:
            pass
        try:
            version = current_secret_version(client, secret_arn)
        except Exception as error:  # a passing API error must not take the server down
            log(f"could not check the database secret ({error.__class__.__name__}); trying again later")
            continue
        if version != started_with:
            log("the database secret was rotated; stopping so that a new task starts with the new password")
            child.terminate()
            try:
                child.wait(timeout=stop_grace_seconds)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
            return 0


class _BecomeServer:
    """What `mlflow server` takes for the server process it starts: this process, which becomes it on wait()."""

    def __init__(self, argv, env):
        self.argv, self.env, self.pid = argv, env, os.getpid()

    def poll(self):
        return None

    def send_signal(self, _signum):
        pass

    def wait(self):
        sys.stdout.flush()
        sys.stderr.flush()
        os.execve(self.argv[0], self.argv, self.env)


def become_mlflow_server(cli_main=None, args=("server",)):
    """Runs `mlflow server` here and replaces this process with the uvicorn server it would start.

    `mlflow server` prepares the server's environment (and the job runner, with job execution on),
    starts uvicorn as a child and only waits for it, holding ~250 MiB of imported MLflow for
    nothing (docs/benchmarks.md). Its start goes through mlflow.server._exec_cmd: that call gets
    _BecomeServer, so the job runner watches this pid, which stays the server's after the exec.
    """
    import mlflow.server

    def exec_cmd(cmd, *, extra_env=None, synchronous=True, **_kwargs):
        if synchronous:
            raise RuntimeError(f"entrypoint: unexpected synchronous command from mlflow server: {cmd[:3]}")
        return _BecomeServer([str(c) for c in cmd], {**os.environ, **(extra_env or {})})

    mlflow.server._exec_cmd = exec_cmd
    if cli_main is None:
        from mlflow.cli import cli

        cli_main = cli.main
    cli_main(args=list(args), prog_name="mlflow")


def reset_prometheus_dir(path):
    """Empties MLflow's Prometheus directory (MLFLOW_EXPOSE_PROMETHEUS) before the server starts.

    prometheus_client's multiprocess mode sums the files of every process that ever wrote there:
    a restarted container would report its predecessors' requests as its own, and Prometheus
    sees a counter reset only when the numbers start from zero again.
    """
    if not path:
        return
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.remove(os.path.join(path, name))


def main():
    reset_prometheus_dir(os.environ.get("MLFLOW_EXPOSE_PROMETHEUS"))
    uri = compose_backend_store_uri(os.environ)
    os.environ["MLFLOW_BACKEND_STORE_URI"] = uri
    replica = compose_read_replica_uri(os.environ)
    if replica:
        # `mlflow server` reads it (mlflow/cli: envvar MLFLOW_READ_REPLICA_BACKEND_STORE_URI).
        os.environ["MLFLOW_READ_REPLICA_BACKEND_STORE_URI"] = replica
    # The server needs only the URI; don't hand the bare password to its children.
    os.environ.pop("MLFLOW_DB_PASSWORD", None)

    if os.environ.get("MLFLOW_DB_UPGRADE", "false").lower() == "true":
        upgrade_schema(uri, float(os.environ.get("MLFLOW_DB_UPGRADE_LOCK_SECONDS", "1800")))

    mlflow = os.path.join(os.path.dirname(sys.executable), "mlflow")
    server = [mlflow, "server"]
    if os.environ.get("MLFLOW_PLATFORM_AUTH_INI"):
        # Team accounts: the auth database follows the users list, then MLflow's auth app runs.
        import mlflow_platform_auth

        server += mlflow_platform_auth.prepare(os.environ)

    secret_arn = os.environ.get("MLFLOW_DB_ROTATION_WATCH_ARN")
    if not secret_arn:
        become_mlflow_server(args=server[1:])

    import boto3

    interval = float(os.environ.get("MLFLOW_DB_ROTATION_CHECK_SECONDS", "300"))
    client = boto3.client("secretsmanager")
    started_with = current_secret_version(client, secret_arn)
    child = subprocess.Popen(server)
    # ECS stops a task with SIGTERM to this process: pass it on so the server shuts down cleanly.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda received, _frame: child.send_signal(received))
    sys.exit(watch_until_secret_rotates(child, client, secret_arn, started_with, interval))


if __name__ == "__main__":
    main()
