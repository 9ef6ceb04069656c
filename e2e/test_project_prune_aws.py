"""Removing a project on target aws with retainDataOnDestroy=false: the scheduled project prune, run for real.

aws-env-prune.json and aws-env-prune-added.json are the aws target rendered with
`retainDataOnDestroy=false` and `projects=["alpha"]`, then `["alpha","gamma"]` (e2e/run). Each
holds the prune task's one container (components/trackingServer/awsPrune.ts,
projectPrune/awsSpec.ts) and the value `pulumi up` writes to the list parameter. The container
runs here as ECS would start it: its entry point (`python -c <script>`) with the venv's Python
(the image's requirements), its environment and the master secret's values, against:

| in AWS                         | here                                                                 |
|--------------------------------|----------------------------------------------------------------------|
| Aurora, the master user        | the test host's MariaDB / PostgreSQL and a per-run admin that, like Aurora's master, is not a superuser (PostgreSQL: CREATEROLE CREATEDB) |
| the projects' databases/users  | created by the projects' rendered AWS init runner (aws-env-projects.json) as that admin, as on AWS |
| the bucket, the SSM parameter  | moto S3 and SSM (AWS_ENDPOINT_URL_S3 / _SSM), any credentials        |
| the grace period (1 hour)      | narrowed to 20 seconds, slept through                                |
| RDS TLS (MLFLOW_DB_TLS_QUERY)  | dropped: no RDS certificate here (asserted equal to MLflow's)        |

Shared database servers: every name carries a per-run suffix: the rendered database name pattern
and protected names are narrowed to it, and each project name in the rendered list values gets
it (`alpha` -> `alpha-<suffix>`, so its database is `mlflow_alpha_<suffix>`); the rewrites are
asserted to hit the expected values. The Python rules are also checked, unnarrowed, on tables.
"""
import json
import os
import re
import secrets as pysecrets
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest

from conftest import BACKEND, ENTRYPOINT, OUT, PG_ENV, RUN_SUFFIX, _mysql_admin, _psql, base_env, non_superuser_admin, require
from test_project_prune import db_exists, moto_store, user_exists  # noqa: F401 (fixture)

SPEC = OUT / "aws-env-prune.json"
SPEC_ADDED = OUT / "aws-env-prune-added.json"
BEFORE = OUT / "aws-env-projects.json"
SUFFIX = f"pa{RUN_SUFFIX}"
PATTERN = "^mlflow_[a-z][a-z0-9]*(_[a-z0-9]+)*$"
INIT_RUNNER = ENTRYPOINT.with_name("project_db_init.py")
# Seconds, for the rendered 3600: longer than a prune run on a loaded machine (up to ~10 s).
GRACE = 20


def load(path):
    require(path.exists(), f"spec {path} not rendered (run e2e/run)")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def prune():
    data, added = load(SPEC), load(SPEC_ADDED)
    assert data["backend"] == BACKEND
    p = data["prune"]
    # Its own task, one essential container; `/`'s task has no prune container any more.
    assert p["containers"] == ["project-prune"] and p["rootContainers"] == ["mlflow", "proxy"]
    c = p["container"]
    assert c["essential"] is True and c["entryPoint"][:2] == ["python", "-c"] and "dependsOn" not in c
    assert sorted(s["name"] for s in c["secrets"]) == ["MLFLOW_DB_PASSWORD", "MLFLOW_DB_USER"]
    # Adding gamma changes the list only: the task (any revision of it) is the same.
    assert added["prune"]["container"] == c
    assert (p["list"], added["prune"]["list"]) == ({"type": "String", "value": '["alpha"]'}, {"type": "String", "value": '["alpha","gamma"]'})
    env = {e["name"]: e["value"] for e in c["environment"]}
    assert env.pop("MLFLOW_DB_TLS_QUERY") == p["mlflowEnvironment"]["MLFLOW_DB_TLS_QUERY"]
    return {"script": c["entryPoint"][2], "env": env, "spec": json.loads(env["MLFLOW_PROJECT_PRUNE_SPEC"]),
            "lists": {"alpha": p["list"]["value"], "alpha+gamma": added["prune"]["list"]["value"]}}


def script_defs(prune):
    ns = {}
    exec(prune["script"].rsplit("main()", 1)[0], ns)  # the definitions, without running main
    return ns


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


