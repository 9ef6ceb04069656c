"""Two projects beside the server at /, run from spec-projects.json.

The spec is the local target rendered with `projects=["alpha","beta:bob"]` (e2e/run). Every
project container is replaced as conftest.py replaces the platform's own, and only addresses,
paths and the per-run name suffix are rewritten:

| container (role)            | runs here as                                  | rewritten                                  |
|-----------------------------|-----------------------------------------------|--------------------------------------------|
| project-database (one-shot) | its rendered /init/project-db.sh, with `sh`,  | DB_HOST db -> 127.0.0.1, DB_PORT, the admin |
|                             | the host's mysql / psql client, against the   | user/password -> the machine's; names get a |
|                             | machine's MariaDB / PostgreSQL                | per-run suffix (SQL text / MLFLOW_DB_* env);|
|                             |                                               | /init/project-db.sql -> a copy; TMPDIR      |
| bucket-init (per project)   | boto3 against moto: the policy cut from the   | moto generates the key pair                 |
|                             | script's heredoc, the user, attach            |                                             |
| tracking-server (project)   | images/tracking-server/entrypoint.py          | as conftest.mlflow_env                      |
| auth-proxy                  | Debian nginx                                  | upstream host:ports, listen, htpasswd paths |

The server at / is not started (its upstream points at a closed port): no test sends it an
authenticated request.
"""
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from conftest import (BACKEND, ENTRYPOINT, MINIO_URL, OUT, PG_ADMIN, PG_ENV, RUN_SUFFIX, Proc, Redacted, RedactedPair, _mysql_admin, _psql,
                      base_env, drop_db, env_dict, free_port, map_access_log, moto_policy, non_superuser_admin, policy_from_script,
                      prometheus_dir, rename_db, require, run_db_init, upload, wait_for)

SPEC = OUT / "spec-projects.json"
PROJECTS = ("alpha", "beta")
ROLES = ("project-database", "bucket-init", "tracking-server")


def container(spec, role, project=None):
    prefix = f"mlflow-dev-project-{project}-" if project else None
    found = [c for c in spec["containers"] if c["role"] == role
             and (c["name"].startswith(prefix) if prefix else "-project-" not in c["name"])]
    assert len(found) == 1, f"expected one {role} container for {project or '/'}, found {[c['name'] for c in found]}"
    return found[0]


@pytest.fixture(scope="module")
def pspec():
    require(SPEC.exists(), f"spec {SPEC} not rendered (run e2e/run)")
    data = json.loads(SPEC.read_text())
    assert data["backend"] == BACKEND
    assert sorted(data["projectCredentials"]) == list(PROJECTS)
    for p in PROJECTS:
        for role in ROLES:
            container(data, role, p)
    return Redacted(data)


# --- databases -----------------------------------------------------------------------------

def run_project_db_init(spec, project, workdir):
    """Runs the project's rendered init script for real; returns (database, user, password) as created."""
    return run_db_init(container(spec, "project-database", project), f"project-{project}", RUN_SUFFIX, workdir)


drop_project_db = drop_db


@pytest.fixture(scope="module")
def project_dbs(pspec):
    if BACKEND == "mysql":
        try:
            _mysql_admin().close()
        except Exception as e:  # noqa: BLE001
            require(False, f"MariaDB/MySQL not reachable: {e}")
    else:
        require(_psql("select 1").returncode == 0, "PostgreSQL not reachable")
        require(shutil.which("psql"), "psql")
    require(BACKEND != "mysql" or shutil.which("mysql"), "mysql client (the init script runs it)")
    created = {}
    try:
        for p in PROJECTS:
            env = env_dict(container(pspec, "project-database", p))
            # Recorded before the init runs, so a half-done init is dropped too.
            created[p] = (f"{env['MLFLOW_DB_NAME']}_{RUN_SUFFIX}", f"{env['MLFLOW_DB_USER']}_{RUN_SUFFIX}")
            name, user, password = run_project_db_init(pspec, p, OUT / "projects" / p)
            created[p] = Redacted({"name": name, "user": user, "password": password})
        yield created
    finally:
        for v in created.values():
            name, user = (v["name"], v["user"]) if isinstance(v, dict) else v
            drop_project_db(name, user)


