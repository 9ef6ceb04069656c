"""Tests of the model-serving supervisor, run by `npm run test:e2e` in the image's own Python environment.

The swaps run real processes (a tiny HTTP server standing in for `mlflow models serve`) on real
ports; e2e/test_serving.py runs the supervisor with the real `mlflow models serve`.
"""
import json
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

import pytest
from mlflow.exceptions import MlflowException
from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, RESOURCE_DOES_NOT_EXIST

import serve_model

FAKE_SERVER = """
import http.server, sys
port, version = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.end_headers(); self.wfile.write(version.encode())
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port, path="/ping"):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except OSError:
        return None, ""


def settings(ports, poll=1):
    return {"tracking_uri": "http://mlflow:5000", "name": "churn", "alias": "champion", "host": "127.0.0.1",
            "ports": ports, "poll": poll, "workers": 1}


class Script:
    """resolve() answers from a list the test changes between steps."""

    def __init__(self):
        self.answer = (None, "cannot serve models:/churn@champion: not found. Fix: register it")

    def __call__(self):
        return self.answer


@pytest.fixture
def supervisor():
    ports = [free_port(), free_port()]
    script = Script()
    started = []

    def start(version, port):
        argv = [sys.executable, "-c", "import sys; sys.exit(3)"] if version == "bad" else [sys.executable, "-c", FAKE_SERVER, str(port), version]
        p = serve_model.ModelProcess(argv, None, port, version)
        started.append(p)
        return p

    sup = serve_model.Supervisor(settings(ports), script, start, threading.Event(), start_timeout=30)
    yield sup, script, ports, started
    sup.close()
    for p in started:
        p.stop()


def test_the_image_carries_the_supervisor_where_the_program_runs_it():
    here = serve_model.__file__.rsplit("/", 1)[0]
    dockerfile = open(f"{here}/Dockerfile").read()
    assert "COPY serve_model.py /opt/mlflow/\n" in dockerfile
    assert "!serve_model.py\n" in open(f"{here}/.dockerignore").read()
    # SERVE_MODEL_PATH in components/modelServer/serving.ts.
    assert '"/opt/mlflow/serve_model.py"' in open(f"{here}/../../components/modelServer/serving.ts").read()


def test_settings_need_the_model_and_two_ports():
    env = {"MLFLOW_TRACKING_URI": "http://mlflow:5000", "MLFLOW_SERVE_MODEL_NAME": "churn", "MLFLOW_SERVE_MODEL_ALIAS": "champion",
           "MLFLOW_SERVE_PORTS": "8080,8081", "MLFLOW_SERVE_POLL_SECONDS": "7", "MLFLOW_MODELS_WORKERS": "2"}
    s = serve_model.settings_from_env(env)
    assert (s["ports"], s["poll"], s["workers"], s["host"]) == ([8080, 8081], 7, 2, "0.0.0.0")
    with pytest.raises(SystemExit, match="MLFLOW_SERVE_MODEL_NAME"):
        serve_model.settings_from_env({**env, "MLFLOW_SERVE_MODEL_NAME": ""})
    with pytest.raises(SystemExit, match="two different ports"):
        serve_model.settings_from_env({**env, "MLFLOW_SERVE_PORTS": "8080,8080"})


def test_the_served_command_uses_the_image_environment_and_the_downloaded_version():
    assert serve_model.serve_argv("/tmp/served-model-x/v3-abc", "0.0.0.0", 8081, 2) == [
        sys.executable, "-m", "mlflow", "models", "serve", "-m", "/tmp/served-model-x/v3-abc", "--env-manager", "local",
        "-h", "0.0.0.0", "-p", "8081", "-w", "2"]


# Stands in for the served model's code: answers what it can learn of the registry credentials,
# from its own environment and from its parent's /proc/<pid>/environ.
NOSY_MODEL = """
import http.server, json, os, sys
port = int(sys.argv[1])
def parent_environ():
    try:
        with open(f"/proc/{os.getppid()}/environ", "rb") as f:
            return f.read().decode(errors="replace")
    except OSError as e:
        return f"denied: {e.strerror}"
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"env": sorted(os.environ), "parent": parent_environ(), "model": open(sys.argv[2]).read()}).encode()
        self.send_response(200); self.end_headers(); self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
