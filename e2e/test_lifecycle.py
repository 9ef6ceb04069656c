"""Day two on the local target, per backend.

1. Deploy the first render (spec.json) and log runs, metric histories, params, tags,
   artifacts and a registered model version with an alias, through the proxy.
2. "pulumi destroy" with data kept, then "pulumi up" from fresh state: every process stops,
   the database (same database and user, holding the FIRST render's passwords, as a kept
   volume does) and the bucket stay. The second render (spec-day2.json, rendered by e2e/run
   from the same config with new Pulumi state, so every generated secret is new) is started:
   its bucket-init script, its database reconcile step run for real against MariaDB /
   PostgreSQL as the container runs it, MLflow and nginx. Everything from step 1 reads back
   identical through the proxy with the new credentials.
4. The second render's bucket-init runs again against the existing bucket and identity with
   only the commands the mc image has (sh and mc): exit 0, and MLflow's identity still works.

Rewrites are the ones in conftest.py (names suffixed on the shared servers, addresses); the
admin user of the database (MySQL root, PostgreSQL POSTGRES_USER) becomes a per-run user too,
so the reconcile step's root/superuser password change touches no shared account.
moto keeps running across step 2: it holds the bucket the way MinIO's kept volume does.
"""
import base64
import hashlib
import hmac
import json
import os
import re
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from conftest import (AUTH_DB_URI, BACKEND, MINIO_URL, OUT, PG_ENV, RUN_SUFFIX, SPEC_FILE, MlflowServer, Nginx, Proc, Redacted,
                      _mysql_admin, _psql, auth_db_uri, env_dict, free_port, is_auth_db_init, is_backup, mlflow_env, policy_from_script,
                      require, upload, wait_for)

SPEC2_FILE = SPEC_FILE.with_name("spec-day2.json")
SUFFIX = f"l{RUN_SUFFIX}"
ROLES = {"artifact-store", "bucket-init", "backend-store", "tracking-server", "auth-proxy", "garbage-collection"}
WRAPPER = "/usr/local/bin/mlflow-db-entrypoint.sh"


def load_spec(path):
    require(path.exists(), f"spec {path} not rendered (run e2e/run)")
    data = json.loads(path.read_text())
    assert data["backend"] == BACKEND
    # The auth app's database init (team accounts) is created by conftest.auth_db_uri.
    data["by_role"] = {c["role"]: c for c in data["containers"] if not is_auth_db_init(data, c) and not is_backup(c)}
    assert set(data["by_role"]) == ROLES, sorted(data["by_role"])
    return Redacted(data)


# --- the kept database -----------------------------------------------------------------------

def scram_matches(stored, password):
    """Checks a PostgreSQL SCRAM-SHA-256 verifier (pg_authid.rolpassword, RFC 7677) against a password.

    The local server trusts every connection, so the stored verifier is what proves the password.
    """
    m = re.fullmatch(r"SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)", stored or "")
    if not m:
        return False
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(m.group(2)), int(m.group(1)))
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    return hmac.compare_digest(base64.b64encode(hashlib.sha256(client_key).digest()).decode(), m.group(3))