# --- artifact store ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def project_store(pspec):
    import boto3

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    proc = Proc("moto-projects", [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                {**os.environ, "MOTO_PORT": str(port)}).start()
    try:
        wait_for("moto", lambda: requests.get(f"{endpoint}/moto-api/", timeout=2).status_code == 200, 60, proc=proc.popen, log=proc.log)
        boot = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
        iam, s3 = boto3.client("iam", **boot), boto3.client("s3", **boot)
        inits = {p: env_dict(container(pspec, "bucket-init", p)) for p in PROJECTS}
        bucket = inits["alpha"]["ARTIFACT_BUCKET"]
        assert {e["ARTIFACT_BUCKET"] for e in inits.values()} == {bucket}, "projects share the one bucket"
        s3.create_bucket(Bucket=bucket)
        # Something of the server at / (prefix-less keys), which no project may read.
        s3.put_object(Bucket=bucket, Key="0/root-run/artifacts/secret.txt", Body=b"root project")
        iam.create_user(UserName="admin")
        iam.put_user_policy(UserName="admin", PolicyName="root", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
        admin_key = iam.create_access_key(UserName="admin")["AccessKey"]
        keys = {}
        for p, ienv in inits.items():
            script = upload(container(pspec, "bucket-init", p), "/init/bucket-init.sh")["content"]
            policy = policy_from_script(script)
            arn = iam.create_policy(PolicyName=ienv["MLFLOW_POLICY_NAME"], PolicyDocument=json.dumps(moto_policy(policy, bucket)))["Policy"]["Arn"]
            iam.create_user(UserName=ienv["MLFLOW_ACCESS_KEY"])
            iam.attach_user_policy(UserName=ienv["MLFLOW_ACCESS_KEY"], PolicyArn=arn)
            k = iam.create_access_key(UserName=ienv["MLFLOW_ACCESS_KEY"])["AccessKey"]
            keys[p] = Redacted({"id": k["AccessKeyId"], "secret": k["SecretAccessKey"], "rendered_id": ienv["MLFLOW_ACCESS_KEY"],
                                "rendered_secret": ienv["MLFLOW_SECRET_KEY"], "policy": policy})
        assert requests.post(f"{endpoint}/moto-api/reset-auth", data=b"0", timeout=10).status_code == 200
        admin = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=admin_key["AccessKeyId"],
                     aws_secret_access_key=admin_key["SecretAccessKey"])
        yield Redacted({"endpoint": endpoint, "bucket": bucket, "admin": admin, "keys": keys})
    finally:
        proc.stop()


def s3_as(store, project):
    import boto3
    k = store["keys"][project]
    return boto3.client("s3", endpoint_url=store["endpoint"], region_name="us-east-1", aws_access_key_id=k["id"], aws_secret_access_key=k["secret"])


# --- servers and proxy -----------------------------------------------------------------------

def project_server_env(spec, project, db, store):
    from sqlalchemy.engine import make_url

    c = container(spec, "tracking-server", project)
    env = env_dict(c)
    key = store["keys"][project]
    if (env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]) != (key["rendered_id"], key["rendered_secret"]):
        pytest.fail(f"project {project}'s MLflow S3 keys are not the identity its bucket-init creates", pytrace=False)
    uri = make_url(env["MLFLOW_BACKEND_STORE_URI"])
    assert uri.host == "db"
    if uri.password != db["password"] or f"{uri.database}_{RUN_SUFFIX}" != db["name"] or f"{uri.username}_{RUN_SUFFIX}" != db["user"]:
        pytest.fail(f"project {project}'s backend URI and its database init disagree", pytrace=False)
    host, port = (os.environ.get("E2E_MYSQL_HOST", "127.0.0.1"), int(os.environ.get("E2E_MYSQL_PORT", "3306"))) if BACKEND == "mysql" \
        else (PG_ENV["PGHOST"], int(PG_ENV["PGPORT"]))
    assert env["MLFLOW_S3_ENDPOINT_URL"] == MINIO_URL
    env.update({
        "MLFLOW_HOST": "127.0.0.1", "MLFLOW_PORT": str(free_port()), "MLFLOW_S3_ENDPOINT_URL": store["endpoint"],
        "MLFLOW_BACKEND_STORE_URI": uri.set(host=host, port=port, username=db["user"], database=db["name"]).render_as_string(hide_password=False),
        "AWS_ACCESS_KEY_ID": key["id"], "AWS_SECRET_ACCESS_KEY": key["secret"],
    })
    return prometheus_dir({**base_env(), **env})


@pytest.fixture(scope="module")
def project_servers(pspec, project_dbs, project_store):
    servers = {}
    try:
        for p in PROJECTS:
            env = project_server_env(pspec, p, project_dbs[p], project_store)
            prefix = env["MLFLOW_STATIC_PREFIX"]
            assert prefix == f"/projects/{p}"
            proc = Proc(f"mlflow-project-{p}", [sys.executable, str(ENTRYPOINT)], env, cwd=str(OUT)).start()
            servers[p] = {"proc": proc, "port": int(env["MLFLOW_PORT"]), "prefix": prefix}
        for p, s in servers.items():
            url = f"http://127.0.0.1:{s['port']}{s['prefix']}/health"
            wait_for(f"MLflow of project {p}", lambda url=url: requests.get(url, timeout=3).status_code == 200, 300,
                     proc=s["proc"].popen, log=s["proc"].log)
        yield servers
    finally:
        for s in servers.values():
            s["proc"].stop()


@pytest.fixture(scope="module")
def pproxy(pspec, project_servers):
    require(shutil.which("nginx") or Path("/usr/sbin/nginx").exists(), "nginx (apt-get install nginx-light)")
    c = container(pspec, "auth-proxy")
    conf = upload(c, "/etc/nginx/conf.d/default.conf")["content"]
    d = OUT / "nginx-projects"
    shutil.rmtree(d, ignore_errors=True)
    (d / "tmp").mkdir(parents=True)
    os.chmod(d, 0o755)
    os.chmod(d / "tmp", 0o777)
    port = free_port()

    def sub(old, new, text):
        assert text.count(old) == 1, f"expected exactly one `{old}` in the rendered nginx config"
        return text.replace(old, new)

    # The server at / is not started here: its upstream is a closed port.
    conf = sub("server mlflow:5000;", f"server 127.0.0.1:{free_port()};", conf)
    conf = sub("listen 8080;", f"listen 127.0.0.1:{port};", conf)
    for u in c["inputs"]["uploads"]:
        if u["file"].endswith(".htpasswd"):
            local = d / Path(u["file"]).name
            local.write_text(u["content"])
            os.chmod(local, 0o644)
            conf = conf.replace(f"auth_basic_user_file {u['file']};", f"auth_basic_user_file {local};")
    for p, s in project_servers.items():
        conf = sub(f"server mlflow-{p}:5000;", f"server 127.0.0.1:{s['port']};", conf)
    # Team accounts: each location's token include (/'s and each project's own).
    for u in c["inputs"]["uploads"]:
        if u["file"].endswith(".inc"):
            local = d / Path(u["file"]).name
            local.write_text(u["content"])
            os.chmod(local, 0o600)
            assert f"include {u['file']};" in conf, f"{u['file']} is uploaded but not included"
            conf = conf.replace(f"include {u['file']};", f"include {local};")
    assert "/etc/nginx/" not in conf, "an htpasswd or include path was not mapped"
    conf = map_access_log(conf, "nginx-projects")
    (d / "default.conf").write_text(conf)
    user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
    t = d / "tmp"
    (d / "nginx.conf").write_text(f"""{user}daemon off;
worker_processes 1;
pid {d / 'nginx.pid'};
error_log {OUT / 'nginx-projects-error.log'} info;
events {{ worker_connections 256; }}
http {{
    log_format e2e '$msec $status "$request" $request_time upstream=$upstream_status';
    access_log {OUT / 'nginx-projects-access.log'} e2e;
    client_body_temp_path {t}/client_body;
    proxy_temp_path {t}/proxy;
    fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi;
    scgi_temp_path {t}/scgi;
    include {d / 'default.conf'};
}}
""")
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    proc = Proc("nginx-projects", [binary, "-p", str(d), "-c", str(d / "nginx.conf")], base_env()).start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for("nginx", lambda: requests.get(f"{url}/nonexistent", timeout=3).status_code == 401, 30, proc=proc.popen, log=proc.log)
        yield url
    finally:
        proc.stop()