"""

# The supervisor's side as main() wires it: undumpable, downloads with its credentials, serves with starter().
SUPERVISOR_SIDE = """
import json, os, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
import serve_model
port, nosy = int(sys.argv[2]), sys.argv[3]
serve_model.make_undumpable()
def download(uri, dst):
    assert os.environ["MLFLOW_TRACKING_PASSWORD"] == "reader-secret-pw"
    open(os.path.join(dst, "MLmodel"), "w").write(uri)
    return dst
s = {"host": "127.0.0.1", "workers": 1}
files = serve_model.ModelFiles("churn", tempfile.mkdtemp(), download)
start = serve_model.starter(s, dict(os.environ), files, argv=lambda path, p: [sys.executable, "-c", nosy, str(p), os.path.join(path, "MLmodel")])
proc = start("7", port)
print(proc.popen.pid, flush=True)
proc.popen.wait()
"""


def test_the_served_process_gets_no_credential_and_cannot_read_the_supervisors():
    """The model's code runs as the supervisor's user: neither its environment nor the supervisor's /proc holds the password."""
    import os
    import subprocess

    port = free_port()
    env = {"PATH": "/usr/bin:/bin", "MLFLOW_TRACKING_URI": "http://mlflow-registry:8082", "MLFLOW_TRACKING_USERNAME": "model-churn",
           "MLFLOW_TRACKING_PASSWORD": "reader-secret-pw", "MLFLOW_TRACKING_TOKEN": "tok", "MLFLOW_SERVE_MODEL_NAME": "churn"}
    here = os.path.dirname(serve_model.__file__)
    # Both as one unprivileged user, as in the image (USER 10001): root would bypass the ptrace checks.
    # (The supervisor's side needs only the standard library: a system python the other user can run.)
    user = {"user": 65534, "group": 65534, "extra_groups": []} if os.geteuid() == 0 else {}
    python = "/usr/bin/python3" if user and os.path.exists("/usr/bin/python3") else sys.executable
    sup = subprocess.Popen([python, "-c", SUPERVISOR_SIDE, here, str(port), NOSY_MODEL], env=env, cwd="/",
                           stdout=subprocess.PIPE, text=True, **user)
    served = None
    try:
        served = int(sup.stdout.readline())
        deadline = time.time() + 30
        while get(port, "/")[0] != 200 and time.time() < deadline:
            time.sleep(0.2)
        seen = json.loads(get(port, "/")[1])
    finally:
        if served is not None:
            os.killpg(served, 9)  # its own session (ModelProcess), so its group
        sup.kill()
        sup.wait()
    assert seen["model"] == "models:/churn/7", "the served process loads the version the supervisor downloaded"
    assert [k for k in seen["env"] if k.startswith("MLFLOW_TRACKING")] == []
    assert "MLFLOW_SERVE_MODEL_NAME" in seen["env"]
    assert "reader-secret-pw" not in seen["parent"] and seen["parent"].startswith("denied"), seen["parent"][:80]


def test_model_files_keep_only_the_served_and_the_starting_version(tmp_path):
    downloads = []

    def download(uri, dst):
        downloads.append(uri)
        if uri.endswith("/bad"):
            raise OSError("registry unreachable")
        (tmp_path / "x").touch()
        return dst

    files = serve_model.ModelFiles("churn", str(tmp_path), download)
    one = files.path("1", None)
    assert files.path("1", None) == one and downloads == ["models:/churn/1"], "a version moved back to the first port is not downloaded again"
    two = files.path("2", "1")
    with pytest.raises(OSError):
        files.path("bad", "2")
    three = files.path("3", "2")
    import os
    assert not os.path.exists(one) and os.path.isdir(two) and os.path.isdir(three)
    assert sorted(p for p in os.listdir(tmp_path) if p.startswith("v")) == sorted(os.path.basename(p) for p in (two, three))


class FakeClient:
    def __init__(self, error):
        self.error = error

    def get_model_version_by_alias(self, name, alias):
        raise self.error


