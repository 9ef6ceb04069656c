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
    # SERVE_MODEL_PATH in components/render/serving.ts.
    assert '"/opt/mlflow/serve_model.py"' in open(f"{here}/../../components/render/serving.ts").read()


def test_settings_need_the_model_and_two_ports():
    env = {"MLFLOW_TRACKING_URI": "http://mlflow:5000", "MLFLOW_SERVE_MODEL_NAME": "churn", "MLFLOW_SERVE_MODEL_ALIAS": "champion",
           "MLFLOW_SERVE_PORTS": "8080,8081", "MLFLOW_SERVE_POLL_SECONDS": "7", "MLFLOW_MODELS_WORKERS": "2"}
    s = serve_model.settings_from_env(env)
    assert (s["ports"], s["poll"], s["workers"], s["host"]) == ([8080, 8081], 7, 2, "0.0.0.0")
    with pytest.raises(SystemExit, match="MLFLOW_SERVE_MODEL_NAME"):
        serve_model.settings_from_env({**env, "MLFLOW_SERVE_MODEL_NAME": ""})
    with pytest.raises(SystemExit, match="two different ports"):
        serve_model.settings_from_env({**env, "MLFLOW_SERVE_PORTS": "8080,8080"})


def test_the_served_command_uses_the_image_environment_and_a_pinned_version():
    assert serve_model.serve_argv("churn", "3", "0.0.0.0", 8081, 2) == [
        sys.executable, "-m", "mlflow", "models", "serve", "-m", "models:/churn/3", "--env-manager", "local",
        "-h", "0.0.0.0", "-p", "8081", "-w", "2"]


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