def create_project_db(project, admin, root_db, as_project=None):
    """The project's rendered AWS init runner (aws-env-projects.json), as the admin, renamed to `as_project`; returns the run's database name."""
    init = load(BEFORE)["projects"][project]["project-db-init"]
    env = {e["name"]: e["value"] for e in init["environment"]}
    env.pop("MLFLOW_DB_TLS_QUERY")
    name, run_name = f"mlflow_{project}", f"mlflow_{as_project or project}_{SUFFIX}"
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


def narrowed(spec, root_db, parameter):
    """The rendered rules, narrowed to this run's names: `/`'s `mlflow` becomes root_db, `mlflow_default` gets the suffix; this run's parameter, a short grace."""
    db = dict(spec["database"])
    assert (db["pattern"], db["minLength"], db["maxLength"]) == (PATTERN, 9, 31)
    assert db["protected"] == ["mlflow", "mlflow_default"]
    db["pattern"] = PATTERN[:-1] + f"_{SUFFIX}$"
    db["maxLength"] += len(SUFFIX) + 1
    db["protected"] = [root_db, f"mlflow_default_{SUFFIX}"]
    assert spec["list"] == {"parameter": "mlflow-aws-tracking-prune-projects", "graceSeconds": 3600}
    return {**spec, "database": db, "list": {"parameter": parameter, "graceSeconds": GRACE}}


def suffixed(value):
    """A rendered list value with this run's suffix on every name (`alpha` -> `alpha-<suffix>`)."""
    names = json.loads(value)
    assert names and all(re.fullmatch("[a-z]+", n) for n in names), names
    return json.dumps([f"{n}-{SUFFIX}" for n in names])


def run_prune(prune, env, spec, tag):
    env = {**base_env(), **env, "MLFLOW_PROJECT_PRUNE_SPEC": json.dumps(spec),
           # entrypoint.py lives in /opt/mlflow in the image; here in the repository.
           "PYTHONPATH": str(ENTRYPOINT.parent)}
    r = subprocess.run([sys.executable, "-c", prune["script"]], env=env, capture_output=True, text=True, timeout=300)
    (OUT / f"aws-project-prune-{tag}.log").write_text(r.stdout + r.stderr)
    return r




def test_python_name_rule_matches_the_rendered_rule_on_a_table(prune):
    """The script's own `allowed` on the unnarrowed rendered spec, kept names as the script derives them from the list (alpha, gamma)."""
    allowed = script_defs(prune)["allowed"]
    db, store = prune["spec"]["database"], prune["spec"]["store"]
    kept_dbs = {"mlflow_alpha", "mlflow_gamma"}
    cases = {"mlflow_alpha": False, "mlflow_gamma": False, "mlflow_beta_2": True, "mlflow": False, "mlflow_default": False, "root": False,
             "mlflow_Alpha": False, "mlflow_1a": False, "mlflow__a": False, "mlflow_ab_": False, "mlflow_a": False, "mlflow_" + "a" * 24: True,
             "mlflow_" + "a" * 25: False, "mlflow_alpha;drop": False, "mlflow_ab\n": False, "xmlflow_ab": False}
    assert {n: allowed(n, db, kept_dbs) for n in cases} == cases
    assert allowed("mlflow_admin", db, {"mlflow_admin"}) is False
    cases = {"beta": True, "beta-2": True, "alpha": False, "gamma": False, "default": False, "Upper": False, "a": False, "a--b": False,
             "x-": False, "a" * 24: True, "a" * 25: False, "beta\n": False}
    assert {n: allowed(n, store, {"alpha", "gamma"}) for n in cases} == cases


def test_kept_is_every_name_in_force_during_the_grace_period(prune):
    """The script's `kept_from` on histories (versions deliberately out of order: it sorts by Version)."""
    kept_from = script_defs(prune)["kept_from"]
    now = datetime(2026, 1, 2, tzinfo=timezone.utc)

    def v(n, hours_ago, names):
        return {"Version": n, "LastModifiedDate": now - timedelta(hours=hours_ago), "Value": json.dumps(names)}
    # The list is younger than the grace period: nothing is deleted at all.
    assert kept_from([v(1, 0.5, ["a"])], 3600, now) is None
    # b removed 30 min ago: still kept; removed 2 h ago: not.
    assert kept_from([v(2, 0.5, ["a"]), v(1, 5, ["a", "b"])], 3600, now) == {"a", "b"}
    assert kept_from([v(2, 2, ["a"]), v(1, 5, ["a", "b"])], 3600, now) == {"a"}
    # Removed and re-added within the grace period; c added just now.
    assert kept_from([v(1, 5, ["a", "b"]), v(2, 0.6, ["a"]), v(3, 0.2, ["a", "b", "c"])], 3600, now) == {"a", "b", "c"}
    # Only the version in force at the cutoff and later count: b left long ago.
    assert kept_from([v(1, 9, ["b"]), v(2, 5, []), v(3, 0.1, ["a"])], 3600, now) == {"a"}
    with pytest.raises(RuntimeError, match="not a JSON list of names"):
        kept_from([v(1, 5, {"a": 1})], 3600, now)


