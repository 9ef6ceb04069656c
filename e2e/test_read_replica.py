"""Aurora readers (dbReaderInstances): searches and UI reads go to the read replica, writes to the writer.

Runs MLflow with the environment the aws target renders with dbReaderInstances=1
(e2e/out/<backend>/aws-env-replica.json), mapped to this host as test_server_lifecycle.py does,
with one more stand-in:

| rendered (ECS task definition)         | here                                                          |
|----------------------------------------|---------------------------------------------------------------|
| MLFLOW_DB_READER_HOST (reader endpoint) | MLFLOW_READ_REPLICA_BACKEND_STORE_URI, used as given by the   |
|                                        | entrypoint: the same database on the same server, as a second |
|                                        | user with SELECT only (Aurora's readers refuse writes too)    |

The writer's URI is composed by the entrypoint from the rendered parts; how it composes the
reader's from MLFLOW_DB_READER_HOST is tested in images/tracking-server/test_entrypoint.py.
The database server counts each user's statements: MariaDB's user statistics (userstat),
PostgreSQL's statement log for the two test roles only (ALTER ROLE ... SET log_statement).
"""
import importlib.util
import json
import os
import re
import secrets
import subprocess
import time
from pathlib import Path

import pytest
import requests

from conftest import BACKEND, ENTRYPOINT, OUT, PG_ADMIN, PG_ENV, MlflowServer, Redacted, _mysql_admin, _psql, require
from test_server_lifecycle import Database, MysqlCounters, public_host, server_env

READS = 10


@pytest.fixture(scope="module")
def replica_env():
    path = OUT / "aws-env-replica.json"
    require(path.exists(), f"{path} not rendered (run e2e/run)")
    data = json.loads(path.read_text())
    assert data["backend"] == BACKEND and data["config"]["dbReaderInstances"] == "1"
    env = data["environment"]
    # The cluster's reader endpoint (the mocks' readerEndpoint), beside the writer's cluster endpoint.
    assert re.fullmatch(r"[a-z0-9-]+\.cluster-ro-[a-z0-9]+\.[a-z0-9-]+\.rds\.amazonaws\.com", env["MLFLOW_DB_READER_HOST"]), env["MLFLOW_DB_READER_HOST"]
    assert env["MLFLOW_DB_HOST"] == env["MLFLOW_DB_READER_HOST"].replace(".cluster-ro-", ".cluster-", 1)
    assert "MLFLOW_READ_REPLICA_BACKEND_STORE_URI" not in env, "the entrypoint composes it, the task definition holds no URI"
    return Redacted(env)


class Reader:
    """A SELECT-only user on the writer's database: the stand-in for the reader endpoint."""

    def __init__(self, db):
        self.db = db
        self.user = f"{db.user}_ro"
        self.password = "r@o:x%/" + secrets.token_urlsafe(12)

    def create(self):
        if BACKEND == "mysql":
            conn = _mysql_admin()
            with conn.cursor() as cur:
                cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (self.user, self.password))
                cur.execute(f"GRANT SELECT ON `{self.db.name}`.* TO %s@'%%'", (self.user,))
            conn.close()
        else:
            password = self.password.replace("'", "''")
            r = _psql(f"CREATE ROLE \"{self.user}\" LOGIN PASSWORD '{password}'")
            assert r.returncode == 0, r.stderr
            # MLflow's schema upgrade creates the tables as the writer, after this; in the writer's database.
            r = subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-U", PG_ADMIN, "-d", self.db.name, "-tAc",
                                f'ALTER DEFAULT PRIVILEGES FOR ROLE "{self.db.user}" IN SCHEMA public GRANT SELECT ON TABLES TO "{self.user}"'],
                               env={**os.environ, **PG_ENV}, capture_output=True, text=True, timeout=60)
            assert r.returncode == 0, r.stderr
        return self

    def drop(self):
        if BACKEND == "mysql":
            conn = _mysql_admin()
            with conn.cursor() as cur:
                cur.execute("DROP USER IF EXISTS %s@'%%'", (self.user,))
            conn.close()
        else:
            # The default privileges live in the writer's database, dropped with it first.
            _psql(f'DROP ROLE IF EXISTS "{self.user}"')

    def uri(self):
        """Composed by the entrypoint's own function, as the writer's is: only user and password differ."""
        spec = importlib.util.spec_from_file_location("entrypoint", ENTRYPOINT)
        entrypoint = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(entrypoint)
        return entrypoint.compose_backend_store_uri({
            "MLFLOW_DB_ENGINE": BACKEND, "MLFLOW_DB_HOST": self.db.host, "MLFLOW_DB_PORT": str(self.db.port),
            "MLFLOW_DB_NAME": self.db.name, "MLFLOW_DB_USER": self.user, "MLFLOW_DB_PASSWORD": self.password})