def login(spec, project):
    c = spec["projectCredentials"][project]
    return (c["user"], c["password"])


@pytest.fixture()
def as_project(pspec, pproxy, monkeypatch):
    """Points the MLflow client at one project's URL with that project's login."""
    import mlflow

    before = mlflow.get_tracking_uri()

    def use(project):
        user, password = login(pspec, project)
        uri = f"{pproxy}/projects/{project}"
        monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", user)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", password)
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
        mlflow.set_tracking_uri(uri)
        return mlflow.MlflowClient(uri)
    yield use
    mlflow.set_tracking_uri(before)


EXPERIMENTS = {}


@pytest.mark.parametrize("project", PROJECTS)
def test_project_client_runs_artifacts_and_registry(project, as_project, project_store, tmp_path):
    import mlflow
    import pandas as pd
    from e2e_model import AddN

    client = as_project(project)
    name = f"e2e-{project}-{BACKEND}-{RUN_SUFFIX}"
    exp_id = client.create_experiment(name)
    EXPERIMENTS[project] = name
    payload = os.urandom(3_000_000)
    src = tmp_path / "blob.bin"
    src.write_bytes(payload)
    mlflow.set_experiment(experiment_id=exp_id)
    with mlflow.start_run(run_name=f"run-{project}") as run:
        mlflow.log_param("project", project)
        mlflow.log_metric("loss", 0.5)
        mlflow.log_artifact(str(src), artifact_path="data")
        info = mlflow.pyfunc.log_model(name="model", python_model=AddN(3), pip_requirements=[f"mlflow=={mlflow.__version__}"],
                                       registered_model_name=f"{name}-model")
    # Artifacts travel through the project's URL (mlflow-artifacts, proxied) and land under its prefix only.
    back = Path(mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="data/blob.bin", dst_path=str(tmp_path / "dl")))
    assert hashlib.sha256(back.read_bytes()).hexdigest() == hashlib.sha256(payload).hexdigest()
    import boto3
    admin = boto3.client("s3", **project_store["admin"])
    keys = [o["Key"] for page in admin.get_paginator("list_objects_v2").paginate(Bucket=project_store["bucket"]) for o in page.get("Contents", [])]
    mine = [k for k in keys if k.endswith(f"{run.info.run_id}/artifacts/data/blob.bin")]
    assert mine == [f"projects/{project}/{exp_id}/{run.info.run_id}/artifacts/data/blob.bin"], mine
    # Registry: alias, load by alias through the same URL, predict.
    client.set_registered_model_alias(f"{name}-model", "champion", info.registered_model_version)
    model = mlflow.pyfunc.load_model(f"models:/{name}-model@champion")
    assert list(model.predict(pd.DataFrame({"x": [1, 2]}))["x"]) == [4, 5]


def test_projects_see_only_their_own_experiments(as_project):
    require(set(EXPERIMENTS) == set(PROJECTS), "needs test_project_client_runs_artifacts_and_registry first")
    for project in PROJECTS:
        names = {e.name for e in as_project(project).search_experiments()}
        assert EXPERIMENTS[project] in names
        assert not (set(EXPERIMENTS.values()) - {EXPERIMENTS[project]}) & names, f"{project} sees another project's experiment"


def test_credentials_work_only_on_their_own_project(pspec, pproxy):
    alpha, beta = login(pspec, "alpha"), login(pspec, "beta")
    root = (pspec["clientUser"], pspec["clientPassword"])
    assert beta[0] == "bob", "the user given as beta:bob"

    def status(path, auth):
        return requests.get(f"{pproxy}{path}/api/2.0/mlflow/experiments/search?max_results=1", auth=auth, timeout=30).status_code

    assert status("/projects/alpha", alpha) == 200
    assert status("/projects/beta", beta) == 200
    assert status("/projects/beta", alpha) == 401
    assert status("/projects/alpha", beta) == 401
    assert status("/projects/alpha", (beta[0], alpha[1])) == 401
    assert status("/projects/alpha", root) == 401
    assert status("/projects/alpha", None) == 401
    # A project's login is no login for the server at / either (401 before anything is proxied).
    assert status("", alpha) == 401
    # Without the trailing slash nginx redirects into the project's location, unauthenticated only as far as that.
    r = requests.get(f"{pproxy}/projects/alpha", allow_redirects=False, timeout=10)
    assert r.status_code == 301 and r.headers["Location"] == "/projects/alpha/", r.headers["Location"]


def test_each_projects_scrape_path_counts_that_projects_requests_only(pspec, pproxy):
    """/metrics/projects/<name> (authProxy/metrics.ts): the scraper's login only, and each project's own counters."""
    from test_observability import counter

    scraper = RedactedPair((pspec["metricsCredentials"]["user"], pspec["metricsCredentials"]["password"]))
    alpha = RedactedPair(login(pspec, "alpha"))

    def scrape(project, auth=scraper):
        return requests.get(f"{pproxy}/metrics/projects/{project}", auth=auth, timeout=30)

    assert scrape("alpha", None).status_code == 401
    assert scrape("alpha", alpha).status_code == 401, "a project's login must not read the metrics"
    before = {p: scrape(p).text for p in ("alpha", "beta")}
    missing = 6
    for _ in range(missing):
        r = requests.get(f"{pproxy}/projects/alpha/api/2.0/mlflow/experiments/get", params={"experiment_id": "987654321"}, auth=alpha, timeout=30)
        assert r.status_code == 404, r.text[:300]
    after = {p: scrape(p).text for p in ("alpha", "beta")}
    moved = {p: counter(after[p], "mlflow_http_request_total", method="GET", status=404) - counter(before[p], "mlflow_http_request_total", method="GET", status=404)
             for p in ("alpha", "beta")}
    assert moved == {"alpha": missing, "beta": 0}


@pytest.mark.parametrize("front", [("https", "mlflow.example.com"), ("http", "mlflow.example.com:5000")])
def test_the_project_redirect_keeps_the_clients_scheme_host_and_port(pproxy, front):
    """As a browser behind the load balancer (or the Docker host port) meets it: the Location resolves to the URL it used."""
    from urllib.parse import urljoin

    scheme, host = front
    r = requests.get(f"{pproxy}/projects/alpha", headers={"Host": host, "X-Forwarded-Proto": scheme}, allow_redirects=False, timeout=10)
    assert r.status_code == 301
    # Before: http://mlflow.example.com:<nginx's listen port>/projects/alpha/, a dead port and plain http behind the load balancer.
    assert urljoin(f"{scheme}://{host}/projects/alpha", r.headers["Location"]) == f"{scheme}://{host}/projects/alpha/", r.headers["Location"]


