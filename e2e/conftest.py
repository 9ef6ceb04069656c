"""End-to-end harness: runs the rendered local-target configuration on this host.

The spec (e2e/out/<backend>/spec.json) holds every docker Container's inputs exactly as the
Pulumi program hands them to the Docker provider (see render-spec.ts). Each container is
replaced by a host process or a host service, and only addresses are rewritten:

| container role  | stands in here                        | rewritten (and nothing else)                          |
|-----------------|---------------------------------------|-------------------------------------------------------|
| backend-store   | local MariaDB 10.11 / PostgreSQL 15   | db/user names get a per-run suffix (shared servers);  |
|                 |                                       | MLFLOW_BACKEND_STORE_URI host db -> 127.0.0.1 and the |
|                 |                                       | same suffixed names (password kept as rendered)       |
| artifact-store  | moto_server (S3 + IAM, auth enforced) | http://minio:9000 -> http://127.0.0.1:<free port>     |
| bucket-init     | boto3 calls doing what the mc script  | MinIO root -> a moto admin user; moto generates the   |
|                 | does (bucket, policy from the script, | MLflow identity's key pair, substituted for           |
|                 | user, attach)                         | MLFLOW_ACCESS_KEY/SECRET in MLflow's AWS_* variables   |
| tracking-server | python images/tracking-server/        | MLFLOW_HOST 0.0.0.0 -> 127.0.0.1, MLFLOW_PORT -> free |
|                 | entrypoint.py (the image's entrypoint)| port, endpoint/URI/keys as above,                     |
|                 |                                       | MLFLOW_EXPOSE_PROMETHEUS -> a directory per server    |
| auth-proxy      | Debian nginx with a wrapper main conf | `server mlflow:5000` -> 127.0.0.1:<mlflow port>,      |
|                 | that includes the rendered default.conf| `listen 8080` -> 127.0.0.1:<free port>, htpasswd path |
|                 |                                       | -> a temp copy of the rendered htpasswd upload (and   |
|                 |                                       | the scraper's), access_log /dev/stdout -> out/ files  |

Secrets from the spec are never printed; logs of every process go to e2e/out/<backend>/.
"""
import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit

import pytest
import requests

E2E = Path(__file__).resolve().parent
REPO = E2E.parent
ENTRYPOINT_IN_IMAGE = "/opt/mlflow/entrypoint.py"
ENTRYPOINT = REPO / "images" / "tracking-server" / "entrypoint.py"
CI = os.environ.get("CI", "").lower() == "true"
BACKEND = os.environ.get("E2E_BACKEND", "mysql")
OUT = Path(os.environ.get("E2E_OUT", E2E / "out" / BACKEND)).resolve()
SPEC_FILE = Path(os.environ.get("E2E_SPEC", OUT / "spec.json")).resolve()
RUN_SUFFIX = uuid.uuid4().hex[:8]
MINIO_URL = "http://minio:9000"  # MinIO's S3 API on the Docker network (alias minio, port 9000)


class Redacted(dict):
    """A dict whose repr never shows values: pytest prints fixture values in tracebacks."""

    def __repr__(self):
        return f"<redacted {sorted(self)}>"


class RedactedPair(tuple):
    def __repr__(self):
        return "<redacted credentials>"


def s3_error_code(call, **kw):
    """The S3 error code of a boto3 call, or "OK"."""
    from botocore.exceptions import ClientError
    try:
        call(**kw)
        return "OK"
    except ClientError as e:
        return e.response["Error"]["Code"]


def require(condition, message):
    """A missing prerequisite fails under CI=true and skips elsewhere."""
    if not condition:
        if CI:
            pytest.fail(f"prerequisite missing (CI=true, so this fails): {message}", pytrace=False)
        pytest.skip(message)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what, check, timeout, interval=0.5, proc=None, log=None):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: process exited with {proc.returncode}; see {log}")
        try:
            if check():
                return
        except Exception as e:  # noqa: BLE001 - keep polling until the deadline
            last = e
        time.sleep(interval)
    raise TimeoutError(f"{what}: not ready after {timeout}s (last error: {last!r}); see {log}")


def env_dict(container):
    out = {}
    for item in container["inputs"].get("envs") or []:
        k, _, v = item.partition("=")
        out[k] = v
    return out


def upload(container, suffix):
    for u in container["inputs"].get("uploads") or []:
        if u["file"].endswith(suffix):
            return u
    raise KeyError(f"{container['name']}: no upload ending with {suffix}")


# --- process handling --------------------------------------------------------------------

def descendants(pid):
    """All live descendants of pid, from /proc (uvicorn workers, reloader children...)."""
    children = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            stat = (p / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(p.name))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


