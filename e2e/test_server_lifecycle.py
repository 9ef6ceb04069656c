"""The tracking server on day two: idle cost, concurrent starts, secrets MLflow itself stores.

These run MLflow with the environment the aws target renders (e2e/out/<backend>/aws-env.json,
written by render-aws-env.ts from the ECS task definition), mapped to this host:

| rendered (ECS task definition)        | here                                                    |
|---------------------------------------|---------------------------------------------------------|
| MLFLOW_DB_HOST / PORT / NAME          | 127.0.0.1, the shared server's port, a per-test database |
| MLFLOW_DB_USER / PASSWORD (ECS secrets)| a per-test user and password on that database          |
| MLFLOW_HOST 0.0.0.0 / MLFLOW_PORT      | 127.0.0.1 / a free port                                 |
| s3://<bucket>/ (the task role)        | moto's bucket with the MLflow identity's keys           |
| MLFLOW_DB_ROTATION_WATCH_ARN / _SECONDS| dropped: the watcher reads Secrets Manager metadata only |
|                                       | (tested in images/tracking-server/test_entrypoint.py)  |
| MLFLOW_DB_TLS* (RDS CA bundle)        | dropped: the local servers have no certificate          |

Everything else (pool class, job execution, periodic tasks, gateway switch, schema upgrade)
is used exactly as rendered. Each test gets its own database and user, so the counters read
below see only the server under test.
"""
import json
import secrets
import threading
import time
import uuid
from urllib.parse import urlsplit

import pytest
import requests

from conftest import (BACKEND, OUT, PG_ENV, MlflowServer, Proc, Redacted, _mysql_admin, _psql, allow_5xx_window, base_env, free_port,
                      require, wait_for)

# Aurora Serverless v2 pauses after at least 300 s without connections; MLflow's periodic tasks
# run every 60 s. 150 s of silence covers two of their ticks.
IDLE_SECONDS = 150
SETTLE_SECONDS = 30


@pytest.fixture(scope="module")
def aws_env():
    path = OUT / "aws-env.json"
    require(path.exists(), f"{path} not rendered (run e2e/run)")
    data = json.loads(path.read_text())
    assert data["backend"] == BACKEND
    assert set(data["secrets"]) >= {"MLFLOW_DB_USER", "MLFLOW_DB_PASSWORD"}, data["secrets"]
    return Redacted(data["environment"])