def test_storage_identity_reaches_only_its_prefix(project_store, pspec):
    from botocore.exceptions import ClientError

    bucket = project_store["bucket"]
    alpha = s3_as(project_store, "alpha")
    alpha.put_object(Bucket=bucket, Key="projects/alpha/e2e-own.txt", Body=b"mine")
    assert alpha.get_object(Bucket=bucket, Key="projects/alpha/e2e-own.txt")["Body"].read() == b"mine"
    s3_as(project_store, "beta").put_object(Bucket=bucket, Key="projects/beta/e2e-beta.txt", Body=b"beta's")

    def denied(call, **kw):
        with pytest.raises(ClientError) as e:
            call(Bucket=bucket, **kw)
        assert e.value.response["Error"]["Code"] in ("AccessDenied", "403"), e.value.response["Error"]

    denied(alpha.get_object, Key="projects/beta/e2e-beta.txt")
    denied(alpha.put_object, Key="projects/beta/e2e-alpha-was-here.txt", Body=b"x")
    denied(alpha.delete_object, Key="projects/beta/e2e-beta.txt")
    denied(alpha.get_object, Key="0/root-run/artifacts/secret.txt")
    denied(alpha.put_object, Key="e2e-outside.txt", Body=b"x")
    # Listing: the policy limits it with the s3:prefix condition (StringLike), which moto does not
    # evaluate (moto/iam/access_control.py evaluates StringEquals on sts:ExternalId only), so
    # listings are not proven here; the real-deploy job checks them on MinIO, with the probe
    # test_real_deploy_projects_check runs below; the rendered condition is pinned here.
    listing = project_store["keys"]["alpha"]["policy"]["Statement"][1]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["projects/alpha/", "projects/alpha/*"]}}


def test_database_user_reaches_only_its_database(project_dbs):
    a, b = project_dbs["alpha"], project_dbs["beta"]
    if BACKEND == "mysql":
        import pymysql
        host, port = os.environ.get("E2E_MYSQL_HOST", "127.0.0.1"), int(os.environ.get("E2E_MYSQL_PORT", "3306"))
        pymysql.connect(host=host, port=port, user=a["user"], password=a["password"], database=a["name"], connect_timeout=10).close()
        with pytest.raises(pymysql.err.OperationalError) as e:
            pymysql.connect(host=host, port=port, user=a["user"], password=a["password"], database=b["name"], connect_timeout=10)
        assert e.value.args[0] == 1044, e.value.args  # access denied to database
        conn = pymysql.connect(host=host, port=port, user=a["user"], password=a["password"], connect_timeout=10)
        with conn.cursor() as cur:
            cur.execute("SHOW DATABASES")
            visible = {r[0] for r in cur.fetchall()}
        conn.close()
        assert a["name"] in visible and b["name"] not in visible, visible
    else:
        import psycopg2
        kw = dict(host=PG_ENV["PGHOST"], port=int(PG_ENV["PGPORT"]), connect_timeout=10)
        psycopg2.connect(user=a["user"], password=a["password"], dbname=a["name"], **kw).close()
        # The machine's PostgreSQL trusts local TCP (no password check): what stops alpha is the
        # CONNECT privilege the script revoked from PUBLIC, which applies whatever the auth method.
        with pytest.raises(psycopg2.OperationalError) as e:
            psycopg2.connect(user=a["user"], password=a["password"], dbname=b["name"], **kw)
        assert "permission denied for database" in str(e.value), str(e.value)


def test_each_ui_shows_only_its_own_experiments(pspec, pproxy):
    from browser import render_page

    require(set(EXPERIMENTS) == set(PROJECTS), "needs test_project_client_runs_artifacts_and_registry first")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    require(binary, "chromium (apt-get install chromium)")
    for project in PROJECTS:
        user, password = login(pspec, project)
        other = next(EXPERIMENTS[p] for p in PROJECTS if p != project)
        shot = OUT / f"ui-project-{project}.png"
        text, html = render_page(binary, f"{pproxy}/projects/{project}/#/experiments", user, password, shot,
                                 OUT / "chromium-projects.log", wait_for_text=[EXPERIMENTS[project]], timeout=90)
        (OUT / f"ui-project-{project}.txt").write_text(text)
        assert shot.exists() and shot.stat().st_size > 10_000, "no screenshot"
        assert EXPERIMENTS[project] in text, f"the UI of {project} does not list its experiment"
        assert other not in text, f"the UI of {project} lists another project's experiment"


def tree_memory(proc):
    """(PSS MiB of the whole tree, [(pid, command, RSS MiB, PSS MiB)]): PSS shares pages among forked processes, RSS counts them each time."""
    rows = []
    for pid in proc.tree():
        try:
            rollup = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:100]
        except OSError:
            continue
        kib = lambda k: int(rollup[k].split()[0])  # noqa: E731
        rows.append((pid, cmd, kib("Rss") / 1024, kib("Pss") / 1024))
    return sum(r[3] for r in rows), rows


# A project's server at the defaults is the server at /'s configuration (one worker, no job execution):
# no larger than it, give or take what each one's requests left behind; and at most 0.5 GiB of RSS.
PROJECT_TO_ROOT_RSS = 1.25
PROJECT_RSS_BUDGET_MIB = 512


def exercise(base, headers=None):
    """The same small load on every server before it is measured: an experiment, a run, 50 metrics, a search."""
    s = requests.Session()
    s.headers.update(headers or {})
    exp = s.post(f"{base}/api/2.0/mlflow/experiments/create", json={"name": f"memory-{RUN_SUFFIX}"}, timeout=60)
    assert exp.status_code == 200, exp.text
    run = s.post(f"{base}/api/2.0/mlflow/runs/create", json={"experiment_id": exp.json()["experiment_id"]}, timeout=60).json()["run"]["info"]["run_id"]
    for i in range(50):
        assert s.post(f"{base}/api/2.0/mlflow/runs/log-metric", json={"run_id": run, "key": "m", "value": i, "timestamp": 0, "step": i}, timeout=60).ok
    assert s.post(f"{base}/api/2.0/mlflow/runs/search", json={"experiment_ids": [exp.json()["experiment_id"]]}, timeout=60).ok


