"""Served models on the aws target: the model task reads the registry with its own read-only login.

Runs what the aws target renders (e2e/out/<backend>/aws-env-serving.json, written by
render-aws-env.ts from the ECS task definitions, with every `secrets` entry resolved to the
value stored in the secret its ARN names):

- MLflow with the tracking task's environment (mapped as in test_server_lifecycle.py);
- the tracking task's nginx sidecar started by its own rendered command, with NGINX_CONF,
  HTPASSWD and READERS_HTPASSWD as ECS injects them; mapped: /etc/nginx -> a directory here,
  listen 8080 / 8082 -> free ports, upstream 127.0.0.1:5000 -> MLflow's port;
- the MLflow client with a model task's environment (MLFLOW_TRACKING_URI, _USERNAME, and
  MLFLOW_TRACKING_PASSWORD from its reader secret); only the URI's port is mapped, its host
  (the Cloud Map name) resolves to 127.0.0.1 in that process, so MLflow sees the Host header a
  model task sends.

What the local target's reader endpoint does end to end (serving through it, alias moves)
is test_serving.py's; this file proves the aws wiring: the right files reach the sidecar, the
model task's credentials are accepted there and nowhere else, and they cannot write.
"""
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from conftest import BACKEND, OUT, MlflowServer, Proc, Redacted, base_env, free_port, map_access_log, require, wait_for
from test_server_lifecycle import Database, public_host, server_env

SERVED = "e2e-served"
READER_PORT = 8082
USERS_PORT = 8080


@pytest.fixture(scope="module")
def rendered():
    path = OUT / "aws-env-serving.json"
    require(path.exists(), f"{path} not rendered (run e2e/run)")
    data = json.loads(path.read_text())
    assert data["backend"] == BACKEND
    return data


@pytest.fixture(scope="module")
def model_task(rendered):
    m = rendered["serving"]["models"][SERVED]
    assert set(m["secrets"]) == {"MLFLOW_TRACKING_PASSWORD"}, "the reader password is the model task's only secret"
    assert "MLFLOW_TRACKING_PASSWORD" not in m["environment"]
    return Redacted({**m["environment"], **m["secrets"]})


class Sidecar:
    """The tracking task's proxy container, started with its rendered command and environment."""

    def __init__(self, serving, mlflow_port, name="nginx-aws-sidecar"):
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        require(Path(binary).exists(), "nginx (apt-get install nginx-light)")
        s = serving["sidecar"]
        assert s["ports"] == [USERS_PORT, READER_PORT], s["ports"]
        assert set(s["secrets"]) == {"HTPASSWD", "READERS_HTPASSWD"}, list(s["secrets"])
        self.dir = OUT / name
        shutil.rmtree(self.dir, ignore_errors=True)
        (self.dir / "conf.d").mkdir(parents=True)
        (self.dir / "tmp").mkdir()
        for d in (self.dir, self.dir / "conf.d"):
            os.chmod(d, 0o755)
        os.chmod(self.dir / "tmp", 0o777)
        self.users_port, self.reader_port = free_port(), free_port()

        def sub(old, new, text, count=1):
            assert text.count(old) == count, f"expected {count} x `{old}` in the rendered sidecar"
            return text.replace(old, new)

        conf = s["environment"]["NGINX_CONF"]
        conf = sub("server 127.0.0.1:5000;", f"server 127.0.0.1:{mlflow_port};", conf)
        conf = sub(f"listen {USERS_PORT};", f"listen 127.0.0.1:{self.users_port};", conf)
        conf = sub(f"listen {READER_PORT};", f"listen 127.0.0.1:{self.reader_port};", conf)
        assert "/etc/nginx/mlflow-readers.htpasswd" in conf and "/etc/nginx/mlflow.htpasswd" in conf
        # Each server block logs JSON to the container's stdout, and so inherits no http-level log.
        conf = map_access_log(conf, name)
        conf = conf.replace("/etc/nginx/", f"{self.dir}/")
        t = self.dir / "tmp"
        user = "user nobody nogroup;\n" if os.geteuid() == 0 else ""
        # The image's main config, reduced to what a non-root run here needs; `daemon off` comes from the command.
        (self.dir / "nginx.conf").write_text(f"""{user}worker_processes 1;
pid {self.dir / 'nginx.pid'};
error_log {OUT / (name + '-error.log')} info;
events {{ worker_connections 64; }}
http {{
    log_format e2e '$msec $status "$request" $request_time upstream=$upstream_status';
    access_log {OUT / (name + '-access.log')} e2e;
    client_body_temp_path {t}/client_body;
    proxy_temp_path {t}/proxy;
    fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi;
    scgi_temp_path {t}/scgi;
    include {self.dir / 'conf.d'}/*.conf;
}}
""")
        command = s["command"]
        assert command[:2] == ["/bin/sh", "-c"]
        script = sub("exec nginx ", f"exec {binary} -p {self.dir} -c {self.dir / 'nginx.conf'} ", command[2])
        script = script.replace("/etc/nginx/", f"{self.dir}/")
        env = {**base_env(), "NGINX_CONF": conf, **s["secrets"]}
        self.proc = Proc(name, command[:2] + [script], env)
        self.users_url = f"http://127.0.0.1:{self.users_port}"
        self.reader_url = f"http://127.0.0.1:{self.reader_port}"
        self.access_log = OUT / (name + "-access.log")

    def start(self):
        self.proc.start()
        wait_for("aws sidecar", lambda: requests.get(f"{self.reader_url}/api/2.0/mlflow/experiments/search", timeout=3).status_code == 401,
                 30, proc=self.proc.popen, log=self.proc.log)
        return self