@pytest.mark.parametrize("error,expected", [
    (MlflowException("Registered Model with name=churn not found", error_code=RESOURCE_DOES_NOT_EXIST),
     ["models:/churn@champion", "not found", "Fix:", "set_registered_model_alias('churn', 'champion'"]),
    (MlflowException("boom", error_code=INTERNAL_ERROR), ["looking up models:/churn@champion at http://mlflow:5000 failed: INTERNAL_ERROR: boom"]),
    (ConnectionError("refused"), ["cannot reach the tracking server at http://mlflow:5000", "refused"]),
])
def test_a_failed_lookup_says_why(error, expected):
    version, reason = serve_model.resolve_alias(FakeClient(error), "http://mlflow:5000", "churn", "champion")
    assert version is None
    for part in expected:
        assert part in reason


def test_missing_model_placeholder_is_unhealthy_with_the_reason_logged_once(supervisor, capsys):
    sup, script, ports, _ = supervisor
    sup.step()
    sup.step()
    status, body = get(ports[0])
    assert status == 503
    assert json.loads(body)["message"].startswith("cannot serve models:/churn@champion")
    assert get(ports[0], "/invocations")[0] == 503
    assert serve_model.healthcheck({"MLFLOW_SERVE_PORTS": f"{ports[0]},{ports[1]}"}) == 1
    assert capsys.readouterr().err.count("cannot serve models:/churn@champion") == 1


def test_each_version_starts_on_the_free_port_before_the_old_one_stops_and_moves_to_the_first(supervisor, capsys):
    sup, script, ports, started = supervisor
    sup.step()  # placeholder on the first port
    script.answer = ("1", None)
    sup.step()
    sup.step()
    assert capsys.readouterr().err.count("serving models:/churn/1 (alias champion)") == 1, "logged at every poll"
    # Started on the second port while the placeholder held the first, then moved back to the first.
    assert [p.port for p in started] == [ports[1], ports[0]]
    assert get(ports[0]) == (200, "1")
    assert get(ports[1]) == (None, "")
    assert serve_model.healthcheck({"MLFLOW_SERVE_PORTS": f"{ports[0]},{ports[1]}"}) == 0
    script.answer = ("2", None)
    sup.step()
    assert [(p.port, p.version) for p in started[2:]] == [(ports[1], "2"), (ports[0], "2")]
    assert get(ports[0]) == (200, "2")
    assert get(ports[1]) == (None, "")
    assert [p.alive() for p in started] == [False, False, False, True]
    # The alias disappears: keep serving what was served.
    script.answer = (None, "cannot serve models:/churn@champion: alias gone")
    sup.step()
    assert get(ports[0]) == (200, "2")


def test_a_version_that_fails_to_start_leaves_the_served_one_and_is_not_retried_at_once(supervisor, capsys):
    sup, script, ports, started = supervisor
    script.answer = ("1", None)
    sup.step()
    script.answer = ("bad", None)
    sup.step()
    sup.step()
    # Nothing held the first port, so version 1 started there directly.
    assert [p.version for p in started] == ["1", "bad"], "the failed version was started again within FAILED_RETRY_SECONDS"
    assert sup.version == "1" and get(ports[0]) == (200, "1")
    assert "version bad of churn failed to start (exited with status 3" in capsys.readouterr().err


def test_a_served_process_that_dies_is_reported_and_replaced_by_the_placeholder(supervisor):
    sup, script, ports, started = supervisor
    script.answer = ("1", None)
    sup.step()
    started[-1].stop()
    sup.step()
    status, body = get(ports[0]) if get(ports[0])[0] else get(ports[1])
    assert status == 503
    assert "version 1 of churn exited with status" in json.loads(body)["message"]
    assert len(started) == 1, "a version that just died was restarted at once (crash loop)"


def test_fast_lookup_settings_apply_to_the_lookup_only(monkeypatch):
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "60")
    import os
    seen = serve_model.with_env({"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0"}, lambda: os.environ.get("MLFLOW_HTTP_REQUEST_MAX_RETRIES"))()
    assert seen == "0"
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ and os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "60"
