"""Removing a project on target aws with retainDataOnDestroy=false (issue 11): `/`'s project-prune container, run for real.

aws-env-prune.json is the aws target rendered with `projects=["alpha"]` and
`retainDataOnDestroy=false` (e2e/run): the stack after project beta was removed. Its `/` task's
`project-prune` container (render/projectPruneAws.ts) runs here as ECS would start it: its
entry point (`python -c <script>`) with the venv's Python (the image's requirements), its
environment, and the master secret's values, against:

| in AWS                         | here                                                                 |
|--------------------------------|----------------------------------------------------------------------|
| Aurora, the master user        | this machine's MariaDB / PostgreSQL and a per-run admin that, like Aurora's master, is not a superuser (PostgreSQL: CREATEROLE CREATEDB) |
| the projects' databases/users  | created by the projects' rendered AWS init runner (aws-env-projects.json) as that admin, as on AWS |
| the bucket, `/`'s task role    | moto S3 (AWS_ENDPOINT_URL_S3), any credentials                       |
| RDS TLS (MLFLOW_DB_TLS_QUERY)  | dropped: no RDS certificate here (asserted equal to MLflow's)        |

Shared database servers: every name carries a per-run suffix and the rendered database name
pattern and protected names are narrowed to it (the rewrite is asserted to hit the expected
values). The Python name rule is also checked, unnarrowed, on a table of names.
"""
import json
import os
import secrets as pysecrets
import subprocess
import sys
from urllib.parse import quote

import pytest

from conftest import BACKEND, ENTRYPOINT, OUT, PG_ENV, RUN_SUFFIX, _mysql_admin, _psql, base_env, non_superuser_admin, require
from test_project_prune import db_exists, moto_store, user_exists  # noqa: F401 (fixture)

SPEC = OUT / "aws-env-prune.json"
BEFORE = OUT / "aws-env-projects.json"
SUFFIX = f"pa{RUN_SUFFIX}"
PATTERN = "^mlflow_[a-z][a-z0-9]*(_[a-z0-9]+)*$"
INIT_RUNNER = ENTRYPOINT.with_name("project_db_init.py")


def load(path):
    require(path.exists(), f"spec {path} not rendered (run e2e/run)")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def prune():
    data = load(SPEC)
    assert data["backend"] == BACKEND
    p = data["prune"]
    # Beside MLflow and the sidecar, not essential, nothing waits for it.
    assert p["containers"] == ["mlflow", "proxy", "project-prune"]
    c = p["container"]
    assert c["essential"] is False and c["entryPoint"][:2] == ["python", "-c"] and "dependsOn" not in c
    assert sorted(s["name"] for s in c["secrets"]) == ["MLFLOW_DB_PASSWORD", "MLFLOW_DB_USER"]
    env = {e["name"]: e["value"] for e in c["environment"]}
    assert env.pop("MLFLOW_DB_TLS_QUERY") == p["mlflowEnvironment"]["MLFLOW_DB_TLS_QUERY"]
    return {"script": c["entryPoint"][2], "env": env, "spec": json.loads(env["MLFLOW_PROJECT_PRUNE_SPEC"])}


def host_port():
    if BACKEND == "mysql":
        return os.environ.get("E2E_MYSQL_HOST", "127.0.0.1"), os.environ.get("E2E_MYSQL_PORT", "3306")
    return PG_ENV["PGHOST"], PG_ENV["PGPORT"]


@pytest.fixture(scope="module")
def admin():
    """Like Aurora's master: not a superuser, and named like a project database so only its runtime protection keeps it."""
    with non_superuser_admin(f"mlflow_admin_{SUFFIX}") as a:
        yield a


def connection_env(base, admin, database):
    host, port = host_port()
    return {**base, "MLFLOW_DB_HOST": host, "MLFLOW_DB_PORT": port, "MLFLOW_DB_NAME": database,
            "MLFLOW_DB_USER": admin["user"], "MLFLOW_DB_PASSWORD": admin["password"]}