class Proc:
    """A child process in its own session/process group, logging to a file."""

    def __init__(self, name, argv, env, cwd=None):
        self.name, self.argv, self.env, self.cwd = name, argv, env, cwd
        self.log = OUT / f"{name}.log"
        self.popen = None

    def start(self):
        fh = open(self.log, "ab")
        fh.write(f"\n==== start {time.strftime('%H:%M:%S')} ====\n".encode())
        fh.flush()
        self.popen = subprocess.Popen(self.argv, env=self.env, cwd=self.cwd, stdout=fh, stderr=subprocess.STDOUT,
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        fh.close()
        return self

    @property
    def pid(self):
        return self.popen.pid

    def tree(self):
        return [self.popen.pid] + descendants(self.popen.pid)

    def kill9(self):
        """SIGKILL the whole tree (process group plus any descendant that left it)."""
        pids = self.tree()
        _signal_group(self.popen.pid, signal.SIGKILL)
        _signal_each(pids, signal.SIGKILL)
        self.popen.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() and not _zombie(p) for p in pids):
            time.sleep(0.2)

    def stop(self):
        if self.popen is None or self.popen.poll() is not None:
            return
        pids = self.tree()
        _signal_group(self.popen.pid, signal.SIGTERM)
        try:
            self.popen.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        _signal_each(pids, signal.SIGKILL)
        _signal_group(self.popen.pid, signal.SIGKILL)
        self.popen.wait(timeout=20)


def _signal_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass


def _signal_each(pids, sig):
    for p in pids:
        try:
            os.kill(p, sig)
        except ProcessLookupError:
            pass


def _zombie(pid):
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


# --- spec --------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def spec():
    require(SPEC_FILE.exists(), f"spec {SPEC_FILE} not rendered (run e2e/run)")
    data = json.loads(SPEC_FILE.read_text())
    assert data["backend"] == BACKEND, f"spec is for {data['backend']}, E2E_BACKEND={BACKEND}"
    by_role = {}
    for c in data["containers"]:
        if c["role"] == "project-database" and is_auth_db_init(data, c):
            continue  # the auth app's database (team accounts): auth_db_uri() runs it
        if is_backup(c):
            continue  # the backup's containers: test_backup.py runs them (backup_e2e.py)
        assert c["role"] not in by_role, f"two containers with role {c['role']}"
        by_role[c["role"]] = c
    assert set(by_role) == {"artifact-store", "bucket-init", "backend-store", "tracking-server", "auth-proxy", "garbage-collection"}, sorted(by_role)
    data["by_role"] = by_role
    return Redacted(data)


@pytest.fixture(scope="session")
def mlflow_env_rendered(spec):
    c = spec["by_role"]["tracking-server"]
    assert c["inputs"].get("entrypoints") == ["python", ENTRYPOINT_IN_IMAGE], c["inputs"].get("entrypoints")
    return Redacted(env_dict(c))


# --- backend store -----------------------------------------------------------------------

def _mysql_admin():
    import pymysql
    return pymysql.connect(host=os.environ.get("E2E_MYSQL_HOST", "127.0.0.1"), port=int(os.environ.get("E2E_MYSQL_PORT", "3306")),
                           user=os.environ.get("E2E_MYSQL_ADMIN", "root"), password=os.environ.get("E2E_MYSQL_ADMIN_PASSWORD", ""),
                           autocommit=True, connect_timeout=10)


PG_ENV = {"PGHOST": os.environ.get("E2E_PG_HOST", "127.0.0.1"), "PGPORT": os.environ.get("E2E_PG_PORT", "5432"),
          "PGCONNECT_TIMEOUT": "10"}
PG_ADMIN = os.environ.get("E2E_PG_ADMIN", "postgres")


def _psql(sql):
    env = {**os.environ, **PG_ENV}
    return subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-U", PG_ADMIN, "-d", "postgres", "-tAc", sql],
                          env=env, capture_output=True, text=True, timeout=60)


@contextlib.contextmanager
def non_superuser_admin(user):
    """A per-run database admin that, like Aurora's master user, is not a superuser (PostgreSQL:
    CREATEROLE CREATEDB; MySQL: all privileges with grant option); dropped afterwards."""
    import secrets as pysecrets
    password = "m@s:t%r" + pysecrets.token_urlsafe(12)
    if BACKEND == "mysql":
        try:
            conn = _mysql_admin()
        except Exception as e:  # noqa: BLE001
            require(False, f"MariaDB/MySQL not reachable: {e}")
        with conn.cursor() as cur:
            cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (user, password))
            cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO '{user}'@'%' WITH GRANT OPTION")
        conn.close()
    else:
        require(_psql("select 1").returncode == 0, "PostgreSQL not reachable")
        r = _psql(f"CREATE ROLE \"{user}\" LOGIN CREATEROLE CREATEDB PASSWORD '{password}'")
        assert r.returncode == 0, r.stderr
    try:
        yield Redacted({"user": user, "password": password})
    finally:
        if BACKEND == "mysql":
            conn = _mysql_admin()
            with conn.cursor() as cur:
                cur.execute("DROP USER IF EXISTS %s@'%%'", (user,))
            conn.close()
        else:
            _psql(f'DROP OWNED BY "{user}"')
            _psql(f'DROP ROLE IF EXISTS "{user}"')