@pytest.fixture
def writer_and_reader():
    db = Database("replica")
    reader = Reader(db)
    try:
        db.create()
        yield db, reader.create()
    finally:
        db.drop()
        reader.drop()


# --- statements per user, as the database server counts them ------------------------------

class PostgresStatementLog:
    """PostgreSQL logs every statement of the two test roles; counted per role from the server's log."""

    def __init__(self, users, database):
        self.users, self.database = users, database

    def __enter__(self):
        path = os.environ.get("E2E_PG_LOG") or self._log_path()
        require(path is not None and os.access(path, os.R_OK),
                f"PostgreSQL's log ({path}) is not readable here: set E2E_PG_LOG to it")
        self.path = Path(path)
        for user in self.users:
            r = _psql(f'ALTER ROLE "{user}" SET log_statement = \'all\'')
            assert r.returncode == 0, r.stderr
        return self

    def __exit__(self, *exc):
        pass  # the roles are dropped with the test

    @staticmethod
    def _log_path():
        r = _psql("SHOW data_directory")
        pid_file = Path(r.stdout.strip()) / "postmaster.pid"
        try:
            pid = pid_file.read_text().split("\n", 1)[0].strip()
            return os.path.realpath(f"/proc/{pid}/fd/2")
        except OSError:
            return None

    def mark(self):
        return self.path.stat().st_size

    def totals(self, since):
        with self.path.open("rb") as f:
            f.seek(since)
            text = f.read().decode("utf-8", "replace")
        out = {}
        for user in self.users:
            kinds = re.findall(rf" {re.escape(user)}@{re.escape(self.database)} LOG:  statement: (\w+)", text)
            out[user] = {"selects": sum(k.upper() == "SELECT" for k in kinds),
                         "writes": sum(k.upper() in ("INSERT", "UPDATE", "DELETE") for k in kinds),
                         "all": len(kinds)}
        return out


class MysqlStatementCounts:
    """MariaDB's USER_STATISTICS for the two users (SELECT_COMMANDS; UPDATE_COMMANDS = INSERT/UPDATE/DELETE)."""

    def __init__(self, users):
        self.counters = [MysqlCounters(u) for u in users]

    def __enter__(self):
        self.counters[0].__enter__()
        return self

    def __exit__(self, *exc):
        self.counters[0].__exit__(*exc)

    def mark(self):
        return {c.user: c.totals() for c in self.counters}

    def totals(self, since):
        out = {}
        for c in self.counters:
            now, then = c.totals(), since[c.user]
            out[c.user] = {"selects": now["selects"] - then["selects"], "writes": now["updates"] - then["updates"],
                           "all": sum(now[k] - then[k] for k in ("selects", "updates", "other_statements"))}
        return out


def statement_counts(db, reader):
    users = [db.user, reader.user]
    return MysqlStatementCounts(users) if BACKEND == "mysql" else PostgresStatementLog(users, db.name)


def _settled(counts, mark):
    """Counts since `mark` once they stop moving (PostgreSQL writes its log asynchronously)."""
    last = None
    for _ in range(20):
        now = counts.totals(mark)
        if now == last:
            return now
        last = now
        time.sleep(0.25)
    return last


def _write(server, host):
    api = f"{server.url}/api/2.0/mlflow"
    post = lambda path, body: requests.post(f"{api}/{path}", json=body, headers={"Host": host}, timeout=30)  # noqa: E731
    r = post("experiments/create", {"name": f"replica-{secrets.token_hex(4)}"})
    assert r.status_code == 200, r.text[:300]
    experiment_id = r.json()["experiment_id"]
    runs = []
    for i in range(3):
        r = post("runs/create", {"experiment_id": experiment_id, "start_time": int(time.time() * 1000)})
        assert r.status_code == 200, r.text[:300]
        run_id = r.json()["run"]["info"]["run_id"]
        r = post("runs/log-batch", {"run_id": run_id, "params": [{"key": "lr", "value": str(i)}], "tags": [{"key": "team", "value": "replica"}],
                                    "metrics": [{"key": "loss", "value": 1.0 / (i + 1), "timestamp": 0, "step": s} for s in range(5)]})
        assert r.status_code == 200, r.text[:300]
        runs.append(run_id)
    # A registry write too (its store, made on a worker's first registry request, checks the schema on both engines).
    r = post("registered-models/create", {"name": f"replica-{experiment_id}"})
    assert r.status_code == 200, r.text[:300]
    return experiment_id, runs