def test_memory_per_project_server(project_servers, mlflow_server, spec, pspec):
    """What one more project costs: its server's process tree against the default server at / of the same run."""
    # / runs the auth app (spec.json has team accounts): an editor, asserted as the proxy would.
    editor = next(name for name, u in spec["users"].items() if u["role"] == "editor")
    exercise(mlflow_server.url, {"X-Mlflow-Platform-Token": spec["proxyToken"], "X-Mlflow-Platform-User": editor})
    root_pss, root_rows = tree_memory(mlflow_server.proc)
    root_rss = sum(r[2] for r in root_rows)
    report = [f"/ (defaults): {root_rss:.0f} MiB RSS, {root_pss:.0f} MiB PSS, {len(root_rows)} processes\n"]
    report += [f"    {pid} rss={rss:.0f} pss={pss:.0f} {cmd}\n" for pid, cmd, rss, pss in root_rows]
    rss_of = {}
    for p, s in project_servers.items():
        # Each project's server runs the auth app too: its own login (an admin there), asserted with its own token.
        env = env_dict(container(pspec, "tracking-server", p))
        exercise(f"http://127.0.0.1:{s['port']}{s['prefix']}", {"X-Mlflow-Platform-Token": env["MLFLOW_PLATFORM_PROXY_TOKEN"],
                                                                 "X-Mlflow-Platform-User": login(pspec, p)[0]})
        pss_total, rows = tree_memory(s["proc"])
        rss_of[p] = sum(r[2] for r in rows)
        # MLflow's job execution (projectJobExecution) would add a job runner and huey consumers.
        jobs = sum(pss for _, cmd, _, pss in rows if "mlflow.server.jobs" in cmd)
        report.append(f"{p}: {rss_of[p]:.0f} MiB RSS ({rss_of[p] / root_rss:.2f} of /), {pss_total:.0f} MiB PSS, {len(rows)} processes,"
                      f" of which job runner and huey consumers {jobs:.0f} MiB PSS\n")
        report += [f"    {pid} rss={rss:.0f} pss={pss:.0f} {cmd}\n" for pid, cmd, rss, pss in rows]
    (OUT / "projects-memory.txt").write_text("".join(report))
    print("".join(report))
    for p, rss in rss_of.items():
        assert rss <= PROJECT_TO_ROOT_RSS * root_rss, f"project {p}'s server: {rss:.0f} MiB RSS, more than {PROJECT_TO_ROOT_RSS} x / ({root_rss:.0f} MiB); see {OUT / 'projects-memory.txt'}"
        assert rss <= PROJECT_RSS_BUDGET_MIB, f"project {p}'s server: {rss:.0f} MiB RSS > {PROJECT_RSS_BUDGET_MIB} MiB; see {OUT / 'projects-memory.txt'}"


# --- aws target: the project task's init container ------------------------------------------

AWS_SPEC = OUT / "aws-env-projects.json"
INIT_RUNNER = ENTRYPOINT.with_name("project_db_init.py")


@pytest.fixture(scope="module")
def aws_project_tasks():
    require(AWS_SPEC.exists(), f"spec {AWS_SPEC} not rendered (run e2e/run)")
    data = json.loads(AWS_SPEC.read_text())
    assert data["backend"] == BACKEND and sorted(data["projects"]) == list(PROJECTS)
    return data["projects"]


@pytest.fixture(scope="module")
def master_like_admin():
    with non_superuser_admin(f"e2e_master_{RUN_SUFFIX}") as admin:
        yield admin


def aws_run_name(name):
    """Not the name project_dbs gives the same project (`<name>_<suffix>`): this test drops what it
    creates, and the module's servers keep using theirs (test_real_deploy_projects_check runs after)."""
    return f"{name}_{RUN_SUFFIX}a"


def run_aws_init(task, project, admin, password):
    """Runs the project's init container as ECS would start it, against the test host's server; returns (database, user)."""
    init, mlflow = task["project-db-init"], task["mlflow"]
    assert init["entryPoint"] == ["python", "/opt/mlflow/project_db_init.py"] and init["essential"] is False
    assert mlflow["dependsOn"] == [{"containerName": "project-db-init", "condition": "SUCCESS"}]
    env = {e["name"]: e["value"] for e in init["environment"]}
    app = {e["name"]: e["value"] for e in mlflow["environment"]}
    assert sorted(s["name"] for s in init["secrets"]) == ["MLFLOW_DB_PASSWORD", "MLFLOW_DB_USER", "MLFLOW_PROJECT_DB_PASSWORD"]
    assert env["MLFLOW_DB_NAME"] == ("mlflow" if BACKEND == "mysql" else "postgres")
    # The TLS query names the RDS CA bundle inside the image; the test host's servers have no RDS certificate.
    assert env.pop("MLFLOW_DB_TLS_QUERY") == app["MLFLOW_DB_TLS_QUERY"]
    name = app["MLFLOW_DB_NAME"]
    assert name == f"mlflow_{project}"
    run_name = aws_run_name(name)
    statements = env["MLFLOW_PROJECT_DB_STATEMENTS"]
    assert password not in statements
    host, port = (os.environ.get("E2E_MYSQL_HOST", "127.0.0.1"), os.environ.get("E2E_MYSQL_PORT", "3306")) if BACKEND == "mysql" \
        else (PG_ENV["PGHOST"], PG_ENV["PGPORT"])
    env.update({
        "MLFLOW_DB_HOST": host, "MLFLOW_DB_PORT": port,
        # The cluster's own database does not exist here; MariaDB always has `mysql`.
        "MLFLOW_DB_NAME": "mysql" if BACKEND == "mysql" else "postgres",
        "MLFLOW_DB_USER": admin["user"], "MLFLOW_DB_PASSWORD": admin["password"], "MLFLOW_PROJECT_DB_PASSWORD": password,
        "MLFLOW_PROJECT_DB_STATEMENTS": json.dumps([{k: rename_db(v, {name: run_name}) if isinstance(v, str) else v for k, v in st.items()}
                                                    for st in json.loads(statements)]),
    })
    # Twice: it runs at every task start.
    for attempt in (1, 2):
        r = subprocess.run([sys.executable, str(INIT_RUNNER)], env={**base_env(), **env}, capture_output=True, text=True, timeout=120)
        (OUT / f"aws-project-{project}-db-init.log").write_text(r.stdout + r.stderr)
        assert r.returncode == 0 and "project database ready" in r.stderr, f"run {attempt}: see {OUT / f'aws-project-{project}-db-init.log'}"
        assert password not in r.stdout + r.stderr
    return run_name, run_name


