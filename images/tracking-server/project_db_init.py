#!/usr/bin/env python3
"""Creates one project's database and user on the platform's database server (AWS init container).

Runs once per task start, before the project's MLflow container (ECS dependsOn SUCCESS), as
the database's master user. Everything comes from the environment, nothing from the command line:
- MLFLOW_DB_ENGINE/HOST/PORT/NAME/TLS_QUERY and MLFLOW_DB_USER/PASSWORD (the master secret): the
  connection, composed exactly as the tracking server composes its own (entrypoint.py), so TLS
  to Aurora is verified the same way;
- MLFLOW_PROJECT_DB_STATEMENTS: JSON list of {sql, unless?, bindsPassword?}, rendered by
  components/render/projects.ts (renderProjectInitStatements); idempotent;
- MLFLOW_PROJECT_DB_PASSWORD: the project user's password, bound as %(password)s, never logged.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from entrypoint import compose_backend_store_uri  # noqa: E402


def log(message):
    print(f"project-db-init: {message}", file=sys.stderr, flush=True)


def load_statements(text):
    statements = json.loads(text)
    if not isinstance(statements, list) or not statements:
        raise SystemExit("project-db-init: MLFLOW_PROJECT_DB_STATEMENTS must be a non-empty JSON list")
    for s in statements:
        if not isinstance(s, dict) or not isinstance(s.get("sql"), str) or set(s) - {"sql", "unless", "bindsPassword"}:
            raise SystemExit(f"project-db-init: each statement is {{sql, unless?, bindsPassword?}}, got {s!r}")
    return statements


def run(env, connect=None):
    """Executes the statements in order, autocommit; returns how many ran (the rest were skipped by `unless`)."""
    statements = load_statements(env.get("MLFLOW_PROJECT_DB_STATEMENTS", ""))
    password = env.get("MLFLOW_PROJECT_DB_PASSWORD", "")
    if any(s.get("bindsPassword") for s in statements) and not password:
        raise SystemExit("project-db-init: MLFLOW_PROJECT_DB_PASSWORD is empty")
    if connect is None:
        import sqlalchemy
        engine = sqlalchemy.create_engine(compose_backend_store_uri(env), isolation_level="AUTOCOMMIT", poolclass=sqlalchemy.pool.NullPool)
        connect = engine.raw_connection
    ran = 0
    conn = connect()
    try:
        cur = conn.cursor()
        for s in statements:
            if s.get("unless"):
                cur.execute(s["unless"])
                if cur.fetchone() is not None:
                    continue
            # Only statements that bind the password get parameters: the others keep a literal '%'.
            if s.get("bindsPassword"):
                cur.execute(s["sql"], {"password": password})
            else:
                cur.execute(s["sql"])
            ran += 1
        cur.close()
    finally:
        conn.close()
    return ran


def main():
    ran = run(os.environ)
    log(f"project database ready ({ran} statements ran)")


if __name__ == "__main__":
    main()