class KeptDatabase:
    """The database container's data, on the shared server, under per-run names."""

    def __init__(self, spec):
        env = env_dict(spec["by_role"]["backend-store"])
        if BACKEND == "mysql":
            self.name, self.user, self.admin_name = env["MYSQL_DATABASE"], env["MYSQL_USER"], "root"
        else:
            self.name, self.user, self.admin_name = env["MLFLOW_DB_NAME"], env["MLFLOW_DB_USER"], env["POSTGRES_USER"]
        self.run_name, self.run_user, self.run_admin = f"{self.name}_{SUFFIX}", f"{self.user}_{SUFFIX}", f"{self.admin_name}_{SUFFIX}"

    @staticmethod
    def passwords(spec):
        env = env_dict(spec["by_role"]["backend-store"])
        if BACKEND == "mysql":
            return env["MYSQL_PASSWORD"], env["MYSQL_ROOT_PASSWORD"]
        return env["MLFLOW_DB_PASSWORD"], env["POSTGRES_PASSWORD"]

    # MySQL: the rendered reconcile SQL, as mysqld runs an --init-file (every statement, full privileges).
    def _mysql_sql(self, spec):
        c = spec["by_role"]["backend-store"]
        wrapper = upload(c, WRAPPER)["content"]
        m = re.search(r"--init-file=(\S+)", wrapper)
        assert m, "the MySQL entrypoint wrapper no longer passes --init-file"
        sql = upload(c, m.group(1))["content"]
        for old, new in ((f"'{self.user}'@'%'", f"'{self.run_user}'@'%'"), (f"`{self.name}`", f"`{self.run_name}`"),
                         ("'root'@", f"'{self.run_admin}'@")):
            assert old in sql, f"reconcile SQL has no {old}"
            sql = sql.replace(old, new)
        return [line for line in sql.splitlines() if line.strip() and not line.startswith("--")]

    def _run_mysql(self, statements):
        conn = _mysql_admin()
        with conn.cursor() as cur:
            for s in statements:
                cur.execute(s)
        conn.close()

    def _run_pg_script(self, spec, path):
        c = spec["by_role"]["backend-store"]
        script = OUT / f"lifecycle-{Path(path).name}"
        script.write_text(upload(c, path)["content"])
        env = {**os.environ, **PG_ENV, **env_dict(c), "POSTGRES_USER": self.run_admin, "POSTGRES_DB": "postgres",
               "MLFLOW_DB_NAME": self.run_name, "MLFLOW_DB_USER": self.run_user}
        r = subprocess.run(["/bin/sh", str(script)], env=env, capture_output=True, text=True, timeout=120)
        (OUT / "lifecycle-db.log").open("a").write(f"== {path}\n{r.stdout}{r.stderr}")
        assert r.returncode == 0, f"{path} failed, see {OUT / 'lifecycle-db.log'}"

    def create_first(self, spec):
        """An empty data directory started with the first render, as the official entrypoint does it."""
        app_pw, admin_pw = self.passwords(spec)
        if BACKEND == "mysql":
            # docker_setup_db: root@'%' with MYSQL_ROOT_PASSWORD, MYSQL_DATABASE, MYSQL_USER with ALL on it;
            # then docker_process_init_files runs /docker-entrypoint-initdb.d/10-mlflow.sql.
            self._run_mysql([
                f"CREATE USER '{self.run_admin}'@'%' IDENTIFIED BY {_mysql_literal(admin_pw)}",
                f"CREATE DATABASE `{self.run_name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin",
                f"CREATE USER '{self.run_user}'@'%' IDENTIFIED BY {_mysql_literal(app_pw)}",
                f"GRANT ALL ON `{self.run_name}`.* TO '{self.run_user}'@'%'",
            ])
            self._run_mysql(self._mysql_sql(spec))
        else:
            # initdb --username=POSTGRES_USER --pwfile, then /docker-entrypoint-initdb.d/10-mlflow.sh.
            r = _psql(f"CREATE ROLE \"{self.run_admin}\" SUPERUSER LOGIN PASSWORD {_pg_literal(admin_pw)}")
            assert r.returncode == 0, r.stderr
            self._run_pg_script(spec, "/docker-entrypoint-initdb.d/10-mlflow.sh")

    def reconcile(self, spec):
        """The new render's reconcile step on the kept data, as its container runs it at start."""
        if BACKEND == "mysql":
            self._run_mysql(self._mysql_sql(spec))
        else:
            wrapper = upload(spec["by_role"]["backend-store"], WRAPPER)["content"]
            m = re.search(r"docker_temp_server_start \"\$@\"\n\s*(\S+)\n\s*docker_temp_server_stop", wrapper)
            assert m, "the PostgreSQL entrypoint wrapper no longer runs a reconcile script on the temporary server"
            self._run_pg_script(spec, m.group(1))

    def accepts(self, user, password):
        if BACKEND == "mysql":
            import pymysql

            try:
                pymysql.connect(host=os.environ.get("E2E_MYSQL_HOST", "127.0.0.1"), port=int(os.environ.get("E2E_MYSQL_PORT", "3306")),
                                user=user, password=password, connect_timeout=10).close()
                return True
            except pymysql.err.OperationalError as e:
                assert e.args[0] == 1045, f"unexpected MySQL error {e.args[0]}"
                return False
        r = _psql(f"SELECT rolpassword FROM pg_authid WHERE rolname = {_pg_literal(user)}")
        assert r.returncode == 0, r.stderr
        return scram_matches(r.stdout.strip(), password)

    def uri(self, spec):
        from sqlalchemy.engine import make_url

        uri = make_url(env_dict(spec["by_role"]["tracking-server"])["MLFLOW_BACKEND_STORE_URI"])
        if BACKEND == "mysql":
            host, port = os.environ.get("E2E_MYSQL_HOST", "127.0.0.1"), int(os.environ.get("E2E_MYSQL_PORT", "3306"))
        else:
            host, port = PG_ENV["PGHOST"], int(PG_ENV["PGPORT"])
        return uri.set(host=host, port=port, username=self.run_user, database=self.run_name).render_as_string(hide_password=False)

    def drop(self):
        if BACKEND == "mysql":
            conn = _mysql_admin()
            with conn.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{self.run_name}`")
                for u in (self.run_user, self.run_admin):
                    cur.execute("DROP USER IF EXISTS %s@'%%'", (u,))
            conn.close()
        else:
            _psql(f'DROP DATABASE IF EXISTS "{self.run_name}" WITH (FORCE)')
            _psql(f'DROP ROLE IF EXISTS "{self.run_user}"')
            _psql(f'DROP ROLE IF EXISTS "{self.run_admin}"')


def _mysql_literal(value):
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _pg_literal(value):
    return "'" + value.replace("'", "''") + "'"


# --- the kept bucket: moto, and a stand-in mc that does what mc does, on moto --------------

MC_STAND_IN = r'''#!{python}
"""Stand-in for mc (the subset bucket-init uses), acting on moto with the MinIO root's stand-in identity."""
import json, os, sys
import boto3
from botocore.exceptions import ClientError

state_path = os.environ["E2E_MC_STATE"]
state = json.load(open(state_path))
args = sys.argv[1:]
with open(state["calls"], "a") as f:
    f.write(json.dumps({{"argv": args, "mc_host": os.environ.get("MC_HOST_store", "")}}) + "\n")
creds = dict(endpoint_url=state["endpoint"], region_name="us-east-1",
             aws_access_key_id=state["admin"]["key"], aws_secret_access_key=state["admin"]["secret"])
s3, iam = boto3.client("s3", **creds), boto3.client("iam", **creds)


def bucket(target):
    alias, _, name = target.partition("/")
    assert alias == "store", target
    return name


def policy_arn(name):
    return next((p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"] == name), None)


def code(e):
    return e.response["Error"]["Code"]


if args == ["ready", "store"]:
    s3.list_buckets()
    print("The cluster is ready")
elif args[:2] == ["mb", "--ignore-existing"]:
    name = bucket(args[2])
    if name in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        print(f"Bucket `store/{{name}}` already exists")
    else:
        s3.create_bucket(Bucket=name)
        print(f"Bucket `store/{{name}}` created successfully")
elif args[:3] == ["anonymous", "set", "private"]:
    try:
        s3.delete_bucket_policy(Bucket=bucket(args[3]))
    except ClientError as e:
        if code(e) != "NoSuchBucketPolicy":
            raise
    print("Access permission set to private")
elif args[:3] == ["admin", "policy", "create"]:
    name, doc = args[4], open(args[5]).read()
    json.loads(doc)
    arn = policy_arn(name)
    if arn is None:
        iam.create_policy(PolicyName=name, PolicyDocument=doc)
    else:
        for v in iam.list_policy_versions(PolicyArn=arn)["Versions"]:
            if not v["IsDefaultVersion"]:
                iam.delete_policy_version(PolicyArn=arn, VersionId=v["VersionId"])
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc, SetAsDefault=True)
    print(f"Created policy `{{name}}` successfully.")
elif args[:3] == ["admin", "user", "add"]:
    user, secret = args[4], sys.stdin.readline().rstrip("\n")
    try:
        iam.get_user(UserName=user)
    except ClientError as e:
        if code(e) != "NoSuchEntity":
            raise
        iam.create_user(UserName=user)
    users = state.setdefault("users", {{}})
    if user not in users:
        # moto makes its own key pair; the harness maps it into MLflow's AWS_* variables.
        key = iam.create_access_key(UserName=user)["AccessKey"]
        users[user] = {{"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}}
    users[user]["minio_secret"] = secret
    json.dump(state, open(state_path, "w"))
    print(f"Added user `{{user}}` successfully.")
elif args[:3] == ["admin", "policy", "attach"]:
    name, user = args[4], args[args.index("--user") + 1]
    attached = [p["PolicyName"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"]]
    if name in attached:
        # What mc before RELEASE.2024-10 does (minio/mc#4670); the pinned mc exits 0 here.
        print("mc: <ERROR> Unable to make user/group policy association. The specified policy change is already in effect. "
              "(Specified policy update has no net effect).", file=sys.stderr)
        sys.exit(1)
    iam.attach_user_policy(UserName=user, PolicyArn=policy_arn(name))
    print(f"Attached Policies: [{{name}}]\nTo User: {{user}}")
elif args[:3] == ["admin", "user", "info"]:
    user = args[4]
    iam.get_user(UserName=user)
    names = ",".join(p["PolicyName"] for p in iam.list_attached_user_policies(UserName=user)["AttachedPolicies"])
    print(f"AccessKey: {{user}}\nStatus: enabled\nPolicyName: {{names}}")
else:
    print(f"stand-in mc: unsupported arguments {{args}}", file=sys.stderr)
    sys.exit(2)
'''


class KeptBucketStore:
    """moto (S3 + IAM enforced) standing in for MinIO with its kept volume; the root identity is an admin user."""

    def __init__(self, spec):
        import boto3

        self.dir = OUT / "lifecycle-mc"
        self.bin = self.dir / "bin"
        self.bin.mkdir(parents=True, exist_ok=True)
        (self.bin / "mc").write_text(MC_STAND_IN.format(python=sys.executable))
        os.chmod(self.bin / "mc", 0o755)
        self.state_file, self.calls = self.dir / "state.json", self.dir / "calls.jsonl"
        port = free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        self.proc = Proc("lifecycle-moto", [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                         {**os.environ, "MOTO_PORT": str(port)}).start()
        wait_for("moto", lambda: requests.get(f"{self.endpoint}/moto-api/", timeout=2).status_code == 200, 60,
                 proc=self.proc.popen, log=self.proc.log)
        boot = dict(endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        iam = boto3.client("iam", **boot)
        root = env_dict(spec["by_role"]["bucket-init"])["MINIO_ROOT_USER"]
        iam.create_user(UserName=root)
        iam.put_user_policy(UserName=root, PolicyName="root", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        key = iam.create_access_key(UserName=root)["AccessKey"]
        self.state_file.write_text(json.dumps({"endpoint": self.endpoint, "calls": str(self.calls),
                                               "admin": {"key": key["AccessKeyId"], "secret": key["SecretAccessKey"]}}))
        os.chmod(self.state_file, 0o600)
        # From here on moto checks signatures and IAM policies on every request.
        assert requests.post(f"{self.endpoint}/moto-api/reset-auth", data=b"0", timeout=10).status_code == 200

    def run_bucket_init(self, spec, label):
        """Executes the rendered script with /bin/sh and only `mc` on PATH, the container's env otherwise."""
        c = spec["by_role"]["bucket-init"]
        script = self.dir / f"bucket-init-{label}.sh"
        script.write_text(upload(c, "/init/bucket-init.sh")["content"])
        env = {**env_dict(c), "PATH": str(self.bin), "E2E_MC_STATE": str(self.state_file)}
        assert env["MINIO_ENDPOINT"] == MINIO_URL
        start = len(self.calls.read_text().splitlines()) if self.calls.exists() else 0
        r = subprocess.run(["/bin/sh", str(script)], env=env, capture_output=True, text=True, timeout=180)
        (OUT / "lifecycle-bucket-init.log").open("a").write(f"== {label} exit {r.returncode}\n{r.stdout}{r.stderr}")
        calls = [json.loads(x) for x in self.calls.read_text().splitlines()[start:]]
        return r, calls

    def identity(self, spec):
        """What conftest.mlflow_env expects: the rendered identity and moto's key pair for it."""
        ienv = env_dict(spec["by_role"]["bucket-init"])
        user = json.loads(self.state_file.read_text())["users"][ienv["MLFLOW_ACCESS_KEY"]]
        if user["minio_secret"] != ienv["MLFLOW_SECRET_KEY"]:
            pytest.fail("the identity's secret key is not the one this render's bucket-init set", pytrace=False)
        return Redacted({"endpoint": self.endpoint, "rendered_access_key": ienv["MLFLOW_ACCESS_KEY"],
                         "rendered_secret": ienv["MLFLOW_SECRET_KEY"], "mlflow_key": user["key"], "mlflow_secret": user["secret"]})


# --- a deployment: MLflow and nginx of one render ----------------------------------------

class Deployment:
    def __init__(self, spec, db, store, label):
        # Team accounts: one auth database for both renders, reconciled by each render's init as `pulumi up` does.
        auth = auth_db_uri(spec, "lifecycle")
        env = mlflow_env(env_dict(spec["by_role"]["tracking-server"]), {"uri": db.uri(spec)}, store.identity(spec),
                         **({AUTH_DB_URI: auth} if auth else {}))
        self.mlflow = MlflowServer(env, name=f"lifecycle-mlflow-{label}")
        self.nginx = None
        self.spec, self.label = spec, label

    def start(self):
        self.mlflow.start()
        self.nginx = Nginx(self.spec, self.mlflow.port, name=f"lifecycle-nginx-{self.label}").start()
        return self

    def stop(self):
        for p in (self.nginx.proc if self.nginx else None, self.mlflow.proc):
            if p is not None:
                p.stop()

    @contextmanager
    def client(self):
        import mlflow
        from mlflow.tracking._tracking_service import utils as tracking_utils

        # A new client process: MLflow caches each run's artifact repository (with the proxy
        # address it resolved) per process, and day one's proxy is gone.
        tracking_utils._artifact_repos_cache.clear()
        keys = ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_HTTP_REQUEST_MAX_RETRIES")
        saved = {k: os.environ.get(k) for k in keys}
        os.environ.update({"MLFLOW_TRACKING_URI": self.nginx.url, "MLFLOW_TRACKING_USERNAME": self.spec["clientUser"],
                           "MLFLOW_TRACKING_PASSWORD": self.spec["clientPassword"], "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2"})
        try:
            yield mlflow.MlflowClient(self.nginx.url)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


# --- what a team logs on day one, and reads back ----------------------------------------------

def log_day_one(client, tmp):
    from mlflow.entities import Metric, Param, RunTag

    exp_id = client.create_experiment(f"lifecycle-{BACKEND}-{SUFFIX}")
    run = client.create_run(exp_id, run_name="day-one", tags={"team": "platform"})
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    client.log_batch(run_id, params=[Param("lr", "0.01"), Param("layers", "3")],
                     tags=[RunTag("stage", "day1"), RunTag("unicode", "Grüße ✓")],
                     metrics=[Metric("loss", 1.0 / (i + 1), now + i, i) for i in range(300)]
                     + [Metric("accuracy", i / 50, now + i, i) for i in range(50)])
    (tmp / "notes.txt").write_text("day one\n")
    (tmp / "weights.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    client.log_artifact(run_id, str(tmp / "notes.txt"), artifact_path="docs")
    client.log_artifact(run_id, str(tmp / "weights.bin"), artifact_path="model")
    client.set_terminated(run_id)
    name = f"lifecycle-model-{BACKEND}-{SUFFIX}"
    client.create_registered_model(name)
    mv = client.create_model_version(name, source=f"{client.get_run(run_id).info.artifact_uri}/model", run_id=run_id)
    client.set_registered_model_alias(name, "champion", mv.version)
    return {"experiment": exp_id, "run": run_id, "model": name}


def snapshot(client, ids, tmp):
    """Everything a user reads back, in comparable form (artifacts by sha256 of the downloaded bytes)."""
    run = client.get_run(ids["run"])
    histories = {k: sorted((m.step, m.timestamp, m.value) for m in client.get_metric_history(ids["run"], k)) for k in ("loss", "accuracy")}
    arts = {}
    for top in client.list_artifacts(ids["run"]):
        for f in client.list_artifacts(ids["run"], top.path):
            local = client.download_artifacts(ids["run"], f.path, str(tmp))
            arts[f.path] = (f.file_size, hashlib.sha256(Path(local).read_bytes()).hexdigest())
    mv = client.get_model_version_by_alias(ids["model"], "champion")
    return {
        "experiment": client.get_experiment(ids["experiment"]).name,
        "run": (run.info.run_name, run.info.status, run.info.start_time, run.info.end_time, run.info.artifact_uri),
        "params": run.data.params, "tags": {k: v for k, v in run.data.tags.items()}, "metrics": run.data.metrics,
        "histories": histories, "artifacts": arts,
        "model_version": (mv.version, mv.source, mv.run_id, mv.status, sorted(mv.aliases)),
    }


# --- the scenario ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def life(tmp_path_factory):
    first, second = load_spec(SPEC_FILE), load_spec(SPEC2_FILE)
    if BACKEND == "mysql":
        try:
            _mysql_admin().close()
        except Exception as e:  # noqa: BLE001
            require(False, f"MariaDB/MySQL not reachable: {e}")
    else:
        require(_psql("select 1").returncode == 0, "PostgreSQL not reachable")
    db = KeptDatabase(first)
    state = {"first": first, "second": second, "db": db, "tmp": tmp_path_factory.mktemp("lifecycle"), "deployments": []}
    try:
        state["store"] = KeptBucketStore(first)
        yield state
    finally:
        for d in state["deployments"]:
            d.stop()
        if "store" in state:
            state["store"].proc.stop()
        db.drop()


def test_second_render_has_new_generated_secrets(life):
    """Fresh Pulumi state: every generated password differs, the configuration is the same."""
    first, second = life["first"], life["second"]
    assert first["config"] == second["config"]
    for role, names in {"backend-store": ("MYSQL_PASSWORD", "MYSQL_ROOT_PASSWORD", "MLFLOW_DB_PASSWORD", "POSTGRES_PASSWORD"),
                        "artifact-store": ("MINIO_ROOT_PASSWORD",), "bucket-init": ("MLFLOW_SECRET_KEY",)}.items():
        a, b = env_dict(first["by_role"][role]), env_dict(second["by_role"][role])
        for n in (n for n in names if n in a):
            assert a[n] != b[n], f"{role} {n} is the same in both renders"
    if "password" not in first["config"]:
        assert first["clientPassword"] != second["clientPassword"], "the generated proxy password is the same in both renders"


def test_day1_deploy_and_log(life):
    store, db, first = life["store"], life["db"], life["first"]
    db.create_first(first)
    r, _ = store.run_bucket_init(first, "day1")
    assert r.returncode == 0, f"bucket-init (first deploy) exited {r.returncode}: see {OUT / 'lifecycle-bucket-init.log'}"
    dep = Deployment(first, db, store, "day1").start()
    life["deployments"].append(dep)
    with dep.client() as client:
        life["ids"] = log_day_one(client, life["tmp"])
        life["day1"] = snapshot(client, life["ids"], life["tmp"] / "day1")
    assert life["day1"]["params"] == {"lr": "0.01", "layers": "3"}
    assert len(life["day1"]["histories"]["loss"]) == 300 and len(life["day1"]["artifacts"]) == 2
    assert life["day1"]["model_version"][4] == ["champion"]


def test_day2_destroy_keep_data_and_redeploy(life):
    assert "day1" in life, "day one did not complete"
    store, db, first, second = life["store"], life["db"], life["first"], life["second"]
    t0 = time.monotonic()
    # pulumi destroy: every process stops; the database and the bucket stay.
    for d in life["deployments"]:
        d.stop()
    new_app, new_admin = KeptDatabase.passwords(second)
    old_app, old_admin = KeptDatabase.passwords(first)
    # What the kept volume holds: the first render's passwords. The new ones are refused.
    assert db.accepts(db.run_user, old_app) and not db.accepts(db.run_user, new_app)

    # pulumi up from fresh state: bucket-init, the database container's start, MLflow, nginx.
    r, calls = store.run_bucket_init(second, "day2")
    assert r.returncode == 0, f"bucket-init (second deploy) exited {r.returncode}: see {OUT / 'lifecycle-bucket-init.log'}"
    minio_root = env_dict(second["by_role"]["bucket-init"])
    expected_host = f"http://{minio_root['MINIO_ROOT_USER']}:{minio_root['MINIO_ROOT_PASSWORD']}@minio:9000"
    if not all(c["mc_host"] == expected_host for c in calls):
        pytest.fail("mc did not get the second render's root identity through MC_HOST_store", pytrace=False)
    db.reconcile(second)
    assert db.accepts(db.run_user, new_app) and not db.accepts(db.run_user, old_app), "app password not reconciled"
    assert db.accepts(db.run_admin, new_admin) and not db.accepts(db.run_admin, old_admin), "admin password not reconciled"

    dep = Deployment(second, db, store, "day2").start()
    life["deployments"].append(dep)
    if first["clientPassword"] != second["clientPassword"]:
        old = requests.get(f"{dep.nginx.url}/api/2.0/mlflow/experiments/search?max_results=1",
                           auth=(first["clientUser"], first["clientPassword"]), timeout=10)
        assert old.status_code == 401, "the first render's proxy password still works"
    with dep.client() as client:
        day2 = snapshot(client, life["ids"], life["tmp"] / "day2")
    for key in life["day1"]:
        assert day2[key] == life["day1"][key], f"{key} differs after destroy + up"
    (OUT / "timings.txt").open("a").write(f"{BACKEND} lifecycle destroy+up with kept data: {time.monotonic() - t0:.1f}s to identical read-back\n")


def test_bucket_init_rerun_keeps_identity(life):
    assert len(life["deployments"]) == 2, "day two did not complete"
    store, second, dep = life["store"], life["second"], life["deployments"][-1]
    r, calls = store.run_bucket_init(second, "rerun")
    assert r.returncode == 0, f"bucket-init re-run exited {r.returncode}: see {OUT / 'lifecycle-bucket-init.log'}"
    e = env_dict(second["by_role"]["bucket-init"])
    bucket, policy, user = e["ARTIFACT_BUCKET"], e["MLFLOW_POLICY_NAME"], e["MLFLOW_ACCESS_KEY"]
    assert [" ".join(c["argv"]) for c in calls] == [
        "ready store", f"mb --ignore-existing store/{bucket}", f"anonymous set private store/{bucket}",
        f"admin policy create store {policy} /tmp/mlflow-policy.json", f"admin user add store {user}",
        f"admin policy attach store {policy} --user {user}", f"admin user info store {user}"]
    # The stand-in answered the attach like mc before RELEASE.2024-10: exit 1, "already in effect".
    assert f"policy {policy} was already attached" in r.stdout and "ready; identity" in r.stdout and r.stderr == ""
    # MLflow (not restarted) still writes and reads artifacts with its identity.
    tmp = life["tmp"]
    (tmp / "after-rerun.txt").write_text("still writable\n")
    with dep.client() as client:
        client.log_artifact(life["ids"]["run"], str(tmp / "after-rerun.txt"), artifact_path="docs")
        local = client.download_artifacts(life["ids"]["run"], "docs/after-rerun.txt", str(tmp / "rerun"))
    assert Path(local).read_text() == "still writable\n"