def create_project_db(project, admin, root_db):
    """The project's rendered AWS init runner (as before beta's removal), as the admin; returns the run's database name."""
    init = load(BEFORE)["projects"][project]["project-db-init"]
    env = {e["name"]: e["value"] for e in init["environment"]}
    env.pop("MLFLOW_DB_TLS_QUERY")
    name, run_name = f"mlflow_{project}", f"mlflow_{project}_{SUFFIX}"
    env = connection_env(env, admin, root_db if BACKEND == "mysql" else "postgres")
    env.update({"MLFLOW_PROJECT_DB_STATEMENTS": env["MLFLOW_PROJECT_DB_STATEMENTS"].replace(name, run_name),
                "MLFLOW_PROJECT_DB_PASSWORD": "p@ss:w/%'" + pysecrets.token_urlsafe(12)})
    r = subprocess.run([sys.executable, str(INIT_RUNNER)], env={**base_env(), **env}, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    return run_name


def drop(name):
    if BACKEND == "mysql":
        conn = _mysql_admin()
        with conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
            cur.execute("DROP USER IF EXISTS %s@'%%'", (name,))
        conn.close()
    else:
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _psql(f'DROP ROLE IF EXISTS "{name}"')


def create_root_like_db(name):
    if BACKEND == "mysql":
        conn = _mysql_admin()
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE `{name}`")
        conn.close()
    else:
        assert _psql(f'CREATE DATABASE "{name}"').returncode == 0


def narrowed(spec, root_db):
    """The rendered database rule, narrowed to this run's names: `/`'s `mlflow` becomes root_db, kept `mlflow_<n>` get the suffix."""
    db = dict(spec["database"])
    assert (db["pattern"], db["minLength"], db["maxLength"]) == (PATTERN, 9, 31)
    assert db["protected"] == ["mlflow", "mlflow_alpha", "mlflow_default"]
    db["pattern"] = PATTERN[:-1] + f"_{SUFFIX}$"
    db["maxLength"] += len(SUFFIX) + 1
    db["protected"] = [root_db] + [f"{n}_{SUFFIX}" for n in db["protected"][1:]]
    return {**spec, "database": db}


def run_prune(prune, env, spec, tag):
    env = {**base_env(), **env, "MLFLOW_PROJECT_PRUNE_SPEC": json.dumps(spec),
           # entrypoint.py lives in /opt/mlflow in the image; here in the repository.
           "PYTHONPATH": str(ENTRYPOINT.parent)}
    r = subprocess.run([sys.executable, "-c", prune["script"]], env=env, capture_output=True, text=True, timeout=300)
    (OUT / f"aws-project-prune-{tag}.log").write_text(r.stdout + r.stderr)
    return r


def test_python_name_rule_matches_the_rendered_rule_on_a_table(prune):
    """The script's own `allowed` on the unnarrowed rendered spec (kept: alpha); the same table as render/projectPruneAws.test.ts."""
    ns = {}
    exec(prune["script"].rsplit("main()", 1)[0], ns)  # the definitions, without running main
    db, store = prune["spec"]["database"], prune["spec"]["store"]
    cases = {"mlflow_alpha": False, "mlflow_beta_2": True, "mlflow": False, "mlflow_default": False, "root": False, "mlflow_Alpha": False,
             "mlflow_1a": False, "mlflow__a": False, "mlflow_ab_": False, "mlflow_a": False, "mlflow_" + "a" * 24: True,
             "mlflow_" + "a" * 25: False, "mlflow_alpha;drop": False, "mlflow_ab\n": False, "xmlflow_ab": False}
    assert {n: ns["allowed"](n, db) for n in cases} == cases
    assert ns["allowed"]("mlflow_admin", db, {"mlflow_admin"}) is False
    cases = {"beta": True, "beta-2": True, "alpha": False, "default": False, "Upper": False, "a": False, "a--b": False, "x-": False,
             "a" * 24: True, "a" * 25: False, "beta\n": False}
    assert {n: ns["allowed"](n, store) for n in cases} == cases


def test_prune_drops_only_the_removed_projects_database_user_and_objects(prune, admin, moto_store):  # noqa: F811
    import boto3

    root_db = f"mlflow_root_{SUFFIX}"
    created = []
    try:
        create_root_like_db(root_db)
        created.append(root_db)
        for p in ("alpha", "beta"):
            created.append(f"mlflow_{p}_{SUFFIX}")
            assert create_project_db(p, admin, root_db) == created[-1]
        alpha, beta = created[1], created[2]
        assert all(db_exists(n) for n in created) and user_exists(alpha) and user_exists(beta)

        bucket = prune["spec"]["store"]["bucket"]
        s3 = boto3.client("s3", endpoint_url=moto_store, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
        kept_keys = ["0/root-run/artifacts/model.pkl", "projects/alpha/1/a/artifacts/x.txt", "projects-notes.txt",
                     "projects/Upper/x.txt", "projects/default/x.txt", "projects/a--b/x.txt"]
        # More than one delete_objects batch (1000 keys) and more than one listing page.
        beta_keys = [f"projects/beta/1/r{i:04d}/artifacts/f.txt" for i in range(1005)]
        for k in kept_keys + beta_keys:
            s3.put_object(Bucket=bucket, Key=k, Body=b"x")

        env = connection_env(prune["env"], admin, root_db if BACKEND == "mysql" else prune["env"]["MLFLOW_DB_NAME"])
        assert prune["env"]["MLFLOW_DB_NAME"] == ("mlflow" if BACKEND == "mysql" else "postgres")
        env.update({"AWS_ENDPOINT_URL_S3": moto_store, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"})
        assert env["AWS_DEFAULT_REGION"] == "eu-west-1"
        spec = narrowed(prune["spec"], root_db)
        for attempt in (1, 2):
            r = run_prune(prune, env, spec, str(attempt))
            out = r.stdout + r.stderr
            assert r.returncode == 0 and "project-prune: done" in out, out[-3000:]
            assert admin["password"] not in out
            drops = [line for line in out.splitlines() if "DROP " in line]
            if attempt == 1:
                order = ["DATABASE", "ROLE"] if BACKEND == "postgres" else ["USER", "DATABASE"]
                assert [d.split()[2] for d in drops] == order and all(beta in d for d in drops), drops
                assert "deleted 1005 objects under s3://" in out, out
            else:
                assert drops == [] and "deleted" not in out, out  # idempotent: nothing left to do
            assert not db_exists(beta) and not user_exists(beta)
            assert db_exists(alpha) and user_exists(alpha) and db_exists(root_db) and user_exists(admin["user"])
            left = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket) for o in page.get("Contents", [])]
            assert sorted(left) == sorted(kept_keys)
    finally:
        for n in created:
            drop(n)


def test_prune_failure_is_reported_and_the_other_part_still_runs(prune, admin, moto_store):  # noqa: F811
    """A database the admin cannot open (a database that does not exist: the servers here trust local
    logins on PostgreSQL, so a wrong password alone would not fail): the database part fails (exit 1,
    the password not printed), the store part still runs."""
    import boto3

    bucket = prune["spec"]["store"]["bucket"] + "-f"
    s3 = boto3.client("s3", endpoint_url=moto_store, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=bucket, Key="projects/gone/x.txt", Body=b"x")
    wrong = {**admin, "password": "wr@ng:%/" + pysecrets.token_urlsafe(8)}
    env = connection_env(prune["env"], wrong, f"nodb_{SUFFIX}")
    env.update({"AWS_ENDPOINT_URL_S3": moto_store, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"})
    spec = narrowed(prune["spec"], f"mlflow_root_{SUFFIX}")
    spec["store"] = {**spec["store"], "bucket": bucket}
    r = run_prune(prune, env, spec, "failure")
    out = r.stdout + r.stderr
    assert r.returncode == 1 and "database failed" in out and "FAILED: database" in out, out[-3000:]
    assert wrong["password"] not in out and quote(wrong["password"], safe="") not in out
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