@pytest.fixture(scope="session")
def database(spec, mlflow_env_rendered):
    """Creates the app database and user as the backend-store container would, uniquely named.

    Returns the MLflow backend store URI rewritten for this host. Dropped at the end.
    """
    from sqlalchemy.engine import make_url

    c = spec["by_role"]["backend-store"]
    env = env_dict(c)
    uri = make_url(mlflow_env_rendered["MLFLOW_BACKEND_STORE_URI"])
    assert uri.host == "db", uri.host
    if BACKEND == "mysql":
        assert uri.drivername == "mysql+pymysql" and uri.port == 3306, uri.drivername
        name, user, password = env["MYSQL_DATABASE"], env["MYSQL_USER"], env["MYSQL_PASSWORD"]
        assert env["MYSQL_ROOT_PASSWORD"] and env["MYSQL_ROOT_PASSWORD"] != password
        flags = dict(a.lstrip("-").split("=", 1) for a in c["inputs"].get("command") or [] if "=" in a)
        charset, collation = flags["character-set-server"], flags["collation-server"]
    else:
        assert uri.drivername == "postgresql+psycopg2" and uri.port == 5432, uri.drivername
        name, user, password = env["MLFLOW_DB_NAME"], env["MLFLOW_DB_USER"], env["MLFLOW_DB_PASSWORD"]
        assert env["POSTGRES_USER"] != user, "the app role must not be the superuser"
    # The URI MLflow gets must carry exactly the credentials the database container creates:
    # parsed the way MLflow parses it (SQLAlchemy), so URL-encoding mistakes show up here.
    if (uri.username, uri.password, uri.database) != (user, password, name):
        pytest.fail("backend URI (as SQLAlchemy parses it) and the database container's env disagree", pytrace=False)

    # Shared servers: suffix names per run instead of drop-and-recreate.
    run_name, run_user = f"{name}_{RUN_SUFFIX}", f"{user}_{RUN_SUFFIX}"
    def drop():
        # Runs even when creation failed halfway; IF EXISTS keeps it harmless.
        if BACKEND == "mysql":
            conn = _mysql_admin()
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{run_name}`")
                cur.execute("DROP USER IF EXISTS %s@'%%'", (run_user,))
            conn.close()
        else:
            _psql(f'DROP DATABASE IF EXISTS "{run_name}" WITH (FORCE)')
            _psql(f'DROP ROLE IF EXISTS "{run_user}"')

    if BACKEND == "mysql":
        try:
            conn = _mysql_admin()
        except Exception as e:  # noqa: BLE001
            require(False, f"MariaDB/MySQL not reachable: {e}")
    else:
        probe = _psql("select 1")
        require(probe.returncode == 0, f"PostgreSQL not reachable: {probe.stderr.strip()}")
    try:
        if BACKEND == "mysql":
            with conn.cursor() as cur:
                # This mirrors the official mysql image's entrypoint for MYSQL_DATABASE / MYSQL_USER /
                # MYSQL_PASSWORD: database with the server's charset/collation flags, user '%'
                # identified by the password, ALL on that database only.
                cur.execute(f"CREATE DATABASE `{run_name}` CHARACTER SET {charset} COLLATE {collation}")
                cur.execute("CREATE USER %s@'%%' IDENTIFIED BY %s", (run_user, password))
                cur.execute(f"GRANT ALL ON `{run_name}`.* TO %s@'%%'", (run_user,))
            host, port = conn.host, conn.port
            conn.close()
        else:
            script = OUT / "10-mlflow.sh"
            script.write_text(upload(c, "/docker-entrypoint-initdb.d/10-mlflow.sh")["content"])
            # Run the rendered init script for real, with the container's env (names suffixed).
            run_env = {**os.environ, **PG_ENV, **env, "POSTGRES_USER": PG_ADMIN, "POSTGRES_DB": "postgres",
                       "MLFLOW_DB_NAME": run_name, "MLFLOW_DB_USER": run_user}
            r = subprocess.run(["sh", str(script)], env=run_env, capture_output=True, text=True, timeout=120)
            (OUT / "postgres-init.log").write_text(r.stdout + r.stderr)
            assert r.returncode == 0, f"rendered init script failed, see {OUT / 'postgres-init.log'}"
            host, port = PG_ENV["PGHOST"], int(PG_ENV["PGPORT"])

        rewritten = uri.set(host=host, port=port, username=run_user, database=run_name)
        yield Redacted({"uri": rewritten.render_as_string(hide_password=False), "name": run_name, "user": run_user,
                        "password": password})
    finally:
        drop()


# --- the auth app's database (team accounts) ------------------------------------------------

AUTH_DB_URI = "MLFLOW_PLATFORM_AUTH_DB_URI"


def is_auth_db_init(spec, c):
    """The one-shot container that creates the database MLFLOW_PLATFORM_AUTH_DB_URI names."""
    from sqlalchemy.engine import make_url

    for t in spec["containers"]:
        uri = env_dict(t).get(AUTH_DB_URI) if t["role"] == "tracking-server" else None
        if uri and env_dict(c).get("MLFLOW_DB_NAME") == make_url(uri).database:
            return True
    return False


def is_backup(c):
    """The backup's containers (components/backup): its user and identity inits, its two loops."""
    return c["role"] in ("backup-init", "backup")


def grant_name(name):
    """The database as a MySQL GRANT names it: `_` and `%` escaped (backendStore/database.ts mysqlGrantDatabase)."""
    return name.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


def rename_db(text, renames):
    """Rewrites database and user names in rendered SQL, in their escaped (GRANT) form and plain,
    in one pass (a new name contains the old one)."""
    forms = {**{grant_name(o): grant_name(n) for o, n in renames.items()}, **renames}
    pattern = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
    return re.sub(pattern, lambda m: forms[m.group(0)], text)


def drop_db(name, user):
    if BACKEND == "mysql":
        conn = _mysql_admin()
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute("DROP USER IF EXISTS %s@'%%'", (user,))
        conn.close()
    else:
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _psql(f'DROP ROLE IF EXISTS "{user}"')


def run_db_init(c, label, suffix, workdir):
    """Runs a project-database container's rendered init script for real (twice: it must be
    idempotent), against this host's server; returns (database, user, password) as created."""
    env = env_dict(c)
    assert c["inputs"]["entrypoints"] == ["/bin/sh"] and c["inputs"]["command"] == ["/init/project-db.sh"]
    assert env["DB_HOST"] == "db"
    name, user, password = env["MLFLOW_DB_NAME"], env["MLFLOW_DB_USER"], env["MLFLOW_DB_PASSWORD"]
    run_name, run_user = f"{name}_{suffix}", f"{user}_{suffix}"
    script = upload(c, "/init/project-db.sh")["content"]
    workdir.mkdir(parents=True, exist_ok=True)
    run_env = {**base_env(), "TMPDIR": str(workdir), "DB_HOST": "127.0.0.1"}
    if BACKEND == "mysql":
        require(shutil.which("mysql"), "mysql client (the init script runs it)")
        sql = upload(c, "/init/project-db.sql")["content"]
        for quoted in (f"`{name}`", f"'{user}'", f"`{grant_name(name)}`"):
            assert quoted in sql, f"{quoted} not in the rendered SQL"
        sql = rename_db(sql, {name: run_name, user: run_user})
        (workdir / "project-db.sql").write_text(sql)
        assert script.count("/init/project-db.sql") == 1
        script = script.replace("/init/project-db.sql", str(workdir / "project-db.sql"))
        run_env.update({"DB_PORT": os.environ.get("E2E_MYSQL_PORT", "3306"), "DB_ADMIN_USER": os.environ.get("E2E_MYSQL_ADMIN", "root"),
                        "DB_ADMIN_PASSWORD": os.environ.get("E2E_MYSQL_ADMIN_PASSWORD", "")})
        run_env["DB_HOST"] = os.environ.get("E2E_MYSQL_HOST", "127.0.0.1")
    else:
        require(shutil.which("psql"), "psql")
        run_env.update({**env, "DB_HOST": PG_ENV["PGHOST"], "DB_PORT": PG_ENV["PGPORT"], "DB_ADMIN_USER": PG_ADMIN,
                        "MLFLOW_DB_NAME": run_name, "MLFLOW_DB_USER": run_user})
    (workdir / "project-db.sh").write_text(script)
    for attempt in (1, 2):
        r = subprocess.run(["sh", str(workdir / "project-db.sh")], env=run_env, capture_output=True, text=True, timeout=120)
        (OUT / f"{label}-db-init.log").write_text(r.stdout + r.stderr)
        assert r.returncode == 0, f"{label} database init failed (run {attempt}), see {OUT / f'{label}-db-init.log'}"
    return run_name, run_user, password


# (key) -> (database, user): auth databases created this session, dropped at its end.
_AUTH_DBS = {}


def auth_db_uri(spec, key="main"):
    """The auth app's database for one deployment (`key`), created by the spec's rendered init
    container on this host (names suffixed), as MLflow's URI; a later spec with the same key runs
    its own init again on the same database, as `pulumi up` does. None without team accounts."""
    from sqlalchemy.engine import make_url

    server = next(c for c in spec["containers"] if c["role"] == "tracking-server" and "-project-" not in c["name"])
    rendered = env_dict(server).get(AUTH_DB_URI)
    if not rendered:
        return None
    uri = make_url(rendered)
    inits = [c for c in spec["containers"] if c["role"] == "project-database" and env_dict(c).get("MLFLOW_DB_NAME") == uri.database]
    assert len(inits) == 1, f"expected one init container for the auth database {uri.database}, found {len(inits)}"
    env = env_dict(inits[0])
    if (uri.username, uri.password, uri.host) != (env["MLFLOW_DB_USER"], env["MLFLOW_DB_PASSWORD"], "db"):
        pytest.fail("the auth database URI and its init container's env disagree", pytrace=False)
    suffix = f"{RUN_SUFFIX}a{list(_AUTH_DBS).index(key) if key in _AUTH_DBS else len(_AUTH_DBS)}"
    name, user, _ = run_db_init(inits[0], f"auth-{key}", suffix, OUT / "auth-db" / key)
    _AUTH_DBS[key] = (name, user)
    host, port = ((os.environ.get("E2E_MYSQL_HOST", "127.0.0.1"), int(os.environ.get("E2E_MYSQL_PORT", "3306"))) if BACKEND == "mysql"
                  else (PG_ENV["PGHOST"], int(PG_ENV["PGPORT"])))
    return uri.set(host=host, port=port, username=user, database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session", autouse=True)
def drop_auth_databases():
    yield
    for name, user in _AUTH_DBS.values():
        drop_db(name, user)


# --- artifact store (moto stands in for MinIO) ---------------------------------------------

def policy_from_script(script):
    m = re.search(r"<<'POLICY'\n(.*?)\nPOLICY\n", script, re.S)
    assert m, "policy heredoc not found in bucket-init script"
    return json.loads(m.group(1))


def moto_policy(policy, bucket):
    """The rendered policy as moto needs it to act like S3 on one request. S3's multi-object delete
    (POST ?delete, what MLflow's delete_artifacts sends) is authorized by S3 as s3:DeleteObject on
    each key, which the rendered policy grants; moto authorizes it as s3:DeleteObject on the
    bucket's ARN and answers every key AccessDenied otherwise. So this adds that one grant on the
    bucket ARN (meaningless on S3), nothing else."""
    extra = {"Sid": "MotoMultiObjectDelete", "Effect": "Allow", "Action": ["s3:DeleteObject"], "Resource": [f"arn:aws:s3:::{bucket}"]}
    return {**policy, "Statement": [*policy["Statement"], extra]}


@pytest.fixture(scope="session")
def artifact_store(spec):
    import boto3

    init = spec["by_role"]["bucket-init"]
    ienv = env_dict(init)
    script = upload(init, "/init/bucket-init.sh")["content"]
    (OUT / "bucket-init.sh").write_text(script)
    policy = policy_from_script(script)
    # What the mc script does, step by step, so the stand-in below does the same.
    for step in ('mc mb --ignore-existing', 'mc anonymous set private', 'mc admin policy create',
                 'mc admin user add', 'mc admin policy attach'):
        assert step in script, f"bucket-init script no longer does `{step}`: update the stand-in"
    minio_env = env_dict(spec["by_role"]["artifact-store"])
    assert ienv["MINIO_ROOT_USER"] == minio_env["MINIO_ROOT_USER"]
    if ienv["MINIO_ROOT_PASSWORD"] != minio_env["MINIO_ROOT_PASSWORD"]:
        pytest.fail("bucket-init's MINIO_ROOT_PASSWORD differs from MinIO's", pytrace=False)
    assert ienv["MINIO_ENDPOINT"] == MINIO_URL

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {**os.environ, "MOTO_PORT": str(port)}
    proc = Proc("moto", [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], env).start()
    try:
        wait_for("moto", lambda: requests.get(f"{endpoint}/moto-api/", timeout=2).status_code == 200, 60, proc=proc.popen, log=proc.log)
        region = "us-east-1"
        boot = dict(endpoint_url=endpoint, region_name=region, aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        iam = boto3.client("iam", **boot)
        s3 = boto3.client("s3", **boot)
        bucket = ienv["ARTIFACT_BUCKET"]
        other = f"e2e-other-{RUN_SUFFIX}"
        s3.create_bucket(Bucket=bucket)
        s3.create_bucket(Bucket=other)
        s3.put_object(Bucket=other, Key="secret.txt", Body=b"not for mlflow")
        # The MinIO root identity -> an admin user (moto has no root keys of its own).
        iam.create_user(UserName=ienv["MINIO_ROOT_USER"])
        iam.put_user_policy(UserName=ienv["MINIO_ROOT_USER"], PolicyName="root",
                            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        admin_key = iam.create_access_key(UserName=ienv["MINIO_ROOT_USER"])["AccessKey"]
        # MLflow's identity with exactly the rendered policy.
        arn = iam.create_policy(PolicyName=ienv["MLFLOW_POLICY_NAME"], PolicyDocument=json.dumps(policy))["Policy"]["Arn"]
        iam.create_user(UserName=ienv["MLFLOW_ACCESS_KEY"])
        iam.attach_user_policy(UserName=ienv["MLFLOW_ACCESS_KEY"], PolicyArn=arn)
        key = iam.create_access_key(UserName=ienv["MLFLOW_ACCESS_KEY"])["AccessKey"]
        # The gc's runs here: the same policy plus moto's multi-object-delete grant (moto_policy),
        # on an identity of their own, so MLflow's keeps S3's per-key semantics for the scope tests.
        gc_arn = iam.create_policy(PolicyName=ienv["MLFLOW_POLICY_NAME"] + "-moto-gc",
                                   PolicyDocument=json.dumps(moto_policy(policy, bucket)))["Policy"]["Arn"]
        iam.create_user(UserName=ienv["MLFLOW_ACCESS_KEY"] + "-moto-gc")
        iam.attach_user_policy(UserName=ienv["MLFLOW_ACCESS_KEY"] + "-moto-gc", PolicyArn=gc_arn)
        gc_key = iam.create_access_key(UserName=ienv["MLFLOW_ACCESS_KEY"] + "-moto-gc")["AccessKey"]
        # From here on moto checks signatures and IAM policies on every request.
        r = requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=10)
        assert r.status_code == 200, r.text
        admin = dict(endpoint_url=endpoint, region_name=region, aws_access_key_id=admin_key["AccessKeyId"],
                     aws_secret_access_key=admin_key["SecretAccessKey"])
        boto3.client("s3", **admin).head_bucket(Bucket=bucket)
        yield Redacted({
            "endpoint": endpoint, "bucket": bucket, "other_bucket": other, "policy": policy, "region": region,
            "admin": admin, "mlflow_key": key["AccessKeyId"], "mlflow_secret": key["SecretAccessKey"],
            "gc_key": gc_key["AccessKeyId"], "gc_secret": gc_key["SecretAccessKey"],
            "rendered_access_key": ienv["MLFLOW_ACCESS_KEY"], "rendered_secret": ienv["MLFLOW_SECRET_KEY"], "proc": proc,
        })
    finally:
        proc.stop()


# --- tracking server ---------------------------------------------------------------------

def base_env():
    venv_bin = str(Path(sys.executable).parent)
    keep = {k: os.environ[k] for k in ("HOME", "LANG", "LC_ALL", "TMPDIR", "TZ") if k in os.environ}
    return {**keep, "PATH": f"{venv_bin}:/usr/local/bin:/usr/bin:/bin"}


class MlflowServer:
    def __init__(self, env, name="mlflow"):
        self.env = env = prometheus_dir(dict(env))
        self.port = int(env["MLFLOW_PORT"])
        self.url = f"http://127.0.0.1:{self.port}"
        # The container's entrypoint, run with the venv's python (which has `mlflow` beside it).
        self.proc = Proc(name, [sys.executable, str(ENTRYPOINT)], env, cwd=str(OUT))

    def start(self, timeout=300):
        self.proc.start()
        wait_for(f"MLflow on :{self.port}", lambda: requests.get(f"{self.url}/health", timeout=3).status_code == 200,
                 timeout, proc=self.proc.popen, log=self.proc.log)
        return self


def prometheus_dir(env):
    """Each server its own Prometheus directory, as each container has its own /tmp: servers of
    the suite that shared the rendered path would sum (and reset) each other's counters."""
    if env.get("MLFLOW_EXPOSE_PROMETHEUS"):
        env["MLFLOW_EXPOSE_PROMETHEUS"] = tempfile.mkdtemp(prefix="prometheus-", dir=OUT)
    return env


def mlflow_env(rendered, database, store, **overrides):
    env = dict(rendered)
    if env["AWS_ACCESS_KEY_ID"] != store["rendered_access_key"]:
        pytest.fail("MLflow's AWS_ACCESS_KEY_ID is not the identity bucket-init creates", pytrace=False)
    if env["AWS_SECRET_ACCESS_KEY"] != store["rendered_secret"]:
        pytest.fail("MLflow's AWS_SECRET_ACCESS_KEY is not the secret bucket-init sets", pytrace=False)
    env.update({
        "MLFLOW_HOST": "127.0.0.1",
        "MLFLOW_PORT": str(free_port()),
        # Only the address MinIO has on the Docker network is mapped; any other value is kept
        # as rendered (and then fails as it would in Docker: see docs/testing.md, "Commands").
        "MLFLOW_S3_ENDPOINT_URL": store["endpoint"] if env.get("MLFLOW_S3_ENDPOINT_URL") == MINIO_URL else env.get("MLFLOW_S3_ENDPOINT_URL"),
        "MLFLOW_BACKEND_STORE_URI": database["uri"],
        "AWS_ACCESS_KEY_ID": store["mlflow_key"],
        "AWS_SECRET_ACCESS_KEY": store["mlflow_secret"],
    })
    env.update(overrides)
    if AUTH_DB_URI in rendered:
        assert AUTH_DB_URI in overrides, f"this render has team accounts: pass {AUTH_DB_URI}=auth_db_uri(spec, key)"
    return {**base_env(), **{k: v for k, v in env.items() if v is not None}}


@pytest.fixture(scope="session")
def auth_database(spec):
    """The auth app's database of the main deployment (None without team accounts)."""
    return auth_db_uri(spec)


@pytest.fixture(scope="session")
def mlflow_server(mlflow_env_rendered, database, artifact_store, auth_database):
    extra = {AUTH_DB_URI: auth_database} if auth_database else {}
    server = MlflowServer(mlflow_env(mlflow_env_rendered, database, artifact_store, **extra))
    try:
        server.start()
        yield server
    finally:
        server.proc.stop()


# --- proxy -------------------------------------------------------------------------------

METRICS_HTPASSWD = "/etc/nginx/metrics.htpasswd"
RENDERED_ACCESS_LOG = "access_log /dev/stdout mlflow_json;"


def map_access_log(conf, name):
    """Every server block's rendered JSON log (the container's stdout) to OUT/<name>-json.log, and
    beside it the suite's own line format (the 5xx check reads OUT/<name>-access.log): a server
    block with an access_log of its own inherits none from the http block."""
    assert conf.count(RENDERED_ACCESS_LOG) >= 1, f"expected `{RENDERED_ACCESS_LOG}` in the rendered nginx config"
    return conf.replace(RENDERED_ACCESS_LOG, f"access_log {OUT / (name + '-json.log')} mlflow_json;\n"
                                             f"    access_log {OUT / (name + '-access.log')} e2e;")


class Nginx:
    def __init__(self, spec, upstream_port, name="nginx", port=None):
        require(shutil.which("nginx") or Path("/usr/sbin/nginx").exists(), "nginx (apt-get install nginx-light)")
        c = spec["by_role"]["auth-proxy"]
        conf = upload(c, "/etc/nginx/conf.d/default.conf")["content"]
        htpasswd = upload(c, "/etc/nginx/mlflow.htpasswd")["content"]
        self.port = port or free_port()
        self.dir = OUT / name
        shutil.rmtree(self.dir, ignore_errors=True)
        (self.dir / "tmp").mkdir(parents=True)
        os.chmod(self.dir, 0o755)
        os.chmod(self.dir / "tmp", 0o777)
        (self.dir / "mlflow.htpasswd").write_text(htpasswd)
        os.chmod(self.dir / "mlflow.htpasswd", 0o644)

        def sub(old, new, text):
            assert text.count(old) == 1, f"expected exactly one `{old}` in the rendered nginx config"
            return text.replace(old, new)

        conf = sub("server mlflow:5000;", f"server 127.0.0.1:{upstream_port};", conf)
        conf = sub("listen 8080;", f"listen 127.0.0.1:{self.port};", conf)
        # Every location names the htpasswd file (the /health one too, for anything but the exact raw /health).
        htpasswd_line = "auth_basic_user_file /etc/nginx/mlflow.htpasswd;"
        assert conf.count(htpasswd_line) >= 1, f"expected `{htpasswd_line}` in the rendered nginx config"
        conf = conf.replace(htpasswd_line, f"auth_basic_user_file {self.dir / 'mlflow.htpasswd'};")
        # Team accounts: the token's proxy_set_header line, included by every location that proxies to MLflow.
        for u in c["inputs"].get("uploads") or []:
            if u["file"].endswith(".inc"):
                include = self.dir / Path(u["file"]).name
                include.write_text(u["content"])
                os.chmod(include, 0o600)
                assert f"include {u['file']};" in conf, f"{u['file']} is uploaded but not included"
                conf = conf.replace(f"include {u['file']};", f"include {include};")
        # The scraper's own login (authProxy/metrics.ts), in a file of its own.
        metrics = next((u for u in c["inputs"].get("uploads") or [] if u["file"] == METRICS_HTPASSWD), None)
        if metrics is not None:
            (self.dir / "metrics.htpasswd").write_text(metrics["content"])
            os.chmod(self.dir / "metrics.htpasswd", 0o644)
            conf = conf.replace(f"auth_basic_user_file {METRICS_HTPASSWD};", f"auth_basic_user_file {self.dir / 'metrics.htpasswd'};")
        conf = map_access_log(conf, name)
        self.json_log = OUT / f"{name}-json.log"
        (self.dir / "default.conf").write_text(conf)
        t = self.dir / "tmp"
        user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
        (self.dir / "nginx.conf").write_text(f"""{user}daemon off;
worker_processes auto;
pid {self.dir / 'nginx.pid'};
error_log {OUT / (name + '-error.log')} info;
events {{ worker_connections 256; }}
http {{
    # $msec first: the suite matches 5xx against the windows in which a test breaks MLflow on purpose.
    log_format e2e '$msec $status "$request" $request_time upstream=$upstream_status';
    access_log {OUT / (name + '-access.log')} e2e;
    client_body_temp_path {t}/client_body;
    proxy_temp_path {t}/proxy;
    fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi;
    scgi_temp_path {t}/scgi;
    include {self.dir / 'default.conf'};
}}
""")
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        self.proc = Proc(name, [binary, "-p", str(self.dir), "-c", str(self.dir / "nginx.conf")], base_env())
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self):
        self.proc.start()
        wait_for("nginx", lambda: requests.get(f"{self.url}/nonexistent", timeout=3).status_code == 401, 30,
                 proc=self.proc.popen, log=self.proc.log)
        return self


@pytest.fixture(scope="session")
def proxy(spec, mlflow_server):
    # Listen on the stack's hostPort (e2e/run renders the spec with a free one), so the
    # rendered CORS origins (http://localhost:<hostPort>, http://127.0.0.1:<hostPort>) apply as deployed.
    n = Nginx(spec, mlflow_server.port, port=int(spec["config"].get("hostPort", 0)) or None)
    try:
        yield n.start()
    finally:
        n.proc.stop()


@pytest.fixture(scope="session")
def credentials(spec):
    return RedactedPair((spec["clientUser"], spec["clientPassword"]))


@pytest.fixture(scope="session")
def tracking(proxy, credentials, spec):
    """Points the MLflow client at the proxy with the spec's basic-auth user."""
    import mlflow

    keys = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
            "MLFLOW_HTTP_REQUEST_TIMEOUT", "MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({"MLFLOW_TRACKING_URI": proxy.url, "MLFLOW_TRACKING_USERNAME": credentials[0],
                       "MLFLOW_TRACKING_PASSWORD": credentials[1], "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
                       "MLFLOW_HTTP_REQUEST_TIMEOUT": "600"})
    # Nothing else: a client has only the URL and the basic-auth credentials. In particular not
    # MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD/DOWNLOAD=false (test_server_keeps_artifact_transfers_proxied).
    for k in ("MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD", "MLFLOW_ENABLE_PROXY_MULTIPART_DOWNLOAD"):
        os.environ.pop(k, None)
    mlflow.set_tracking_uri(proxy.url)
    yield mlflow.MlflowClient(proxy.url)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


@pytest.fixture(scope="session")
def experiment(tracking):
    name = f"e2e-{BACKEND}-{RUN_SUFFIX}"
    return {"name": name, "id": tracking.create_experiment(name)}


# --- no 5xx from the proxy outside a test's deliberate outage ------------------------------

# (start, end, why) in wall-clock seconds: a test that takes MLflow down on purpose registers
# its outage here; any other 5xx in any nginx access log fails the session.
ALLOWED_5XX_WINDOWS = []
_5XX_SLACK_SECONDS = 1.0


def allow_5xx_window(start, end, why):
    ALLOWED_5XX_WINDOWS.append((start - _5XX_SLACK_SECONDS, end + _5XX_SLACK_SECONDS, why))


def unexpected_5xx(log_text, windows):
    """Access-log lines (e2e format: `$msec $status ...`) with a 5xx outside every window."""
    bad = []
    for line in log_text.splitlines():
        parts = line.split(" ", 2)
        if len(parts) < 2 or not parts[1].isdigit():
            continue
        when, status = float(parts[0]), int(parts[1])
        if status >= 500 and not any(a <= when <= b for a, b, _ in windows):
            bad.append(line)
    return bad


@pytest.fixture(scope="session", autouse=True)
def no_unexpected_5xx():
    yield
    bad = []
    for log in sorted(OUT.glob("nginx*-access.log")):
        bad += [f"{log.name}: {line}" for line in unexpected_5xx(log.read_text(errors="replace"), ALLOWED_5XX_WINDOWS)]
    if bad:
        pytest.fail(f"{len(bad)} proxy responses were 5xx outside any deliberate outage, e.g.\n" + "\n".join(bad[:10]), pytrace=False)


# --- failure reporting -------------------------------------------------------------------

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        secrets = known_secrets()
        for log in sorted(OUT.glob("*.log")):
            try:
                text = log.read_text(errors="replace")
            except OSError:
                continue
            for s in secrets:
                text = text.replace(s, "***")
            rep.sections.append((f"log {log.name} (last 60 lines)", "\n".join(text.splitlines()[-60:])))


def known_secrets():
    """Every secret value in the spec (raw and URL-encoded), to redact from printed logs."""
    values = set()
    # spec-day2.json: the second render test_lifecycle.py deploys; spec-serving.json: test_serving.py.
    for path in (SPEC_FILE, SPEC_FILE.with_name("spec-day2.json"), SPEC_FILE.with_name("spec-removed.json"), SPEC_FILE.with_name("spec-projects.json"),
                 SPEC_FILE.with_name("spec-serving.json")):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        values.add(data.get("clientPassword") or "")
        values.update(c["password"] for c in (data.get("projectCredentials") or {}).values())
        values.update(u["password"] for u in (data.get("users") or {}).values())
        values.add(data.get("proxyToken") or "")
        values.add((data.get("metricsCredentials") or {}).get("password") or "")
        for c in data["containers"]:
            for k, v in env_dict(c).items():
                if any(w in k for w in ("PASSWORD", "SECRET", "URI", "TOKEN")):
                    values.add(v)
    out = set()
    for v in values:
        if len(v) >= 8:
            out.update({v, quote(v, safe=""), unquote(v)})
    return sorted(out, key=len, reverse=True)


def _terminate(signum, frame):
    # `timeout` in e2e/run sends SIGTERM: unwind like Ctrl-C so fixture finalizers stop
    # processes and drop the run's databases and users.
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config):
    OUT.mkdir(parents=True, exist_ok=True)
    signal.signal(signal.SIGTERM, _terminate)