@pytest.fixture(scope="module")
def aws_tracking(rendered, artifact_store):
    db = Database("awsread").create()
    server = MlflowServer(server_env(rendered["environment"], db, artifact_store), name="mlflow-aws-serving")
    sidecar = None
    try:
        server.start()
        sidecar = Sidecar(rendered["serving"], server.port).start()
        yield server, sidecar
    finally:
        if sidecar is not None:
            sidecar.proc.stop()
        server.proc.stop()
        db.drop()


def run_client(env, host, port, code, timeout=300):
    """Python with the MLflow client in `env`; `host` resolves to 127.0.0.1 and its port to `port`."""
    prelude = f"""
import socket
_gai = socket.getaddrinfo
def _mapped(h, p, *a, **k):
    return _gai("127.0.0.1", {port}, *a, **k) if h == {host!r} else _gai(h, p, *a, **k)
socket.getaddrinfo = _mapped
"""
    r = subprocess.run([sys.executable, "-c", prelude + code], env={**base_env(), **env}, capture_output=True, text=True, timeout=timeout)
    (OUT / "aws-reader-client.log").open("a").write(r.stdout + r.stderr)
    assert r.returncode == 0, f"client failed: see {OUT / 'aws-reader-client.log'}"
    return json.loads(r.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def registered(aws_tracking, model_task, tmp_path_factory):
    """As an operator on MLflow itself: a run with a small artifact, version 1 of the model, alias champion."""
    server, _ = aws_tracking
    host = urlsplit(model_task["MLFLOW_TRACKING_URI"]).hostname
    src = tmp_path_factory.mktemp("aws-model") / "weights.txt"
    src.write_text(f"weights {uuid.uuid4().hex}\n")
    code = f"""
import json, mlflow
mlflow.set_experiment("e2e-aws-reader")
with mlflow.start_run() as run:
    mlflow.log_artifact({str(src)!r}, "model")
c = mlflow.MlflowClient()
c.create_registered_model({SERVED!r})
mv = c.create_model_version({SERVED!r}, run.info.artifact_uri + "/model", run_id=run.info.run_id)
c.set_registered_model_alias({SERVED!r}, "champion", mv.version)
print(json.dumps({{"version": mv.version}}))
"""
    out = run_client({"MLFLOW_TRACKING_URI": f"http://{host}:{server.port}"}, host, server.port, code)
    return {"version": out["version"], "content": src.read_text()}


def reader_env(model_task, sidecar):
    """The model task's MLflow client environment, the URI's port mapped to the sidecar's reader port."""
    uri = urlsplit(model_task["MLFLOW_TRACKING_URI"])
    assert uri.port == READER_PORT and uri.hostname.startswith("mlflow.") and uri.hostname.endswith(".internal"), uri
    return {k: model_task[k] for k in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")}


def test_the_model_task_reads_the_alias_and_downloads_the_model_through_the_reader_endpoint(aws_tracking, model_task, registered, tmp_path):
    _, sidecar = aws_tracking
    host = urlsplit(model_task["MLFLOW_TRACKING_URI"]).hostname
    code = f"""
import json, os, mlflow
c = mlflow.MlflowClient()
mv = c.get_model_version_by_alias({SERVED!r}, "champion")
path = mlflow.artifacts.download_artifacts("models:/{SERVED}@champion", dst_path={str(tmp_path)!r})
refused = []
for what, call in [("create experiment", lambda: c.create_experiment("e2e-aws-reader-must-not-exist")),
                   ("move alias", lambda: c.set_registered_model_alias({SERVED!r}, "champion", "2")),
                   ("delete alias", lambda: c.delete_registered_model_alias({SERVED!r}, "champion"))]:
    try:
        call()
    except mlflow.exceptions.MlflowException as e:
        refused.append([what, "403" in str(e)])
print(json.dumps({{"version": mv.version, "content": open(os.path.join(path, "weights.txt")).read(), "refused": refused}}))
"""
    start = sidecar.access_log.stat().st_size if sidecar.access_log.exists() else 0
    out = run_client(reader_env(model_task, sidecar), host, sidecar.reader_port, code)
    assert out["version"] == registered["version"]
    assert out["content"] == registered["content"]
    assert out["refused"] == [["create experiment", True], ["move alias", True], ["delete alias", True]]
    log = sidecar.access_log.read_text()[start:]
    # The artifact came through the endpoint (MLflow's artifact proxy), not through presigned S3 URLs:
    # the endpoint does not answer server-info, so the client never asks for them.
    assert " 200 \"GET /api/2.0/mlflow-artifacts/artifacts/" in log, log
    assert "/presigned" not in log and " 404 \"GET /api/3.0/mlflow/server-info" in log, log


def test_the_reader_login_is_read_only_and_valid_only_on_the_reader_port(aws_tracking, model_task, registered, rendered):
    server, sidecar = aws_tracking
    uri = urlsplit(model_task["MLFLOW_TRACKING_URI"])
    # The Host header a model task sends; MLflow admits it (its allowed hosts list the Cloud Map name).
    as_task = {"Host": uri.netloc}
    reader = (model_task["MLFLOW_TRACKING_USERNAME"], model_task["MLFLOW_TRACKING_PASSWORD"])
    other = rendered["serving"]["models"]["e2e-missing"]
    user = (open(sidecar.dir / "mlflow.htpasswd").read().split(":", 1)[0], rendered["serving"]["userPassword"])
    api = "/api/2.0/mlflow"
    alias_url = f"{api}/registered-models/alias?name={SERVED}&alias=champion"

    def get(base, auth, path=alias_url, headers=as_task):
        return requests.get(f"{base}{path}", auth=auth, headers=headers, timeout=30)

    r = get(sidecar.reader_url, reader)
    assert r.status_code == 200, r.text
    assert r.json()["model_version"]["version"] == registered["version"]
    # Every model's reader reads (the registry has no per-model permissions without MLflow's auth app).
    assert get(sidecar.reader_url, (other["environment"]["MLFLOW_TRACKING_USERNAME"], other["secrets"]["MLFLOW_TRACKING_PASSWORD"])).status_code == 200

    writes = [
        ("POST", f"{api}/experiments/create", {"name": "e2e-aws-reader-write"}),
        ("POST", f"{api}/registered-models/alias", {"name": SERVED, "alias": "champion", "version": "1"}),
        ("DELETE", alias_url, None),
        ("DELETE", f"{api}/registered-models/delete", {"name": SERVED}),
        ("PUT", "/api/2.0/mlflow-artifacts/artifacts/1/x/artifacts/evil.txt", None),
    ]
    for method, path, body in writes:
        r = requests.request(method, f"{sidecar.reader_url}{path}", auth=reader, headers=as_task, json=body, timeout=30)
        assert r.status_code == 403, (method, path, r.status_code)
    # Nothing moved: asked of MLflow itself.
    direct = requests.get(f"http://127.0.0.1:{server.port}{alias_url}", headers={"Host": f"{uri.hostname}:{server.port}"}, timeout=30)
    assert direct.status_code == 200 and direct.json()["model_version"]["version"] == registered["version"]

    assert get(sidecar.reader_url, None).status_code == 401
    assert get(sidecar.reader_url, (reader[0], reader[1] + "x")).status_code == 401
    # Reader logins are not user logins, and the other way round.
    lb = {"Host": public_host(rendered["environment"])}
    assert get(sidecar.users_url, user, headers=lb).status_code == 200
    assert get(sidecar.users_url, reader, headers=lb).status_code == 401
    assert get(sidecar.reader_url, user).status_code == 401
    # Outside the API: not for model servers.
    assert get(sidecar.reader_url, reader, path="/").status_code == 404
