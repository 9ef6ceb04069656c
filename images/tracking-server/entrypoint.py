#!/usr/bin/env python3
"""Starts the MLflow tracking server from environment variables alone.

No credential ever becomes a command-line argument (visible in `ps` and `docker inspect`):
- MLFLOW_BACKEND_STORE_URI is used as given (the Docker flavour renders it with URL-encoded
  credentials), or composed here from MLFLOW_DB_* parts (the AWS flavour, where ECS injects
  the password from Secrets Manager and cannot build a URI itself);
- with MLFLOW_DB_UPGRADE=true the schema is brought up to date in this process first, so a
  new image on an existing database does not fail with "out-of-date database schema";
- then this process becomes `mlflow server`, which reads every option from MLFLOW_* variables.

With MLFLOW_DB_ROTATION_WATCH_ARN set (AWS), the server runs as a child instead and this process
watches that Secrets Manager secret: RDS rotates a managed master password every 7 days,
ECS injects secrets only when a task starts, so after a rotation this process stops the
server and exits, and ECS starts a task that gets the new password. Only the secret's
metadata is read (DescribeSecret), never its value, and the database is not touched, so
an auto-paused Aurora stays paused.
"""
import json
import os
import signal
import subprocess
import sys
import time
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
    return f"{dialect}://{user}:{password}@{env['MLFLOW_DB_HOST']}:{port}/{database}{query}"


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


def main():
    uri = compose_backend_store_uri(os.environ)
    os.environ["MLFLOW_BACKEND_STORE_URI"] = uri
    # The server needs only the URI; don't hand the bare password to its children.
    os.environ.pop("MLFLOW_DB_PASSWORD", None)

    if os.environ.get("MLFLOW_DB_UPGRADE", "false").lower() == "true":
        from mlflow.db import upgrade

        # In-process, so the URI is an argument of a function call, not of a process.
        upgrade.main(args=[uri], standalone_mode=False)

    mlflow = os.path.join(os.path.dirname(sys.executable), "mlflow")
    secret_arn = os.environ.get("MLFLOW_DB_ROTATION_WATCH_ARN")
    if not secret_arn:
        os.execv(mlflow, [mlflow, "server"])

    import boto3

    interval = float(os.environ.get("MLFLOW_DB_ROTATION_CHECK_SECONDS", "300"))
    client = boto3.client("secretsmanager")
    started_with = current_secret_version(client, secret_arn)
    child = subprocess.Popen([mlflow, "server"])
    # ECS stops a task with SIGTERM to this process: pass it on so the server shuts down cleanly.
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda received, _frame: child.send_signal(received))
    sys.exit(watch_until_secret_rotates(child, client, secret_arn, started_with, interval))


if __name__ == "__main__":
    main()
