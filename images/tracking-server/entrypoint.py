#!/usr/bin/env python3
"""Starts the MLflow tracking server from environment variables alone.

No credential ever becomes a command-line argument (visible in `ps` and `docker inspect`):
- MLFLOW_BACKEND_STORE_URI is used as given (the Docker flavour renders it with URL-encoded
  credentials), or composed here from MLFLOW_DB_* parts (the AWS flavour, where ECS injects
  the password from Secrets Manager and cannot build a URI itself);
- with MLFLOW_DB_UPGRADE=true the schema is brought up to date in this process first, so a
  new image on an existing database does not fail with "out-of-date database schema";
- then this process becomes `mlflow server`, which reads every option from MLFLOW_* variables.
"""
import os
import sys
from urllib.parse import quote

DIALECTS = {
    "mysql": ("mysql+pymysql", 3306, "?charset=utf8mb4"),
    "postgres": ("postgresql+psycopg2", 5432, ""),
}


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
    os.execv(mlflow, [mlflow, "server"])


if __name__ == "__main__":
    main()