def test_aws_init_container_creates_each_project_database_as_a_non_superuser_master(aws_project_tasks, master_like_admin):
    import secrets as pysecrets
    created = {}
    try:
        for p in PROJECTS:
            created[p] = (aws_run_name(f"mlflow_{p}"),) * 2
            password = "p@ss:w/%'\\" + pysecrets.token_urlsafe(12)
            created[p] = run_aws_init(aws_project_tasks[p], p, master_like_admin, password) + (password,)
        (a_db, a_user, a_pw), (b_db, _, _) = created["alpha"], created["beta"]
        if BACKEND == "mysql":
            import pymysql
            conn = pymysql.connect(host=os.environ.get("E2E_MYSQL_HOST", "127.0.0.1"), port=int(os.environ.get("E2E_MYSQL_PORT", "3306")),
                                   user=a_user, password=a_pw, database=a_db, connect_timeout=10)
            with conn.cursor() as cur:
                cur.execute("CREATE TABLE t (x INT)")
                cur.execute("SHOW DATABASES")
                assert {row[0] for row in cur.fetchall()} - {"information_schema"} == {a_db}
                with pytest.raises(pymysql.err.OperationalError) as denied:
                    cur.execute(f"USE `{b_db}`")
                assert denied.value.args[0] == 1044
                cur.execute("SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (a_db,))
                assert cur.fetchone()[0] == "utf8mb4_bin"
            conn.close()
        else:
            r = _psql(f"SELECT pg_get_userbyid(datdba), datacl::text FROM pg_database WHERE datname = '{a_db}'")
            assert r.stdout.strip() == f"{a_user}|{{{a_user}=CTc/{a_user}}}", r.stdout
            r = subprocess.run(["psql", "-w", "--no-psqlrc", "-U", a_user, "-d", b_db, "-tAc", "select 1"], env={**os.environ, **PG_ENV},
                               capture_output=True, text=True, timeout=60)
            assert r.returncode != 0 and "permission denied for database" in r.stderr
    finally:
        for v in created.values():
            drop_project_db(v[0], v[1])


# --- the real-deploy job's projects check (.github/scripts/projects_check.py) -----------------

def test_real_deploy_projects_check(pspec, pproxy, project_dbs, project_store, tmp_path):
    """The CI job's check, run here against real nginx, MLflow and database; its in-container probe
    run with project alpha's rendered environment. On MinIO the probe must find no problem; here
    it must report exactly the two listings moto lets through (it ignores s3:prefix conditions),
    and nothing else: so the probe does detect a listing that is not denied."""
    import boto3

    script = Path(__file__).resolve().parent.parent / ".github" / "scripts" / "projects_check.py"
    projects = {p: {"trackingUri": f"{pproxy}/projects/{p}", "username": login(pspec, p)[0], "password": login(pspec, p)[1]} for p in PROJECTS}
    host_env = {**base_env(), "PROJECTS_JSON": json.dumps(projects)}
    for mode in ("log", "verify"):
        r = subprocess.run([sys.executable, str(script), mode, str(tmp_path)], env=host_env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, f"projects_check.py {mode}: {r.stdout}{r.stderr}"
        assert r.stdout.count("health: 200") == 2 and all(login(pspec, p)[1] not in r.stdout + r.stderr for p in PROJECTS)

    import mlflow
    sys.path.insert(0, str(script.parent))
    import projects_check
    # artifact_key points this process's MLflow client at each project: put both back, or the
    # modules after this one talk to this module's (stopped) proxy.
    saved_env, saved_uri = dict(os.environ), mlflow.get_tracking_uri()
    try:
        keys = {p: projects_check.artifact_key(str(tmp_path), p, projects[p]) for p in PROJECTS}
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        mlflow.set_tracking_uri(saved_uri)
    admin = boto3.client("s3", **project_store["admin"])
    for p, key in keys.items():
        assert key.startswith(f"projects/{p}/") and admin.head_object(Bucket=project_store["bucket"], Key=key)["ContentLength"] > 0

    env = project_server_env(pspec, "alpha", project_dbs["alpha"], project_store)
    r = subprocess.run([sys.executable, "-", "probe", "beta", keys["beta"], keys["alpha"], project_dbs["beta"]["name"]],
                       stdin=script.open("rb"), env=env, capture_output=True, timeout=120)
    out, err = r.stdout.decode(), r.stderr.decode()
    assert r.returncode == 1, out + err
    assert err.strip().splitlines()[-1] == "FAIL: list projects/beta/: allowed; list the whole bucket: allowed", out + err
    for denied in (f"read {keys['beta']}: AccessDenied", "write under projects/beta/: AccessDenied", f"delete {keys['beta']}: AccessDenied"):
        assert denied in out, out
    refusal = "1044" if BACKEND == "mysql" else "permission denied for database"
    assert f"connect to database {project_dbs['beta']['name']}: refused" in out and refusal in out, out
    assert "connect to own database" in out and "list own projects/alpha/" in out, out


# --- garbage collection (gc_e2e.py) ---------------------------------------------------------

def test_project_gc_removes_only_its_old_deleted_run_and_reaches_no_neighbour(pspec, project_dbs, project_store, as_project, tmp_path):
    """alpha's gc container, its one-run script run for real with its rendered environment."""
    import boto3
    from botocore.exceptions import ClientError
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    import gc_e2e as g

    c = g.gc_container(pspec, "mlflow-dev-project-alpha-gc")
    assert c["inputs"]["image"] == container(pspec, "tracking-server", "alpha")["inputs"]["image"]
    server_rendered = env_dict(container(pspec, "tracking-server", "alpha"))
    server_here = project_server_env(pspec, "alpha", project_dbs["alpha"], project_store)
    env = g.run_env(c, server_rendered, server_here)
    assert env["MLFLOW_ARTIFACTS_DESTINATION"] == f"s3proxied://{project_store['bucket']}/projects/alpha/"
    client = as_project("alpha")
    exp = client.create_experiment(f"gc-{RUN_SUFFIX}")
    ids = g.make_runs(client, exp, tmp_path)
    engine = create_engine(env["MLFLOW_BACKEND_STORE_URI"])
    try:
        g.age_deleted_runs(engine, ids, 30)
        result = g.run_once(c, env, "project-alpha")
        g.check_collected(engine, boto3.client("s3", **project_store["admin"]), project_store["bucket"], "projects/alpha/", exp, ids, result)
    finally:
        engine.dispose()
    (OUT / "gc-seconds.txt").open("a").write(f"project one run {result[1]:.1f}s\n")
    # The neighbour: with the gc's credentials, beta's prefix and beta's database are out of reach.
    s3 = boto3.client("s3", endpoint_url=env["MLFLOW_S3_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id=env["AWS_ACCESS_KEY_ID"], aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"])
    # (Listing is limited by an s3:prefix condition moto does not evaluate: see test_storage_identity_reaches_only_its_prefix.)
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=project_store["bucket"], Key="projects/beta/1/x/artifacts/y")
    beta = make_url(env["MLFLOW_BACKEND_STORE_URI"]).set(database=project_dbs["beta"]["name"])
    other = create_engine(beta)
    try:
        with pytest.raises(Exception, match="denied|permission"):
            with other.connect() as conn:
                conn.exec_driver_sql("SELECT COUNT(*) FROM runs")
    finally:
        other.dispose()


# --- team accounts inside projects ----------------------------------------------------------
# spec-projects.json has users carol (editor) and dave (viewer) in alpha, erin (editor) in beta.
# Each project's server runs MLflow's auth app with its own accounts, token and auth tables.

def member(spec, name):
    return (name, spec["users"][name]["password"])


def papi(pproxy, project, auth, method, path, **kw):
    return requests.request(method, f"{pproxy}/projects/{project}{path}", auth=auth, timeout=60, **kw)


@pytest.fixture()
def as_member(pspec, pproxy, monkeypatch):
    """An MLflow client at one project's URL, logged in as one team account."""
    import mlflow

    before = mlflow.get_tracking_uri()

    def use(project, name):
        uri = f"{pproxy}/projects/{project}"
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", name)
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", pspec["users"][name]["password"])
        monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "2")
        mlflow.set_tracking_uri(uri)
        return mlflow.MlflowClient(uri)
    yield use
    mlflow.set_tracking_uri(before)