def run_env(prune, admin, root_db, moto_store):
    env = connection_env(prune["env"], admin, root_db if BACKEND == "mysql" else prune["env"]["MLFLOW_DB_NAME"])
    assert prune["env"]["MLFLOW_DB_NAME"] == ("mlflow" if BACKEND == "mysql" else "postgres")
    assert env["AWS_DEFAULT_REGION"] == "eu-west-1"
    env.update({"AWS_ENDPOINT_URL_S3": moto_store, "AWS_ENDPOINT_URL_SSM": moto_store, "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"})
    return env


def clients(moto_store):
    import boto3

    kw = dict(endpoint_url=moto_store, region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    return boto3.client("s3", **kw), boto3.client("ssm", **kw)


def write_list(ssm, name, value):
    """What `pulumi up` does to the parameter (a String, overwritten: a new version)."""
    ssm.put_parameter(Name=name, Type="String", Value=value, Overwrite=True)


def test_prune_reads_the_current_list_a_stale_task_deletes_no_added_project_and_removal_waits_for_the_grace(prune, admin, moto_store):  # noqa: F811
    root_db = f"mlflow_root_{SUFFIX}"
    parameter = f"mlflow-prune-projects-{SUFFIX}"
    created = []
    s3, ssm = clients(moto_store)
    bucket = prune["spec"]["store"]["bucket"]
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    spec = narrowed(prune["spec"], root_db, parameter)
    env = run_env(prune, admin, root_db, moto_store)
    alpha_p, beta_p, gamma_p = (f"{p}-{SUFFIX}" for p in ("alpha", "beta", "gamma"))

    def objects():
        return sorted(o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket) for o in page.get("Contents", []))

    def run(tag):
        r = run_prune(prune, env, spec, tag)
        out = r.stdout + r.stderr
        assert r.returncode == 0 and "project-prune: done" in out, out[-3000:]
        assert admin["password"] not in out
        return out, [line for line in out.splitlines() if "DROP " in line]
    try:
        create_root_like_db(root_db)
        created.append(root_db)
        # The stack has alpha (the list as rendered with projects=["alpha"]); beta was removed
        # long before, its data left behind. The list is older than the grace period.
        write_list(ssm, parameter, suffixed(prune["lists"]["alpha"]))
        for p in ("alpha", "beta"):
            created.append(f"mlflow_{p}_{SUFFIX}")
            assert create_project_db(p, admin, root_db) == created[-1]
        alpha, beta = created[1], created[2]
        kept_keys = ["0/root-run/artifacts/model.pkl", f"projects/{alpha_p}/1/a/artifacts/x.txt", "projects-notes.txt",
                     "projects/Upper/x.txt", "projects/default/x.txt", "projects/a--b/x.txt"]
        # More than one delete_objects batch (1000 keys) and more than one listing page.
        beta_keys = [f"projects/{beta_p}/1/r{i:04d}/artifacts/f.txt" for i in range(1005)]
        for k in kept_keys + beta_keys:
            s3.put_object(Bucket=bucket, Key=k, Body=b"x")
        time.sleep(GRACE + 1)

        # pulumi up adds gamma: the list first (gamma's service depends on it), then gamma's data.
        # The prune task was rendered before gamma existed (the same container, asserted in the
        # fixture): it reads the list, so gamma is kept; beta, out of every version, goes.
        write_list(ssm, parameter, suffixed(prune["lists"]["alpha+gamma"]))
        created.append(f"mlflow_gamma_{SUFFIX}")
        gamma = create_project_db("alpha", admin, root_db, as_project="gamma")
        assert gamma == created[-1]
        gamma_keys = [f"projects/{gamma_p}/1/g/artifacts/y.txt"]
        s3.put_object(Bucket=bucket, Key=gamma_keys[0], Body=b"x")
        out, drops = run("added")
        order = ["DATABASE", "ROLE"] if BACKEND == "postgres" else ["USER", "DATABASE"]
        assert [d.split()[2] for d in drops] == order and all(beta in d for d in drops), drops
        assert [line for line in out.splitlines() if "deleted" in line] == [f"project-prune: deleted 1005 objects under s3://{bucket}/projects/{beta_p}/"], out
        assert not db_exists(beta) and not user_exists(beta)
        assert all(db_exists(n) for n in (alpha, gamma, root_db)) and user_exists(alpha) and user_exists(gamma) and user_exists(admin["user"])
        assert objects() == sorted(kept_keys + gamma_keys)

        # pulumi up removes gamma: within the grace period nothing of it goes (re-adding it now would lose nothing).
        write_list(ssm, parameter, suffixed(prune["lists"]["alpha"]))
        out, drops = run("removed-within-grace")
        assert drops == [] and "deleted" not in out, out
        assert db_exists(gamma) and user_exists(gamma) and objects() == sorted(kept_keys + gamma_keys)

        # After the grace period: gamma's database, user and objects go; alpha and `/` stay.
        time.sleep(GRACE + 1)
        out, drops = run("removed")
        assert [d.split()[2] for d in drops] == order and all(gamma in d for d in drops), drops
        assert [line for line in out.splitlines() if "deleted" in line] == [f"project-prune: deleted 1 objects under s3://{bucket}/projects/{gamma_p}/"], out
        assert not db_exists(gamma) and not user_exists(gamma)
        assert db_exists(alpha) and user_exists(alpha) and db_exists(root_db) and objects() == sorted(kept_keys)
        out, drops = run("again")
        assert drops == [] and "deleted" not in out, out  # idempotent: nothing left to do
    finally:
        for n in created:
            drop(n)


