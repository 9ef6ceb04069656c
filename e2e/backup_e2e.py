"""The backup's containers (components/backup), run for real; shared by test_backup.py (the server
at /) and test_projects.py (a project).

| container (role)                  | runs here as                                       | rewritten                                   |
|-----------------------------------|----------------------------------------------------|---------------------------------------------|
| <stack>-backup-grant (backup-init)| its rendered backup-db.sh `grant`, with `sh` and   | DB_HOST/DB_PORT, the admin user/password ->  |
|                                   | the host's mysql / psql, as the server's admin     | the machine's; database and backup user      |
|                                   |                                                    | names get the per-run suffix (in the heredoc)|
| <stack>-backup-databases (backup) | the same script's `once` / `loop`, with the host's | the same names in BACKUP_DATABASES;          |
|                                   | mysqldump / pg_dump, as the backup user            | BACKUP_DIR -> a directory here               |
| <stack>-backup-identity-mc        | boto3 against moto: the policy cut from the        | moto generates the key pair                  |
|   (backup-init)                   | script's heredoc, the user, attach                 |                                              |
| <stack>-backup-artifacts (backup) | the uploaded backup-artifacts.py, with the venv's  | MinIO's address -> moto; BACKUP_DIR          |
|                                   | Python                                             |                                              |

Restore runs the same two files' `restore` commands, as docs/operations.md ("Restore") does.
"""
import json
import os
import subprocess
import sys
import time

from conftest import (BACKEND, MINIO_URL, OUT, PG_ADMIN, PG_ENV, RUN_SUFFIX, _mysql_admin, _psql, base_env, env_dict, grant_name,
                      policy_from_script, upload)

DB_SCRIPT = "/opt/mlflow-backup/backup-db.sh"
ARTIFACT_SCRIPT = "/opt/mlflow-backup/backup-artifacts.py"
BACKUP_USER = "mlflow_backup"


def containers(spec, prefix="mlflow-dev-backup"):
    found = {c["name"][len(prefix) + 1:].removesuffix("-container"): c for c in spec["containers"]
             if c["role"] in ("backup-init", "backup") and c["name"].startswith(prefix + "-")}
    assert set(found) == {"grant", "databases", "identity-mc", "artifacts"}, sorted(found)
    return found


class DatabaseBackup:
    """The rendered dump script with this run's names, against this machine's database server."""

    def __init__(self, spec, workdir, renames, tag):
        c = containers(spec)
        self.grant_env = env_dict(c["grant"])
        self.env = env_dict(c["databases"])
        script = upload(c["databases"], DB_SCRIPT)["content"]
        assert script == upload(c["grant"], DB_SCRIPT)["content"], "the init and the loop run one script"
        assert c["databases"]["inputs"]["command"] == [DB_SCRIPT, "loop"] and c["grant"]["inputs"]["command"] == [DB_SCRIPT, "grant"]
        assert "DB_ADMIN_PASSWORD" not in self.env, "the loop must not get the admin password"
        assert self.env["BACKUP_DB_USER"] == BACKUP_USER and self.env["BACKUP_DB_PASSWORD"] == self.grant_env["BACKUP_DB_PASSWORD"]
        rendered = self.env["BACKUP_DATABASES"].split()
        assert set(renames) <= set(rendered), (sorted(renames), rendered)
        self.user = f"{BACKUP_USER}_{RUN_SUFFIX}{tag}"
        self.databases = [renames[d] for d in rendered if d in renames]
        # The names are in the grant heredoc in their quoted SQL forms only.
        for old, new in renames.items():
            forms = [(f"`{grant_name(old)}`.*", f"`{grant_name(new)}`.*")] if BACKEND == "mysql" else [(f"'{old}', :'u'", f"'{new}', :'u'")]
            for a, b in forms:
                assert a in script, f"{a} not in the rendered grant SQL"
                script = script.replace(a, b)
        for old in set(rendered) - set(renames):
            # Databases of this render no test here created: not granted, not dumped.
            form = f"GRANT SELECT, SHOW VIEW, TRIGGER ON `{grant_name(old)}`.*" if BACKEND == "mysql" else f"'{old}', :'u'"
            script = "\n".join(line for line in script.split("\n") if form not in line)
        if BACKEND == "mysql":
            script = script.replace(f"'{BACKUP_USER}'@", f"'{self.user}'@")
        self.dir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.script = workdir / "backup-db.sh"
        self.script.write_text(script)
        self.base = {**base_env(), "TMPDIR": str(workdir), "BACKUP_DIR": str(workdir / "volume"), "BACKUP_DB_USER": self.user,
                     "BACKUP_DATABASES": " ".join(self.databases), "BACKUP_STATUS_FILE": str(workdir / "status"), "BACKUP_KEEP": self.env["BACKUP_KEEP"],
                     "BACKUP_INTERVAL_SECONDS": self.env["BACKUP_INTERVAL_SECONDS"], "BACKUP_DB_PASSWORD": self.env["BACKUP_DB_PASSWORD"]}
        if BACKEND == "mysql":
            self.base.update({"DB_HOST": os.environ.get("E2E_MYSQL_HOST", "127.0.0.1"), "DB_PORT": os.environ.get("E2E_MYSQL_PORT", "3306")})
            self.admin = {"DB_ADMIN_USER": os.environ.get("E2E_MYSQL_ADMIN", "root"), "DB_ADMIN_PASSWORD": os.environ.get("E2E_MYSQL_ADMIN_PASSWORD", "")}
        else:
            self.base.update({"DB_HOST": PG_ENV["PGHOST"], "DB_PORT": PG_ENV["PGPORT"]})
            self.admin = {"DB_ADMIN_USER": PG_ADMIN, "DB_ADMIN_PASSWORD": ""}

    def run(self, *args, admin=False, extra=None, check=True):
        env = {**self.base, **(self.admin if admin else {}), **(extra or {})}
        r = subprocess.run(["sh", str(self.script), *args], env=env, capture_output=True, text=True, timeout=600)
        (OUT / f"backup-db-{args[0]}.log").open("a").write(r.stdout + r.stderr)
        if check:
            assert r.returncode == 0, f"backup-db.sh {' '.join(args)} failed: {r.stderr[-2000:]}"
        return r

    def dumps(self):
        d = self.dir / "volume" / "databases"
        return sorted(p.name for p in d.iterdir()) if d.exists() else []

    def drop_user(self):
        if BACKEND == "mysql":
            conn = _mysql_admin()
            with conn.cursor() as cur:
                cur.execute("DROP USER IF EXISTS %s@'%%'", (self.user,))
            conn.close()
        else:
            for db in self.databases:
                _psql_in(db, f'REVOKE ALL ON DATABASE "{db}" FROM "{self.user}"')
            _psql(f'DROP ROLE IF EXISTS "{self.user}"')


