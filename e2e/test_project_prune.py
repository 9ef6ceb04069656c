"""Removing a project with retainDataOnDestroy=false: the rendered reconciler, run for real.

spec-prune.json is the local target rendered with `projects=["alpha"]` and
`retainDataOnDestroy=false` (e2e/run): the stack after project beta was removed. Two projects'
databases, users, MinIO-like identities and prefix objects are created first (the databases by
the rendered project init of spec-projects.json, the project list before the removal); then:

| container (role)           | runs here as                                                         |
|----------------------------|----------------------------------------------------------------------|
| project-prune, database    | its rendered script with `sh` and the host's mysql / psql client, against the machine's MariaDB / PostgreSQL; DB_HOST/DB_PORT/admin -> the machine's |
| project-prune, store       | its rendered script with `sh`, PATH holding only a stand-in `mc` (below) that applies each mc command to moto (S3 objects, IAM users and policies) |

Shared database servers: other suites run at the same time, so every name carries a per-module
suffix and the rendered name pattern is narrowed to names ending in it (the rewrite is asserted
to hit exactly the expected places). The unit tests (components/projectPrune/scripts.test.ts)
cover the unnarrowed pattern.

What is not proven here: real mc against real MinIO (no MinIO or mc binary on the test host; the CI deploy-dev job runs them). The
stand-in prints mc's --json shapes (minio/mc cmd/ls.go contentMessage, cmd/admin-user-add.go
userMessage) and maps `admin user rm` / `admin policy rm` / `rm --recursive --force` to the
matching moto calls.
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from conftest import (BACKEND, OUT, PG_ENV, PG_ADMIN, RUN_SUFFIX, Proc, _mysql_admin, _psql, base_env, env_dict, free_port,
                      require, upload, wait_for)

SPEC = OUT / "spec-prune.json"
BEFORE = OUT / "spec-projects.json"
SUFFIX = f"{RUN_SUFFIX}pr"
PATTERN = "^mlflow_[a-z][a-z0-9]*(_[a-z0-9]+)*$"
NARROWED = PATTERN[:-1] + f"_{SUFFIX}$"
WORK = OUT / "prune"


def prune_container(spec, part):
    found = [c for c in spec["containers"] if c["role"] == "project-prune" and c["name"] == f"mlflow-dev-prune-{part}"]
    assert len(found) == 1, [c["name"] for c in spec["containers"]]
    return found[0]


def load(path):
    require(path.exists(), f"spec {path} not rendered (run e2e/run)")
    return json.loads(path.read_text())


# --- databases -------------------------------------------------------------------------------

def _exactly_one(mysql_sql, value, pg_sql):
    """True when the admin's count query finds exactly one row (MySQL: bound value; PostgreSQL: psql)."""
    if BACKEND == "mysql":
        conn = _mysql_admin()
        with conn.cursor() as cur:
            cur.execute(mysql_sql, (value,))
            n = cur.fetchone()[0]
        conn.close()
        return n == 1
    return _psql(pg_sql).stdout.strip() == "1"


def db_exists(name):
    return _exactly_one("SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", name,
                        f"SELECT count(*) FROM pg_database WHERE datname = '{name}'")


def user_exists(user):
    return _exactly_one("SELECT COUNT(*) FROM mysql.user WHERE User = %s AND Host = '%%'", user,
                        f"SELECT count(*) FROM pg_roles WHERE rolname = '{user}'")


def admin_env():
    if BACKEND == "mysql":
        return {"DB_HOST": os.environ.get("E2E_MYSQL_HOST", "127.0.0.1"), "DB_PORT": os.environ.get("E2E_MYSQL_PORT", "3306"),
                "DB_ADMIN_USER": os.environ.get("E2E_MYSQL_ADMIN", "root"), "DB_ADMIN_PASSWORD": os.environ.get("E2E_MYSQL_ADMIN_PASSWORD", "")}
    return {"DB_HOST": PG_ENV["PGHOST"], "DB_PORT": PG_ENV["PGPORT"], "DB_ADMIN_USER": PG_ADMIN, "DB_ADMIN_PASSWORD": ""}