def test_prune_deletes_nothing_without_a_list_old_enough_or_at_all(prune, admin, moto_store):  # noqa: F811
    """No parameter (exit 1, both parts fail); a parameter younger than the grace period (nothing to do): the objects stay."""
    s3, ssm = clients(moto_store)
    bucket = prune["spec"]["store"]["bucket"] + "-n"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=bucket, Key="projects/gone/x.txt", Body=b"x")
    root_db = f"mlflow_root_{SUFFIX}"
    parameter = f"mlflow-prune-young-{SUFFIX}"
    spec = narrowed(prune["spec"], root_db, parameter)
    spec["store"] = {**spec["store"], "bucket": bucket}
    # The database part is not under test here: a rule that matches nothing.
    spec["database"] = {**spec["database"], "pattern": "^$"}
    env = run_env(prune, admin, root_db, moto_store)
    try:
        create_root_like_db(root_db)
        r = run_prune(prune, env, spec, "no-list")
        out = r.stdout + r.stderr
        assert r.returncode == 1 and "FAILED: database, store" in out and "ParameterNotFound" in out, out[-3000:]
        write_list(ssm, parameter, "[]")
        r = run_prune(prune, env, spec, "young-list")
        out = r.stdout + r.stderr
        assert r.returncode == 0 and "nothing deleted this run" in out, out[-3000:]
        assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1
    finally:
        drop(root_db)


def test_prune_failure_is_reported_and_the_other_part_still_runs(prune, admin, moto_store):  # noqa: F811
    """A database the admin cannot open (a database that does not exist: the servers here trust local
    logins on PostgreSQL, so a wrong password alone would not fail): the database part fails (exit 1,
    the password not printed), the store part still runs."""
    s3, ssm = clients(moto_store)
    bucket = prune["spec"]["store"]["bucket"] + "-f"
    parameter = f"mlflow-prune-failure-{SUFFIX}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    s3.put_object(Bucket=bucket, Key="projects/gone/x.txt", Body=b"x")
    write_list(ssm, parameter, "[]")
    wrong = {**admin, "password": "wr@ng:%/" + pysecrets.token_urlsafe(8)}
    env = run_env(prune, wrong, f"nodb_{SUFFIX}", moto_store)
    if BACKEND == "postgres":
        env["MLFLOW_DB_NAME"] = f"nodb_{SUFFIX}"
    spec = narrowed(prune["spec"], f"mlflow_root_{SUFFIX}", parameter)
    spec["store"] = {**spec["store"], "bucket": bucket}
    spec["list"]["graceSeconds"] = 0  # the list counts at once: the store part has something to delete
    r = run_prune(prune, env, spec, "failure")
    out = r.stdout + r.stderr
    assert r.returncode == 1 and "database failed" in out and "FAILED: database" in out, out[-3000:]
    assert wrong["password"] not in out and quote(wrong["password"], safe="") not in out
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