def _psql_in(db, sql):
    env = {**os.environ, **PG_ENV}
    return subprocess.run(["psql", "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-U", PG_ADMIN, "-d", db, "-tAc", sql],
                          env=env, capture_output=True, text=True, timeout=60)


def write_refused(backup, database):
    """True when the backup user may connect and read but not write `database`."""
    password = backup.base["BACKUP_DB_PASSWORD"]
    if BACKEND == "mysql":
        import pymysql
        conn = pymysql.connect(host=backup.base["DB_HOST"], port=int(backup.base["DB_PORT"]), user=backup.user, password=password, database=database)
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM experiments")
                for sql in ("INSERT INTO experiments (name, lifecycle_stage) VALUES ('backup-wrote', 'active')", "CREATE TABLE backup_wrote (x INT)",
                            "DELETE FROM experiments", "DROP TABLE experiments"):
                    try:
                        cur.execute(sql)
                        return False
                    except pymysql.err.OperationalError as e:
                        assert e.args[0] in (1142, 1044), e  # command denied / access denied
            return True
        finally:
            conn.close()
    import psycopg2
    conn = psycopg2.connect(host=backup.base["DB_HOST"], port=int(backup.base["DB_PORT"]), user=backup.user, password=password, dbname=database)
    try:
        for sql in ("INSERT INTO experiments (name, lifecycle_stage) VALUES ('backup-wrote', 'active')", "CREATE TABLE backup_wrote (x INT)",
                    "DELETE FROM experiments", "DROP TABLE experiments"):
            with conn.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM experiments")
                try:
                    cur.execute(sql)
                    return False
                except psycopg2.errors.InsufficientPrivilege:
                    pass
            conn.rollback()
        return True
    finally:
        conn.close()


def wipe_database(database):
    """Every table (and PostgreSQL's sequences and types) of the database gone, as on a lost volume."""
    if BACKEND == "mysql":
        conn = _mysql_admin()
        with conn.cursor() as cur:
            cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (database,))
            tables = [r[0] for r in cur.fetchall()]
            cur.execute("SET FOREIGN_KEY_CHECKS = 0")
            for t in tables:
                cur.execute(f"DROP TABLE `{database}`.`{t}`")
            cur.execute("SET FOREIGN_KEY_CHECKS = 1")
            cur.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s", (database,))
            assert cur.fetchone()[0] == 0
        conn.close()
        return
    sql = ("DO $$ DECLARE r record; BEGIN "
           "FOR r IN SELECT tablename FROM pg_tables WHERE schemaname = 'public' LOOP EXECUTE format('DROP TABLE %I CASCADE', r.tablename); END LOOP; "
           "FOR r IN SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' LOOP EXECUTE format('DROP SEQUENCE %I CASCADE', r.sequencename); END LOOP; "
           "FOR r IN SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace WHERE n.nspname = 'public' AND t.typtype = 'e' "
           "LOOP EXECUTE format('DROP TYPE %I CASCADE', r.typname); END LOOP; END $$")
    r = _psql_in(database, sql)
    assert r.returncode == 0, r.stderr
    left = _psql_in(database, "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'")
    assert left.stdout.strip() == "0", left.stdout