def init_project_db(before, project):
    """The project's rendered init (the list before the removal), names suffixed."""
    c = next(c for c in before["containers"] if c["role"] == "project-database" and c["name"].startswith(f"mlflow-dev-project-{project}-"))
    env = env_dict(c)
    name, user = env["MLFLOW_DB_NAME"], env["MLFLOW_DB_USER"]
    run_name, run_user = f"{name}_{SUFFIX}", f"{user}_{SUFFIX}"
    script = upload(c, "/init/project-db.sh")["content"]
    work = WORK / project
    work.mkdir(parents=True, exist_ok=True)
    run_env = {**base_env(), "TMPDIR": str(work), **admin_env()}
    if BACKEND == "mysql":
        sql = upload(c, "/init/project-db.sql")["content"].replace(f"`{name}`", f"`{run_name}`").replace(f"'{user}'", f"'{run_user}'")
        (work / "project-db.sql").write_text(sql)
        script = script.replace("/init/project-db.sql", str(work / "project-db.sql"))
    else:
        run_env.update({**env, **admin_env(), "MLFLOW_DB_NAME": run_name, "MLFLOW_DB_USER": run_user})
    (work / "project-db.sh").write_text(script)
    r = subprocess.run(["sh", str(work / "project-db.sh")], env=run_env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return run_name, run_user


def narrowed_db_script(spec):
    """The rendered prune script, its pattern narrowed to this module's names (see module docstring)."""
    c = prune_container(spec, "db")
    assert c["inputs"]["entrypoints"] == ["/bin/sh"] and c["inputs"]["command"] == ["/init/project-prune-db.sh"]
    assert env_dict(c)["DB_HOST"] == "db"
    script = upload(c, "/init/project-prune-db.sh")["content"]
    assert script.count(PATTERN) == 2, "the pattern appears once for users/roles and once for databases"
    assert script.count("BETWEEN 9 AND 31") == 2
    assert script.count("'mlflow_alpha'") == 2, "alpha is kept"
    assert "'mlflow_beta'" not in script
    return (script.replace(PATTERN, NARROWED).replace("BETWEEN 9 AND 31", f"BETWEEN {9 + len(SUFFIX) + 1} AND {31 + len(SUFFIX) + 1}")
            .replace("'mlflow_alpha'", f"'mlflow_alpha_{SUFFIX}'"))


def run_db_prune(script):
    WORK.mkdir(parents=True, exist_ok=True)
    path = WORK / "project-prune-db.sh"
    path.write_text(script)
    r = subprocess.run(["sh", str(path)], env={**base_env(), "TMPDIR": str(WORK), **admin_env()}, capture_output=True, text=True, timeout=180)
    (OUT / "project-prune-db.log").write_text(r.stdout + r.stderr)
    assert r.returncode == 0, f"prune failed, see {OUT / 'project-prune-db.log'}"
    return r.stdout + r.stderr


def drop_lines(log):
    """The DROP statements a run executed (MySQL: its `prune:` lines; psql: its echo), not the queries that generate them."""
    return [line for line in log.splitlines() if "IF EXISTS" in line and "SELECT" not in line]


@pytest.fixture(scope="module")
def dbs():
    if BACKEND == "mysql":
        require(shutil.which("mysql"), "mysql client")
    else:
        require(shutil.which("psql") and _psql("select 1").returncode == 0, "PostgreSQL and psql")
    spec, before = load(SPEC), load(BEFORE)
    names = {p: (f"mlflow_{p}_{SUFFIX}", f"mlflow_{p}_{SUFFIX}") for p in ("alpha", "beta")}
    root = f"mlflow_{SUFFIX}"  # `/`'s database, suffixed the same way
    try:
        if BACKEND == "mysql":
            conn = _mysql_admin()
            with conn.cursor() as cur:
                cur.execute(f"CREATE DATABASE `{root}`")
            conn.close()
        else:
            assert _psql(f'CREATE DATABASE "{root}"').returncode == 0
        for p in names:
            assert init_project_db(before, p) == names[p]
        yield {"spec": spec, "names": names, "root": root}
    finally:
        for name, user in list(names.values()) + [(root, None)]:
            if BACKEND == "mysql":
                conn = _mysql_admin()
                with conn.cursor() as cur:
                    cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
                    if user:
                        cur.execute("DROP USER IF EXISTS %s@'%%'", (user,))
                conn.close()
            else:
                _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                if user:
                    _psql(f'DROP ROLE IF EXISTS "{user}"')


def test_retain_true_renders_no_reconciler():
    for path in (OUT / "spec.json", BEFORE):
        assert [c["name"] for c in load(path)["containers"] if c["role"] == "project-prune"] == []


def test_database_prune_drops_only_the_removed_project(dbs):
    (a_db, a_user), (b_db, b_user) = dbs["names"]["alpha"], dbs["names"]["beta"]
    assert all(map(db_exists, (a_db, b_db, dbs["root"]))) and user_exists(a_user) and user_exists(b_user)
    script = narrowed_db_script(dbs["spec"])
    drops = drop_lines(run_db_prune(script))
    assert any(b_db in line for line in drops) and not any(a_db in line or dbs["root"] + " " in line for line in drops), drops
    assert not db_exists(b_db) and not user_exists(b_user)
    assert db_exists(a_db) and user_exists(a_user) and db_exists(dbs["root"])
    # Again: nothing left to do, no error.
    assert drop_lines(run_db_prune(script)) == []
    assert db_exists(a_db) and user_exists(a_user) and db_exists(dbs["root"])


# --- artifacts and identities (moto) ----------------------------------------------------------

STAND_IN = r'''
"""A stand-in for mc: the commands the prune script runs, applied to moto (S3 + IAM)."""
import json, os, sys
from urllib.parse import urlsplit
import boto3

u = urlsplit(os.environ["MC_HOST_store"])
kw = dict(endpoint_url=f"{u.scheme}://{u.hostname}:{u.port}", region_name="us-east-1", aws_access_key_id=u.username, aws_secret_access_key=u.password)
s3, iam = boto3.client("s3", **kw), boto3.client("iam", **kw)
with open(os.environ["STAND_IN_LOG"], "a") as f:
    f.write(" ".join(sys.argv[1:]) + "\n")
a = sys.argv[1:]
if a[:2] == ["ready", "store"]:
    sys.exit(0)
if a == ["admin", "user", "ls", "store", "--json"]:
    for user in iam.list_users()["Users"]:
        print(json.dumps({"status": "success", "accessKey": user["UserName"], "userStatus": "enabled"}, indent=1))
    sys.exit(0)
if a[:2] == ["ls", "--json"]:
    bucket, _, prefix = a[2][len("store/"):].partition("/")
    for p in s3.list_objects_v2(Bucket=bucket, Prefix=prefix, Delimiter="/").get("CommonPrefixes", []):
        print(json.dumps({"status": "success", "type": "folder", "lastModified": "2026-11-25T22:00:00Z", "size": 0,
                          "key": p["Prefix"][len(prefix):]}, separators=(",", ":")))
    sys.exit(0)
if a[:3] == ["rm", "--recursive", "--force"]:
    bucket, _, prefix = a[3][len("store/"):].partition("/")
    for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=o["Key"])
    sys.exit(0)
if a[:3] == ["admin", "user", "rm"]:
    name = a[4]
    for p in iam.list_attached_user_policies(UserName=name)["AttachedPolicies"]:
        iam.detach_user_policy(UserName=name, PolicyArn=p["PolicyArn"])
    iam.delete_user(UserName=name)
    sys.exit(0)
if a[:3] == ["admin", "policy", "rm"]:
    arns = [p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"] == a[4]]
    if not arns:
        print("mc: <ERROR> policy not found", file=sys.stderr)
        sys.exit(1)
    iam.delete_policy(PolicyArn=arns[0])
    sys.exit(0)
print(f"stand-in mc: unexpected command {a}", file=sys.stderr)
sys.exit(2)
'''


@pytest.fixture(scope="module")
def moto_store():
    import boto3

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = Proc("moto-prune", [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                {**os.environ, "MOTO_PORT": str(port)}).start()
    try:
        wait_for("moto", lambda: requests.get(f"{endpoint}/moto-api/", timeout=2).status_code == 200, 60, proc=proc.popen, log=proc.log)
        yield endpoint
    finally:
        proc.stop()


def test_store_prune_removes_only_the_removed_projects_objects_and_identity(moto_store, tmp_path):
    import boto3

    c = prune_container(load(SPEC), "store")
    env = env_dict(c)
    assert env["MINIO_ENDPOINT"] == "http://minio:9000" and c["inputs"]["command"] == ["/init/project-prune-store.sh"]
    bucket = env["ARTIFACT_BUCKET"]
    kw = dict(endpoint_url=moto_store, region_name="us-east-1", aws_access_key_id=env["MINIO_ROOT_USER"], aws_secret_access_key=env["MINIO_ROOT_PASSWORD"])
    s3, iam = boto3.client("s3", **kw), boto3.client("iam", **kw)
    s3.create_bucket(Bucket=bucket)
    keys = ["0/root-run/artifacts/model.pkl", "projects/alpha/1/a/artifacts/x.txt", "projects/beta/1/b/artifacts/y.txt",
            "projects/beta/2/c/artifacts/z.txt", "projects-notes.txt"]
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"x")
    for user in ("mlflow-tracking", "mlflow-project-alpha", "mlflow-project-beta"):
        arn = iam.create_policy(PolicyName=f"{user}-artifacts", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))["Policy"]["Arn"]
        iam.create_user(UserName=user)
        iam.attach_user_policy(UserName=user, PolicyArn=arn)

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mc").write_text(f"#!{sys.executable}\n{STAND_IN}")
    (bin_dir / "mc").chmod(0o755)
    script = tmp_path / "prune.sh"
    script.write_text(upload(c, "/init/project-prune-store.sh")["content"])
    log = tmp_path / "calls.log"
    run_env = {**env, "PATH": str(bin_dir), "MINIO_ENDPOINT": moto_store, "STAND_IN_LOG": str(log)}
    for attempt in (1, 2):
        r = subprocess.run(["/bin/sh", str(script)], env=run_env, capture_output=True, text=True, timeout=120)
        (OUT / f"project-prune-store-{attempt}.log").write_text(r.stdout + r.stderr)
        assert r.returncode == 0, r.stderr[-2000:]
        left = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []))
        assert left == sorted(k for k in keys if not k.startswith("projects/beta/"))
        assert sorted(u["UserName"] for u in iam.list_users()["Users"]) == ["mlflow-project-alpha", "mlflow-tracking"]
        assert sorted(p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]) == \
            ["mlflow-project-alpha-artifacts", "mlflow-tracking-artifacts"]
    calls = log.read_text().splitlines()
    # The second run only lists: nothing left to remove.
    assert [c for c in calls if c.startswith(("rm ", "admin user rm", "admin policy rm"))] == [
        f"rm --recursive --force store/{bucket}/projects/beta/", "admin user rm store mlflow-project-beta",
        "admin policy rm store mlflow-project-beta-artifacts"]