CAROLS = {}


def test_a_member_works_in_their_project_and_runs_record_the_authenticated_user(pspec, as_member, tmp_path):
    assert pspec["users"]["carol"]["projects"] == ["alpha"] and pspec["users"]["dave"]["role"] == "viewer"
    carol = as_member("alpha", "carol")
    exp = carol.create_experiment(f"carol-{BACKEND}-{RUN_SUFFIX}")
    # The client claims whoever runs it (mlflow.user from the OS user); the server records carol.
    run = carol.create_run(exp, tags={"mlflow.user": "somebody-else"})
    carol.log_metric(run.info.run_id, "loss", 0.25)
    src = tmp_path / "notes.txt"
    src.write_text("carol's artifact")
    carol.log_artifact(run.info.run_id, str(src))
    stored = carol.get_run(run.info.run_id)
    assert (stored.info.user_id, stored.data.tags["mlflow.user"]) == ("carol", "carol")
    assert [f.path for f in carol.list_artifacts(run.info.run_id)] == ["notes.txt"]
    CAROLS.update(experiment=exp, run=run.info.run_id)


def test_a_non_member_is_refused_on_every_route_of_the_project(pspec, pproxy, project_servers):
    require(CAROLS, "needs test_a_member_works_in_their_project_and_runs_record_the_authenticated_user first")
    erin, carol = member(pspec, "erin"), member(pspec, "carol")
    exp, run = CAROLS["experiment"], CAROLS["run"]
    routes = [("GET", "/", {}),  # the UI
              ("GET", "/static-files/index.html", {}),
              ("GET", "/api/2.0/mlflow/experiments/search", {"params": {"max_results": 10}}),
              ("GET", "/ajax-api/2.0/mlflow/experiments/get", {"params": {"experiment_id": exp}}),
              ("POST", "/api/2.0/mlflow/runs/create", {"json": {"experiment_id": exp}}),
              ("GET", f"/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/notes.txt", {}),
              ("GET", "/api/2.0/mlflow-artifacts/artifacts", {"params": {"path": f"{exp}/{run}/artifacts"}}),
              ("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/erin.txt", {"data": b"x"})]
    for method, path, kw in routes:
        assert papi(pproxy, "alpha", erin, method, path, **kw).status_code == 401, (method, path)
    # Her own project works; alpha's members get 401 there in turn.
    assert papi(pproxy, "beta", erin, "GET", "/api/2.0/mlflow/experiments/search", params={"max_results": 1}).status_code == 200
    assert papi(pproxy, "beta", carol, "GET", "/api/2.0/mlflow/experiments/search", params={"max_results": 1}).status_code == 401
    # Behind nginx too: alpha's MLflow knows no erin, even with alpha's own token; and beta's token asserts nobody to alpha.
    direct = f"http://127.0.0.1:{project_servers['alpha']['port']}/projects/alpha/api/2.0/mlflow/experiments/search"
    token = {p: env_dict(container(pspec, "tracking-server", p))["MLFLOW_PLATFORM_PROXY_TOKEN"] for p in PROJECTS}
    assert len({token["alpha"], token["beta"], pspec["proxyToken"]}) == 3, "each server has a token of its own"

    def status(tok, user):
        return requests.get(direct, params={"max_results": 1}, timeout=30, headers={"X-Mlflow-Platform-Token": tok, "X-Mlflow-Platform-User": user}).status_code

    assert status(token["alpha"], "carol") == 200
    assert status(token["alpha"], "erin") == 401
    assert status(token["beta"], "carol") == 401
    assert status(pspec["proxyToken"], "carol") == 401