class ArtifactBackup:
    """The uploaded backup-artifacts.py with the read-only identity the rendered identity init creates (in moto)."""

    def __init__(self, spec, workdir, store, tag):
        import boto3

        c = containers(spec)
        self.env = env_dict(c["artifacts"])
        assert c["artifacts"]["inputs"]["entrypoints"] == ["python", ARTIFACT_SCRIPT, "loop"]
        assert c["artifacts"]["inputs"]["image"] == next(t for t in spec["containers"] if t["role"] == "tracking-server")["inputs"]["image"]
        assert self.env["MLFLOW_S3_ENDPOINT_URL"] == MINIO_URL
        init = c["identity-mc"]
        ienv = env_dict(init)
        assert ienv["MLFLOW_ACCESS_KEY"] == self.env["AWS_ACCESS_KEY_ID"] and ienv["MLFLOW_SECRET_KEY"] == self.env["AWS_SECRET_ACCESS_KEY"]
        self.policy = policy_from_script(upload(init, "/init/bucket-init.sh")["content"])
        boot = store["admin"]
        iam = boto3.client("iam", **boot)
        name = f"{ienv['MLFLOW_ACCESS_KEY']}-{RUN_SUFFIX}{tag}"
        arn = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(self.policy))["Policy"]["Arn"]
        iam.create_user(UserName=name)
        iam.attach_user_policy(UserName=name, PolicyArn=arn)
        key = iam.create_access_key(UserName=name)["AccessKey"]
        self.keys = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
        self.store = store
        self.dir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.script = workdir / "backup-artifacts.py"
        self.script.write_text(upload(c["artifacts"], ARTIFACT_SCRIPT)["content"])
        self.base = {**base_env(), **self.env, "MLFLOW_S3_ENDPOINT_URL": store["endpoint"], "BACKUP_DIR": str(workdir / "volume"),
                     "BACKUP_STATUS_FILE": str(workdir / "status")}

    def run(self, *args, keys=None, check=True):
        env = {**self.base, **(keys or self.keys)}
        r = subprocess.run([sys.executable, str(self.script), *args], env=env, capture_output=True, text=True, timeout=600)
        (OUT / f"backup-artifacts-{args[0]}.log").open("a").write(r.stdout + r.stderr)
        if check:
            assert r.returncode == 0, f"backup-artifacts.py {' '.join(args)} failed: {r.stderr[-2000:]}"
        return r

    def owner_keys(self):
        """What docs/operations.md restores with: MinIO's root login (here moto's admin)."""
        a = self.store["admin"]
        return {"AWS_ACCESS_KEY_ID": a["aws_access_key_id"], "AWS_SECRET_ACCESS_KEY": a["aws_secret_access_key"]}


def wait_for_log(path, needle, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and needle in path.read_text(errors="replace"):
            return True
        time.sleep(0.3)
    return False


def log_data(client, experiment_name, model_name, tmp_path):
    """Runs with params, a metric history and artifacts, and a registered model version with an alias."""
    exp = client.create_experiment(experiment_name)
    runs = []
    for i in range(2):
        rid = client.create_run(exp, run_name=f"backup-{i}").info.run_id
        client.log_param(rid, "lr", str(0.1 * (i + 1)))
        for step in range(5):
            client.log_metric(rid, "loss", 1.0 / (step + 1 + i), step=step)
        f = tmp_path / f"weights-{i}.bin"
        f.write_bytes(os.urandom(4096 + i))
        client.log_artifact(rid, str(f), artifact_path="model")
        client.set_terminated(rid)
        runs.append(rid)
    client.create_registered_model(model_name)
    mv = client.create_model_version(model_name, f"runs:/{runs[0]}/model", run_id=runs[0])
    client.set_registered_model_alias(model_name, "champion", mv.version)
    return exp


def snapshot(client, experiment_id, model_name, tmp_path):
    """What a user reads back through the proxy: runs, params, metric histories, artifact hashes, the model and its alias."""
    import hashlib

    out = {"runs": {}}
    for run in client.search_runs([experiment_id]):
        rid = run.info.run_id
        d = tmp_path / f"dl-{time.monotonic_ns()}"
        d.mkdir()
        local = client.download_artifacts(rid, "model", str(d))
        hashes = {}
        for base, _, files in os.walk(local):
            for name in files:
                p = os.path.join(base, name)
                hashes[os.path.relpath(p, local)] = hashlib.sha256(open(p, "rb").read()).hexdigest()
        out["runs"][rid] = {"name": run.info.run_name, "status": run.info.status, "params": run.data.params,
                            "loss": [(m.step, m.value) for m in client.get_metric_history(rid, "loss")], "artifacts": hashes}
    mv = client.get_model_version_by_alias(model_name, "champion")
    out["model"] = {"version": mv.version, "run_id": mv.run_id, "source": mv.source,
                    "versions": sorted(v.version for v in client.search_model_versions(f"name='{model_name}'"))}
    return out
