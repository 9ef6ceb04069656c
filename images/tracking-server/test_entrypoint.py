"""Tests of the image's entrypoint, run by `npm run test:e2e` in the image's own Python environment."""
import contextlib
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from moto import mock_aws
from sqlalchemy.engine import make_url

import entrypoint

PARTS = {
    "MLFLOW_DB_ENGINE": "mysql",
    "MLFLOW_DB_HOST": "cluster.example.eu-west-1.rds.amazonaws.com",
    "MLFLOW_DB_NAME": "mlflow",
    "MLFLOW_DB_USER": "mlflow_admin",
    "MLFLOW_DB_PASSWORD": "p@ss:w%rd/#?&=+ ü",
}


def test_a_given_uri_is_used_as_is():
    assert entrypoint.compose_backend_store_uri({"MLFLOW_BACKEND_STORE_URI": "sqlite:///x.db", **PARTS}) == "sqlite:///x.db"


@pytest.mark.parametrize("engine,driver,port", [("mysql", "mysql+pymysql", 3306), ("postgres", "postgresql+psycopg2", 5432)])
def test_parts_compose_a_uri_sqlalchemy_reads_back_exactly(engine, driver, port):
    url = make_url(entrypoint.compose_backend_store_uri({**PARTS, "MLFLOW_DB_ENGINE": engine}))
    assert url.drivername == driver
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "mlflow_admin", PARTS["MLFLOW_DB_PASSWORD"], PARTS["MLFLOW_DB_HOST"], port, "mlflow")


def test_mysql_connects_in_utf8mb4():
    assert make_url(entrypoint.compose_backend_store_uri(PARTS)).query == {"charset": "utf8mb4"}


def test_missing_parts_are_named():
    with pytest.raises(SystemExit, match="MLFLOW_DB_PASSWORD"):
        entrypoint.compose_backend_store_uri({k: v for k, v in PARTS.items() if k != "MLFLOW_DB_PASSWORD"})


def test_an_unknown_engine_is_refused():
    with pytest.raises(SystemExit, match="MLFLOW_DB_ENGINE must be one of"):
        entrypoint.compose_backend_store_uri({**PARTS, "MLFLOW_DB_ENGINE": "oracle"})


SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def watch(argv, client, arn, interval):
    """As main() runs it: note the current version, start the server, watch."""
    started_with = entrypoint.current_secret_version(client, arn)
    return entrypoint.watch_until_secret_rotates(subprocess.Popen(argv), client, arn, started_with, interval)


@pytest.fixture
def secrets():
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-1")
        arn = client.create_secret(Name="rds!cluster-test", SecretString='{"username":"u","password":"one"}')["ARN"]
        yield client, arn


def test_the_server_is_stopped_when_the_password_rotates(secrets):
    client, arn = secrets
    result = {}
    watcher = threading.Thread(target=lambda: result.update(code=watch(SLEEPER, client, arn, 0.2)))
    started = time.monotonic()
    watcher.start()
    time.sleep(1.0)
    assert watcher.is_alive(), "the server must keep running while the secret is unchanged"
    client.put_secret_value(SecretId=arn, SecretString='{"username":"u","password":"two"}')
    watcher.join(timeout=10)
    assert not watcher.is_alive()
    assert result["code"] == 0
    assert time.monotonic() - started < 10


def test_the_servers_own_exit_code_is_passed_on(secrets):
    client, arn = secrets
    code = watch([sys.executable, "-c", "raise SystemExit(3)"], client, arn, 0.2)
    assert code == 3


def test_a_failing_secret_check_does_not_stop_the_server(secrets):
    client, arn = secrets

    class Flaky:
        calls = 0

        def describe_secret(self, SecretId):
            Flaky.calls += 1
            if Flaky.calls > 1:
                raise RuntimeError("throttled")
            return client.describe_secret(SecretId=SecretId)

    code = watch([sys.executable, "-c", "import time; time.sleep(1.5)"], Flaky(), arn, 0.2)
    assert code == 0 and Flaky.calls > 2


# --- the schema upgrade lock, against the real database servers e2e/run uses -------------------
import os
import uuid

import sqlalchemy

CI = os.environ.get("CI", "").lower() == "true"
ADMIN_URLS = {
    "mysql": os.environ.get("E2E_MYSQL_ADMIN_URL", "mysql+pymysql://root@127.0.0.1:3306/"),
    "postgres": os.environ.get("E2E_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"),
}