class Database:
    """A fresh database and user of its own on the shared server, dropped afterwards."""

    def __init__(self, label):
        suffix = uuid.uuid4().hex[:8]
        self.name, self.user = f"mlflow_{label}_{suffix}", f"mlflow_{label}_{suffix}"
        # Characters that break URIs if anything forgets to encode them.
        self.password = "p@ss:w%/" + secrets.token_urlsafe(12)
        if BACKEND == "mysql":
            self.host, self.port = "127.0.0.1", 3306
        else:
            self.host, self.port = PG_ENV["PGHOST"], int(PG_ENV["PGPORT"])

    def create(self):
        if BACKEND == "mysql":
            try:
                conn = _mysql_admin()
            except Exception as e:  # noqa: BLE001
                require(False, f"MariaDB/MySQL not reachable: {e}")
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{self.name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
                cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (self.user, self.password))
                cur.execute(f"GRANT ALL ON `{self.name}`.* TO %s@'%%'", (self.user,))
            self.host, self.port = conn.host, conn.port
            conn.close()
        else:
            probe = _psql("select 1")
            require(probe.returncode == 0, f"PostgreSQL not reachable: {probe.stderr.strip()}")
            password = self.password.replace("'", "''")
            for sql in (f"CREATE ROLE \"{self.user}\" LOGIN PASSWORD '{password}'",
                        f'CREATE DATABASE "{self.name}" OWNER "{self.user}"'):
                r = _psql(sql)
                assert r.returncode == 0, r.stderr
        return self

    def drop(self):
        if BACKEND == "mysql":
            conn = _mysql_admin()
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{self.name}`")
                cur.execute("DROP USER IF EXISTS %s@'%%'", (self.user,))
            conn.close()
        else:
            _psql(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
            _psql(f'DROP ROLE IF EXISTS "{self.user}"')


@pytest.fixture
def fresh_database(request):
    db = Database(request.node.name[5:13].replace("-", "_").lower())
    try:
        yield db.create()
    finally:
        db.drop()


def server_env(rendered, db, store):
    """The rendered aws environment with only addresses, credentials and TLS mapped (module docstring)."""
    env = {k: v for k, v in rendered.items()
           if k not in ("MLFLOW_DB_ROTATION_WATCH_ARN", "MLFLOW_DB_ROTATION_CHECK_SECONDS") and not k.startswith("MLFLOW_DB_TLS")}
    assert "MLFLOW_BACKEND_STORE_URI" not in env, "the aws target composes the URI in the entrypoint"
    bucket = urlsplit(env["MLFLOW_ARTIFACTS_DESTINATION"]).netloc
    assert bucket, env["MLFLOW_ARTIFACTS_DESTINATION"]
    env.update({
        "MLFLOW_HOST": "127.0.0.1",
        "MLFLOW_PORT": str(free_port()),
        "MLFLOW_DB_HOST": db.host,
        "MLFLOW_DB_PORT": str(db.port),
        "MLFLOW_DB_NAME": db.name,
        "MLFLOW_DB_USER": db.user,
        "MLFLOW_DB_PASSWORD": db.password,
        "MLFLOW_ARTIFACTS_DESTINATION": env["MLFLOW_ARTIFACTS_DESTINATION"].replace(bucket, store["bucket"], 1),
        "MLFLOW_S3_ENDPOINT_URL": store["endpoint"],
        "AWS_ACCESS_KEY_ID": store["mlflow_key"],
        "AWS_SECRET_ACCESS_KEY": store["mlflow_secret"],
    })
    return {**base_env(), **env}


def public_host(rendered):
    """The load balancer's name, the first host MLflow admits (the rest are wildcards)."""
    return rendered["MLFLOW_SERVER_ALLOWED_HOSTS"].split(",")[0]


# --- counters the database server keeps per user ------------------------------------------

class MysqlCounters:
    """MariaDB's user statistics (userstat) and its process list, for one user."""

    def __init__(self, user):
        self.user = user

    def __enter__(self):
        conn = _mysql_admin()
        with conn.cursor() as cur:
            cur.execute("SELECT @@GLOBAL.userstat")
            self.previous = cur.fetchone()[0]
            cur.execute("SET GLOBAL userstat = 1")
        conn.close()
        return self

    def __exit__(self, *exc):
        conn = _mysql_admin()
        with conn.cursor() as cur:
            cur.execute(f"SET GLOBAL userstat = {int(self.previous)}")
        conn.close()

    def connections(self):
        conn = _mysql_admin()
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = %s", (self.user,))
            n = cur.fetchone()[0]
        conn.close()
        return n

    def totals(self):
        conn = _mysql_admin()
        with conn.cursor() as cur:
            cur.execute("SELECT TOTAL_CONNECTIONS, SELECT_COMMANDS, UPDATE_COMMANDS, OTHER_COMMANDS, ROWS_READ "
                        "FROM information_schema.USER_STATISTICS WHERE USER = %s", (self.user,))
            row = cur.fetchone()
        conn.close()
        keys = ("connections_opened", "selects", "updates", "other_statements", "rows_read")
        return dict(zip(keys, row or (0, 0, 0, 0, 0)))


class PostgresCounters:
    """pg_stat_activity and pg_stat_database for the test's own database and user."""

    def __init__(self, user, database):
        self.user, self.database = user, database

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def _one(self, sql):
        r = _psql(sql)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    def connections(self):
        return int(self._one(f"SELECT count(*) FROM pg_stat_activity WHERE usename = '{self.user}'"))

    def totals(self):
        row = self._one("SELECT sessions, xact_commit, xact_rollback, tup_returned + tup_fetched "
                        f"FROM pg_stat_database WHERE datname = '{self.database}'")
        keys = ("connections_opened", "commits", "rollbacks", "rows_read")
        return dict(zip(keys, (int(x) for x in row.split("|"))))


def counters(db):
    return MysqlCounters(db.user) if BACKEND == "mysql" else PostgresCounters(db.user, db.name)


def test_idle_server_leaves_the_database_alone(aws_env, fresh_database, artifact_store):
    """With the aws environment, an idle server lets Aurora pause.

    Aurora Serverless v2 pauses only after it has had no connections for the auto-pause delay,
    so over a 150 s idle window the MLflow user must open no connection and run no statement.
    """
    env = server_env(aws_env, fresh_database, artifact_store)
    server = MlflowServer(env, name="mlflow-idle")
    with counters(fresh_database) as c:
        try:
            server.start()
            # One real request first, so the server has proven it can use the database.
            r = requests.get(f"{server.url}/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "Default"},
                             headers={"Host": public_host(aws_env)}, timeout=30)
            assert r.status_code == 200, r.text[:300]
            time.sleep(SETTLE_SECONDS)  # startup work (schema check, job runner recovery) ends
            before = c.totals()
            seen = []
            deadline = time.monotonic() + IDLE_SECONDS
            while time.monotonic() < deadline:
                seen.append(c.connections())
                assert server.proc.popen.poll() is None, f"MLflow exited; see {server.proc.log}"
                time.sleep(1)
            time.sleep(2)  # PostgreSQL publishes a closed session's counters when it exits
            after = c.totals()
        finally:
            server.proc.stop()
    delta = {k: after[k] - before[k] for k in after}
    (OUT / "idle-db-counters.json").write_text(json.dumps(
        {"idle_seconds": IDLE_SECONDS, "before": before, "after": after, "delta": delta,
         "max_open_connections": max(seen), "samples": len(seen),
         "env": {k: v for k, v in env.items() if k.startswith("MLFLOW_SERVER_") or k in ("MLFLOW_SQLALCHEMYSTORE_POOLCLASS",)}},
        indent=2))
    assert max(seen) == 0, f"the MLflow user held connections while idle ({max(seen)} at most); see {OUT / 'idle-db-counters.json'}"
    assert all(v == 0 for v in delta.values()), f"the MLflow user used the database while idle: {delta}"


def test_two_servers_starting_at_once_migrate_once(aws_env, fresh_database, artifact_store):
    """A rolling deploy starts several tasks on one database at the same moment.

    Both come up; exactly one creates the schema, the other waits for the advisory lock and
    finds it current (the entrypoint's log says which).
    """
    servers = [MlflowServer(server_env(aws_env, fresh_database, artifact_store), name=f"mlflow-concurrent-{i}") for i in (1, 2)]
    for s in servers:
        s.proc.log.unlink(missing_ok=True)
    errors = []
    try:
        threads = [threading.Thread(target=lambda s=s: _start(s, errors)) for s in servers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=400)
        assert errors == [], errors
        for s in servers:
            r = requests.get(f"{s.url}/api/2.0/mlflow/experiments/get-by-name", params={"experiment_name": "Default"},
                             headers={"Host": public_host(aws_env)}, timeout=30)
            assert r.status_code == 200, r.text[:300]
    finally:
        for s in servers:
            s.proc.stop()
    logs = [s.proc.log.read_text(errors="replace") for s in servers]
    created = [i for i, text in enumerate(logs) if "database schema upgraded from an empty database to" in text]
    current = [i for i, text in enumerate(logs) if "database schema already current at" in text]
    assert len(created) == 1 and len(current) == 1 and created != current, \
        f"expected one server to create the schema and one to find it current; see {[str(s.proc.log) for s in servers]}"


def _start(server, errors):
    try:
        server.start(timeout=360)
    except Exception as e:  # noqa: BLE001 - reported by the test thread
        errors.append(f"{server.proc.name}: {e}")


def test_ai_gateway_is_off_and_says_so(proxy, credentials, spec):
    """No provider API key can be stored under MLflow's public default passphrase.

    The stack renders the gateway off unless enableAiGateway is set (which then requires the
    aiGatewayKekPassphrase secret); through the proxy MLflow says it is off.
    """
    env = {e.partition("=")[0]: e.partition("=")[2] for e in spec["by_role"]["tracking-server"]["inputs"]["envs"]}
    assert env["MLFLOW_ENABLE_AI_GATEWAY"] == "false"
    assert "MLFLOW_CRYPTO_KEK_PASSPHRASE" not in env
    # MLflow's answer for a disabled feature is 501: a deliberate 5xx for the suite's access-log check.
    asked = time.time()
    r = requests.get(f"{proxy.url}/ajax-api/3.0/mlflow/gateway/secrets/config", auth=credentials, timeout=30)
    assert r.status_code == 501, (r.status_code, r.text[:300])
    assert "The AI Gateway feature is disabled" in r.json()["message"]
    # Storing a key is refused too, not only the settings page.
    r = requests.post(f"{proxy.url}/ajax-api/3.0/mlflow/gateway/secrets/create", auth=credentials, timeout=30,
                      json={"secret_name": "openai", "secret_value": {"api_key": "sk-not-stored"}, "provider": "openai"})
    allow_5xx_window(asked, time.time(), "the AI Gateway's 501 'feature is disabled' answers")
    assert r.status_code == 501, (r.status_code, r.text[:300])
    info = requests.get(f"{proxy.url}/ajax-api/3.0/mlflow/server-info", auth=credentials, timeout=30)
    if info.status_code == 200:
        assert info.json().get("features_enabled", {}).get("gateway") is False, info.text[:300]