def test_a_viewer_member_reads_the_project_and_gets_403_on_writes(pspec, pproxy):
    require(CAROLS, "needs test_a_member_works_in_their_project_and_runs_record_the_authenticated_user first")
    dave = member(pspec, "dave")
    exp, run = CAROLS["experiment"], CAROLS["run"]
    assert papi(pproxy, "alpha", dave, "GET", "/api/2.0/mlflow/runs/get", params={"run_id": run}).status_code == 200
    r = papi(pproxy, "alpha", dave, "GET", f"/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/notes.txt")
    assert (r.status_code, r.content) == (200, b"carol's artifact")
    writes = [("POST", "/api/2.0/mlflow/experiments/create", {"json": {"name": f"dave-{RUN_SUFFIX}"}}),
              ("POST", "/api/2.0/mlflow/registered-models/create", {"json": {"name": f"dave-{RUN_SUFFIX}"}}),
              ("POST", "/api/2.0/mlflow/runs/create", {"json": {"experiment_id": exp}}),
              ("POST", "/api/2.0/mlflow/runs/log-metric", {"json": {"run_id": run, "key": "m", "value": 1, "timestamp": 0}}),
              ("POST", "/api/2.0/mlflow/experiments/delete", {"json": {"experiment_id": exp}}),
              ("PUT", f"/api/2.0/mlflow-artifacts/artifacts/{exp}/{run}/artifacts/dave.txt", {"data": b"x"})]
    for method, path, kw in writes:
        r = papi(pproxy, "alpha", dave, method, path, **kw)
        assert r.status_code == 403, (method, path, r.status_code, r.text[:200])


def test_an_owner_grants_edit_inside_the_project(pspec, pproxy, as_member, monkeypatch):
    """carol owns her experiment in alpha (MANAGE) and gives dave EDIT there with MLflow's own client:
    the grant is data in alpha's database, and dave writes in that experiment only."""
    from mlflow.server import get_app_client

    require(CAROLS, "needs test_a_member_works_in_their_project_and_runs_record_the_authenticated_user first")
    as_member("alpha", "carol")  # the auth client reads the login from the environment
    get_app_client("basic-auth", tracking_uri=f"{pproxy}/projects/alpha").grant_user_permission("dave", "experiment", CAROLS["experiment"], "EDIT")
    dave = as_member("alpha", "dave")
    run = dave.create_run(CAROLS["experiment"], run_name="dave-was-here")
    dave.log_metric(run.info.run_id, "loss", 0.5)
    assert dave.get_run(run.info.run_id).info.user_id == "dave"
    # EDIT is not MANAGE, and it is on that experiment only.
    assert papi(pproxy, "alpha", member(pspec, "dave"), "POST", "/api/2.0/mlflow/experiments/delete",
                json={"experiment_id": CAROLS["experiment"]}).status_code == 403
    other = papi(pproxy, "alpha", member(pspec, "carol"), "POST", "/api/2.0/mlflow/experiments/create", json={"name": f"carol-2-{RUN_SUFFIX}"})
    assert other.status_code == 200, other.text
    assert papi(pproxy, "alpha", member(pspec, "dave"), "POST", "/api/2.0/mlflow/runs/create",
                json={"experiment_id": other.json()["experiment_id"]}).status_code == 403


def test_the_grant_inside_a_project_survives_a_restart_of_its_server(pspec, pproxy, project_servers):
    """The grant is in alpha's own database: a new alpha server process (as `pulumi up` replacing the
    container, with the sync at its start) still has it; dave writes there and is still refused elsewhere."""
    require(CAROLS, "needs test_an_owner_grants_edit_inside_the_project first")
    s = project_servers["alpha"]
    s["proc"].stop()
    s["proc"].start()
    wait_for("MLflow of project alpha (restarted)", lambda: requests.get(f"http://127.0.0.1:{s['port']}{s['prefix']}/health", timeout=3).status_code == 200,
             300, proc=s["proc"].popen, log=s["proc"].log)
    dave = member(pspec, "dave")
    r = papi(pproxy, "alpha", dave, "POST", "/api/2.0/mlflow/runs/create", json={"experiment_id": CAROLS["experiment"]})
    assert r.status_code == 200, r.text
    assert r.json()["run"]["info"]["user_id"] == "dave"
    assert papi(pproxy, "alpha", dave, "POST", "/api/2.0/mlflow/experiments/create", json={"name": f"dave-2-{RUN_SUFFIX}"}).status_code == 403


# --- backup and restore (backup_e2e.py) --------------------------------------------------------

def test_project_restore_drill(pspec, project_dbs, project_store, project_servers, as_project, tmp_path):
    """alpha's database and prefix backed up by the stack's backup containers, wiped, restored with
    the documented commands (the artifacts with alpha's prefix only), read back through alpha's URL."""
    import boto3

    import backup_e2e as b

    client = as_project("alpha")
    model = f"backup-alpha-{RUN_SUFFIX}"
    exp = b.log_data(client, f"backup-alpha-{RUN_SUFFIX}", model, tmp_path)
    before = b.snapshot(client, exp, model, tmp_path)
    db = b.DatabaseBackup(pspec, tmp_path / "db", {"mlflow_alpha": project_dbs["alpha"]["name"]}, "p")
    assert db.env["BACKUP_DATABASES"].split()[:3] == ["mlflow", "mlflow_alpha", "mlflow_beta"]
    artifacts = b.ArtifactBackup(pspec, tmp_path / "artifacts", project_store, "p")
    try:
        db.run("grant", admin=True)
        assert b.write_refused(db, project_dbs["alpha"]["name"])
        db.run("once")
        artifacts.run("once")
        [dump] = db.dumps()
        s3 = boto3.client("s3", **project_store["admin"])

        def keys(prefix):
            return sorted(o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=project_store["bucket"], Prefix=prefix)
                          for o in p.get("Contents", []))
        alpha, beta = keys("projects/alpha/"), keys("projects/beta/")
        server = project_servers["alpha"]
        server["proc"].stop()
        b.wipe_database(project_dbs["alpha"]["name"])
        for k in alpha:
            s3.delete_object(Bucket=project_store["bucket"], Key=k)
        db.run("restore", dump, admin=True)
        r = artifacts.run("restore", "projects/alpha/", keys=artifacts.owner_keys())
        assert f"{len(alpha)} object(s) restored" in r.stderr, r.stderr
        assert keys("projects/alpha/") == alpha and keys("projects/beta/") == beta
        server["proc"].start()
        url = f"http://127.0.0.1:{server['port']}{server['prefix']}/health"
        wait_for("MLflow of project alpha", lambda: requests.get(url, timeout=3).status_code == 200, 300, proc=server["proc"].popen, log=server["proc"].log)
        assert b.snapshot(client, exp, model, tmp_path) == before
    finally:
        db.drop_user()