def _read(server, host, experiment_id, runs, counts):
    """What a client's searches and the UI's pages ask (the UI calls the same handlers under /ajax-api)."""
    per_call = []
    for i in range(READS):
        prefix = "ajax-api" if i % 2 else "api"
        base = f"{server.url}/{prefix}/2.0/mlflow"
        for method, path, body in (
            ("post", "runs/search", {"experiment_ids": [experiment_id], "filter": "params.lr = '1' and tags.team = 'replica'"}),
            ("post", "experiments/search", {"max_results": 10}),
            ("get", "runs/get", {"run_id": runs[i % len(runs)]}),
            ("get", "metrics/get-history", {"run_id": runs[i % len(runs)], "metric_key": "loss"}),
            ("get", "registered-models/search", {"max_results": 10}),
            ("get", "registered-models/get", {"name": f"replica-{experiment_id}"}),
        ):
            kw = {"json": body} if method == "post" else {"params": body}
            mark = counts.mark()
            r = getattr(requests, method)(f"{base}/{path}", headers={"Host": host}, timeout=30, **kw)
            per_call.append((i, path, counts.totals(mark)))  # which call touched which user, for the record
            assert r.status_code == 200, (path, r.text[:300])
            if path == "runs/search":
                assert len(r.json()["runs"]) == 1, r.text[:300]
    return per_call


def test_searches_and_ui_reads_go_to_the_reader_and_writes_to_the_writer(replica_env, writer_and_reader, artifact_store):
    db, reader = writer_and_reader
    env = server_env(replica_env, db, artifact_store)
    env.pop("MLFLOW_DB_READER_HOST")
    env["MLFLOW_READ_REPLICA_BACKEND_STORE_URI"] = reader.uri()
    host = public_host(replica_env)
    server = MlflowServer(env, name="mlflow-replica")
    with statement_counts(db, reader) as counts:
        try:
            server.start()
            time.sleep(2)  # startup's schema checks on both engines end
            mark = counts.mark()
            experiment_id, runs = _write(server, host)
            writes = _settled(counts, mark)
            mark = counts.mark()
            per_call = _read(server, host, experiment_id, runs, counts)
            reads = _settled(counts, mark)
        finally:
            server.proc.stop()
    (OUT / "read-replica-counters.json").write_text(json.dumps({"reads_per_kind": READS, "write_phase": writes, "read_phase": reads, "per_call": per_call}, indent=2))
    w, r = db.user, reader.user
    # Writes reach the writer only; the reader user could not write anyway (SELECT only).
    assert writes[w]["writes"] > 0 and writes[r]["writes"] == 0, writes
    # Every search and page read ran on the reader; the writer saw no statement at all meanwhile.
    assert [c for c in per_call if c[2][w]["all"]] == [], "reads that reached the writer"
    assert [c for c in per_call if not c[2][r]["selects"]] == [], "reads that the reader did not serve"
    assert reads[r]["selects"] >= 7 * READS, reads
    assert reads[w]["all"] == 0, reads
    assert reads[r]["writes"] == 0, reads


def _connect(db, user, password):
    if BACKEND == "mysql":
        import pymysql
        return pymysql.connect(host=db.host, port=db.port, user=user, password=password, database=db.name, autocommit=True)
    import psycopg2
    conn = psycopg2.connect(host=db.host, port=db.port, user=user, password=password, dbname=db.name)
    conn.autocommit = True
    return conn


def test_the_reader_user_reads_but_cannot_write(writer_and_reader):
    """The stand-in is as read-only as an Aurora reader: it reads the writer's table, its writes are refused."""
    db, reader = writer_and_reader
    writer = _connect(db, db.user, db.password)
    with writer.cursor() as cur:
        cur.execute("CREATE TABLE probe (x INT)")
        cur.execute("INSERT INTO probe VALUES (1)")
    writer.close()
    conn = _connect(db, reader.user, reader.password)
    denied = []
    for sql in ("INSERT INTO probe VALUES (2)", "UPDATE probe SET x = 3", "DELETE FROM probe", "CREATE TABLE probe2 (x INT)"):
        try:
            with conn.cursor() as cur:
                cur.execute(sql)
        except Exception as e:  # noqa: BLE001 - the driver's permission error, whatever its class
            denied.append(("denied" in str(e).lower() or "permission" in str(e).lower(), sql))
    with conn.cursor() as cur:
        cur.execute("SELECT x FROM probe")
        rows = cur.fetchall()
    conn.close()
    assert [list(r) for r in rows] == [[1]]
    assert denied == [(True, sql) for sql in ("INSERT INTO probe VALUES (2)", "UPDATE probe SET x = 3", "DELETE FROM probe", "CREATE TABLE probe2 (x INT)")], denied