@pytest.fixture(params=["mysql", "postgres"])
def fresh_database_uri(request):
    """An empty database of its own on the shared server; dropped afterwards."""
    admin = sqlalchemy.create_engine(ADMIN_URLS[request.param], isolation_level="AUTOCOMMIT")
    name = f"mlflow_lock_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    except sqlalchemy.exc.OperationalError as e:
        if CI:
            pytest.fail(f"{request.param} not reachable (CI=true, so this fails): {e}")
        pytest.skip(f"{request.param} not reachable: {e}")
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name}" + (" WITH (FORCE)" if request.param == "postgres" else "")))
        admin.dispose()


def test_concurrent_upgrades_run_one_at_a_time(fresh_database_uri):
    """Four servers starting together: their upgrade steps never overlap (real advisory locks)."""
    spans, lock = [], threading.Lock()

    def slow_upgrade():
        start = time.monotonic()
        time.sleep(0.5)
        with lock:
            spans.append((start, time.monotonic()))

    threads = [threading.Thread(target=entrypoint.upgrade_schema, args=(fresh_database_uri, 30), kwargs={"upgrade": slow_upgrade})
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(spans) == 4
    spans.sort()
    overlaps = [(a, b) for a, b in zip(spans, spans[1:]) if b[0] < a[1]]
    assert overlaps == [], f"upgrades overlapped: {overlaps}"


def test_a_lock_holder_that_dies_releases_the_lock(fresh_database_uri):
    """Session locks: when the holding connection goes away, the next server proceeds."""
    engine = sqlalchemy.create_engine(fresh_database_uri)
    acquire, _release, params = entrypoint.upgrade_lock_statements(engine.dialect.name, engine.url.database)
    holder = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    assert holder.execute(sqlalchemy.text(acquire), params).scalar()
    with pytest.raises(SystemExit, match="still taken after 1 s"):
        entrypoint.upgrade_schema(fresh_database_uri, 1, upgrade=lambda: None)
    holder.close()  # as if the process holding it was killed
    engine.dispose()
    assert entrypoint.upgrade_schema(fresh_database_uri, 10, upgrade=lambda: None) == (None, None)


def test_two_real_upgrades_at_once_on_an_empty_database(fresh_database_uri, capfd):
    """MLflow's own `db upgrade`, twice at once in two processes: one creates the schema, one finds it current."""
    code = ("import sys, entrypoint; "
            "before, after = entrypoint.upgrade_schema(sys.argv[1], 300); print('REVISIONS', before, after)")
    here = os.path.dirname(os.path.abspath(entrypoint.__file__))
    procs = [subprocess.Popen([sys.executable, "-c", code, fresh_database_uri], cwd=here, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    revisions = sorted(line.split()[1:] for out in outputs for line in out.splitlines() if line.startswith("REVISIONS"))
    head = revisions[0][1]
    assert revisions == [["None", head], [head, head]], outputs


def stamp(uri, revision):
    """Makes a database look like one at an MLflow schema `revision` (alembic's version table)."""
    engine = sqlalchemy.create_engine(uri)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)"))
        conn.execute(sqlalchemy.text("INSERT INTO alembic_version VALUES (:r)"), {"r": revision})
    engine.dispose()


def test_the_restore_point_is_logged_before_an_older_schema_is_upgraded(fresh_database_uri, capfd):
    """The UTC time is on stderr even when the upgrade then fails: it is the point to restore to."""
    stamp(fresh_database_uri, "older0revision")
    start = time.time()

    def failing_upgrade():
        raise RuntimeError("migration failed half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        entrypoint.upgrade_schema(fresh_database_uri, 10, upgrade=failing_upgrade, image_revision=lambda: "newer1revision")
    lines = [line for line in capfd.readouterr().err.splitlines() if "restore-to-time" in line]
    assert len(lines) == 1, lines
    at = lines[0].rsplit("--restore-to-time ", 1)[1].split(",")[0]
    logged = datetime.strptime(at, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
    # Truncated to the second, never later than the upgrade's start.
    assert start - 1 <= logged <= time.time()
    assert "older0revision is not this image's newer1revision" in lines[0]


def test_a_real_upgrade_from_the_previous_revision_logs_its_restore_point_first(fresh_database_uri, capfd):
    """MLflow's own migrations and head: a database one revision behind the image."""
    from alembic import command
    from alembic.script import ScriptDirectory
    from mlflow.store.db.utils import InitialBase, _get_alembic_config

    config = _get_alembic_config(fresh_database_uri)
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    previous = script.get_revision(head).down_revision
    assert isinstance(previous, str), previous
    # As MLflow initialises a database (mlflow/store/db/utils.py _initialize_tables), stopping one revision short.
    engine = sqlalchemy.create_engine(fresh_database_uri)
    InitialBase.metadata.create_all(engine)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, previous)
    engine.dispose()
    capfd.readouterr()
    assert entrypoint.upgrade_schema(fresh_database_uri, 300) == (previous, head)
    err = capfd.readouterr().err
    announced = err.index(f"database schema {previous} is not this image's {head}: upgrading it at ")
    assert announced < err.index(f"database schema upgraded from {previous} to {head}")


@pytest.mark.parametrize("revision", [None, "newer1revision"])
def test_no_restore_point_for_an_empty_or_current_schema(fresh_database_uri, capfd, revision):
    if revision:
        stamp(fresh_database_uri, revision)
    entrypoint.upgrade_schema(fresh_database_uri, 10, upgrade=lambda: None, image_revision=lambda: "newer1revision")
    assert "restore" not in capfd.readouterr().err


def test_the_restore_point_is_utc_whatever_the_clock_zone():
    now = datetime(2026, 12, 7, 19, 45, 30, 999999, tzinfo=timezone(timedelta(hours=2)))
    assert entrypoint.announce_upgrade("a", "b", now=now) == "2026-12-07T17:45:30Z"
    assert entrypoint.announce_upgrade("b", "b", now=now) is None


@pytest.mark.parametrize("engine,query,expected", [
    ("mysql", "ssl_ca=/opt/mlflow/rds-global-bundle.pem&ssl_check_hostname=true",
     {"ssl": {"ca": "/opt/mlflow/rds-global-bundle.pem", "check_hostname": True}}),
    ("postgres", "sslmode=verify-full&sslrootcert=/opt/mlflow/rds-global-bundle.pem",
     {"sslmode": "verify-full", "sslrootcert": "/opt/mlflow/rds-global-bundle.pem"}),
])
def test_tls_query_reaches_the_driver(engine, query, expected):
    """The rendered TLS query (components/backendStore/aurora.ts) becomes the driver's own TLS settings."""
    uri = entrypoint.compose_backend_store_uri({**PARTS, "MLFLOW_DB_ENGINE": engine, "MLFLOW_DB_TLS_QUERY": query})
    engine_ = sqlalchemy.create_engine(uri)
    _args, kwargs = engine_.dialect.create_connect_args(engine_.url)
    for key, value in expected.items():
        assert kwargs[key] == value, (key, kwargs.get(key))
    if engine == "mysql":
        assert kwargs["charset"] == "utf8mb4"


def test_without_a_tls_query_the_uri_is_unchanged():
    assert make_url(entrypoint.compose_backend_store_uri(PARTS)).query == {"charset": "utf8mb4"}


# --- the read replica (Aurora readers) ------------------------------------------------------

def test_no_reader_host_means_no_read_replica():
    assert entrypoint.compose_read_replica_uri(PARTS) is None


@pytest.mark.parametrize("engine", ["mysql", "postgres"])
def test_the_reader_uri_is_the_writers_with_the_reader_host(engine):
    tls = "ssl_ca=/opt/mlflow/rds-global-bundle.pem&ssl_check_hostname=true" if engine == "mysql" else "sslmode=verify-full&sslrootcert=/opt/mlflow/rds-global-bundle.pem"
    env = {**PARTS, "MLFLOW_DB_ENGINE": engine, "MLFLOW_DB_TLS_QUERY": tls, "MLFLOW_DB_READER_HOST": "db.cluster-ro-abc.eu-west-1.rds.amazonaws.com"}
    writer, reader = make_url(entrypoint.compose_backend_store_uri(env)), make_url(entrypoint.compose_read_replica_uri(env))
    assert writer.host == PARTS["MLFLOW_DB_HOST"] and reader.host == env["MLFLOW_DB_READER_HOST"]
    # Same user, password (percent-decoded back exactly), database, port, TLS query.
    assert reader._replace(host=writer.host) == writer


def test_a_given_read_replica_uri_is_used_as_is():
    given = "postgresql://reader:pw@replica:5432/mlflow"
    assert entrypoint.compose_read_replica_uri({**PARTS, "MLFLOW_READ_REPLICA_BACKEND_STORE_URI": given, "MLFLOW_DB_READER_HOST": "x"}) == given


def test_a_reader_host_without_the_writers_parts_is_refused():
    with pytest.raises(SystemExit, match="MLFLOW_DB_PASSWORD"):
        entrypoint.compose_read_replica_uri({k: v for k, v in {**PARTS, "MLFLOW_DB_READER_HOST": "r"}.items() if k != "MLFLOW_DB_PASSWORD"})

# --- the server process: the entrypoint becomes it, no `mlflow server` launcher stays behind -----
import socket
import urllib.request
from pathlib import Path


def children(pid):
    """Live (non-zombie) descendants of pid, from /proc."""
    by_parent = {}
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                by_parent.setdefault(int(fields[1]), []).append(int(p.name))
    out, todo = [], [pid]
    while todo:
        for c in by_parent.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def cmdline(pid):
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


@pytest.fixture
def started_server(tmp_path):
    """Starts the entrypoint on a SQLite store with the given job execution; stops its tree afterwards."""
    procs = []

    def start(job_execution):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env.update({
            "MLFLOW_BACKEND_STORE_URI": f"sqlite:///{tmp_path}/mlflow-{job_execution}.db", "MLFLOW_HOST": "127.0.0.1",
            "MLFLOW_PORT": str(port), "MLFLOW_WORKERS": "1", "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": str(job_execution).lower(),
            "MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS": "false", "MLFLOW_ARTIFACTS_DESTINATION": f"file://{tmp_path}/artifacts",
            "MLFLOW_SERVE_ARTIFACTS": "true", "PATH": f"{os.path.dirname(sys.executable)}:{env.get('PATH', '')}",
        })
        proc = subprocess.Popen([sys.executable, entrypoint.__file__], env=env, cwd=tmp_path, start_new_session=True,
                                stdout=open(tmp_path / f"server-{job_execution}.log", "wb"), stderr=subprocess.STDOUT)
        procs.append(proc)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                if urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=3).status == 200:
                    return proc
            except OSError:
                time.sleep(0.5)
        pytest.fail(f"the server did not answer /health: {(tmp_path / f'server-{job_execution}.log').read_text()[-2000:]}")

    yield start
    for proc in procs:
        for pid in [proc.pid] + children(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, 9)
        proc.wait(timeout=30)


def test_without_job_execution_the_entrypoint_is_the_one_server_process(started_server):
    proc = started_server(False)
    # One worker: uvicorn serves in this very process; the `mlflow server` launcher would be a parent of it.
    assert " -m uvicorn " in cmdline(proc.pid), cmdline(proc.pid)
    assert children(proc.pid) == [], [cmdline(c) for c in children(proc.pid)]


def test_with_job_execution_the_job_runner_watches_the_server_process(started_server):
    proc = started_server(True)
    assert " -m uvicorn " in cmdline(proc.pid), cmdline(proc.pid)
    runners = [c for c in children(proc.pid) if "mlflow.server.jobs._job_runner" in cmdline(c)]
    assert len(runners) == 1, [cmdline(c) for c in children(proc.pid)]
    environ = dict(v.split("=", 1) for v in Path(f"/proc/{runners[0]}/environ").read_bytes().decode().split("\0") if "=" in v)
    # The runner stops when the process it watches dies: that must be the server, not a launcher that exec'd away.
    assert environ["MLFLOW_SERVER_PID"] == str(proc.pid)


def test_a_synchronous_command_is_refused(monkeypatch):
    import mlflow.server

    monkeypatch.setattr(mlflow.server, "_exec_cmd", mlflow.server._exec_cmd)

    def cli_main(args, prog_name):
        assert args == ["server"] and prog_name == "mlflow"
        mlflow.server._exec_cmd(["ls"])

    with pytest.raises(RuntimeError, match="unexpected synchronous command"):
        entrypoint.become_mlflow_server(cli_main)


def test_the_prometheus_directory_starts_empty_of_earlier_processes_counters(tmp_path):
    metrics = tmp_path / "prometheus"
    metrics.mkdir()
    (metrics / "counter_41.db").write_bytes(b"stale")
    (metrics / "histogram_42.db").write_bytes(b"stale")
    (metrics / "README").write_text("not prometheus_client's")
    entrypoint.reset_prometheus_dir(str(metrics))
    assert sorted(p.name for p in metrics.iterdir()) == ["README"]


def test_a_missing_prometheus_directory_is_created_and_none_is_left_alone(tmp_path):
    entrypoint.reset_prometheus_dir(str(tmp_path / "new"))
    assert (tmp_path / "new").is_dir()
    entrypoint.reset_prometheus_dir(None)
    entrypoint.reset_prometheus_dir("")
