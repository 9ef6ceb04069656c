"""Registered models served over REST behind the proxy (issue 12), from the rendered config.

e2e/run renders `spec-serving.json`: the same stack config as spec.json plus
servedModels=["e2e-served","e2e-missing"] and servingPollSeconds=2. Here, on the session's
database and artifact store:

| rendered container | runs here as                                    | rewritten (and nothing else)                 |
|--------------------|-------------------------------------------------|----------------------------------------------|
| tracking-server    | a second MLflow (the entrypoint) with the       | as in conftest, and the serving render's     |
|                    | session's env                                   | MLFLOW_SERVER_ALLOWED_HOSTS (checked to be   |
|                    |                                                 | the only non-secret difference)              |
| model-server (x2)  | images/tracking-server/serve_model.py with the  | MLFLOW_TRACKING_URI http://mlflow:5000 ->    |
|                    | container's env; it runs the real               | the second MLflow; ports 8080,8081 -> free   |
|                    | `mlflow models serve --env-manager local`       | ports; listen address -> 127.0.0.1           |
| auth-proxy         | nginx with the serving render's default.conf    | as in conftest, and each model upstream      |
|                    | and htpasswd                                    | `model-<name>:<port>` -> 127.0.0.1:<port>    |
"""
import json
import subprocess
import sys
import threading
import time

import pytest
import requests

from conftest import (OUT, REPO, MlflowServer, Nginx, Proc, Redacted, RedactedPair, allow_5xx_window, base_env, env_dict, free_port,
                      mlflow_env, require, wait_for)

SERVING_SPEC = OUT / "spec-serving.json"
SUPERVISOR = REPO / "images" / "tracking-server" / "serve_model.py"
SERVED, MISSING = "e2e-served", "e2e-missing"
PAYLOAD = {"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.5], [-4.0]]}}
SECRET_WORDS = ("PASSWORD", "SECRET", "URI", "ACCESS_KEY")


@pytest.fixture(scope="module")
def serving_spec():
    require(SERVING_SPEC.exists(), f"spec {SERVING_SPEC} not rendered (run e2e/run)")
    data = json.loads(SERVING_SPEC.read_text())
    models = [c for c in data["containers"] if c["role"] == "model-server"]
    others = {c["role"]: c for c in data["containers"] if c["role"] != "model-server"}
    assert len(others) == len(data["containers"]) - len(models) == 5
    return Redacted({**data, "models": {env_dict(c)["MLFLOW_SERVE_MODEL_NAME"]: c for c in models}, "by_role": others})


@pytest.fixture(scope="module")
def serving_credentials(serving_spec):
    return RedactedPair((serving_spec["clientUser"], serving_spec["clientPassword"]))


def test_serving_render_changes_mlflow_only_by_admitting_its_internal_name(spec, serving_spec):
    before = env_dict(spec["by_role"]["tracking-server"])
    after = env_dict(serving_spec["by_role"]["tracking-server"])
    assert sorted(before) == sorted(after)
    changed = sorted(k for k in before if before[k] != after[k] and not any(w in k for w in SECRET_WORDS))
    assert changed == ["MLFLOW_SERVER_ALLOWED_HOSTS"], changed
    assert after["MLFLOW_SERVER_ALLOWED_HOSTS"] == before["MLFLOW_SERVER_ALLOWED_HOSTS"] + ",mlflow,mlflow:*"
    assert sorted(serving_spec["models"]) == [MISSING, SERVED]


@pytest.fixture(scope="module")
def serving_mlflow(spec, serving_spec, mlflow_env_rendered, database, artifact_store):
    hosts = env_dict(serving_spec["by_role"]["tracking-server"])["MLFLOW_SERVER_ALLOWED_HOSTS"]
    server = MlflowServer(mlflow_env(mlflow_env_rendered, database, artifact_store, MLFLOW_SERVER_ALLOWED_HOSTS=hosts), name="mlflow-serving")
    try:
        yield server.start()
    finally:
        server.proc.stop()


class Supervisor:
    def __init__(self, container, tracking_port):
        env = env_dict(container)
        assert container["inputs"]["entrypoints"] == ["python", "/opt/mlflow/serve_model.py"]
        assert container["inputs"]["healthcheck"]["tests"] == ["CMD", "python", "/opt/mlflow/serve_model.py", "healthcheck"]
        assert not any(w in k for k in env for w in SECRET_WORDS[:2] + ("USERNAME",)), sorted(env)
        assert env["MLFLOW_TRACKING_URI"] == "http://mlflow:5000" and env["MLFLOW_SERVE_PORTS"] == "8080,8081"
        assert env["MLFLOW_SERVE_HOST"] == "0.0.0.0"
        self.name = env["MLFLOW_SERVE_MODEL_NAME"]
        self.host = container["inputs"]["networksAdvanced"][0]["aliases"][0]
        self.ports = {8080: free_port(), 8081: free_port()}
        self.env = {**base_env(), **env, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{tracking_port}", "MLFLOW_SERVE_HOST": "127.0.0.1",
                    "MLFLOW_SERVE_PORTS": ",".join(str(p) for p in self.ports.values())}
        self.poll = int(env["MLFLOW_SERVE_POLL_SECONDS"])
        self.proc = Proc(f"serve-{self.name}", [sys.executable, str(SUPERVISOR)], self.env, cwd=str(OUT)).start()

    def healthcheck(self):
        """The container's healthcheck command, run with the container's (mapped) environment."""
        return subprocess.run([sys.executable, str(SUPERVISOR), "healthcheck"], env=self.env, timeout=30).returncode

    def log(self):
        return self.proc.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def supervisors(serving_spec, serving_mlflow):
    started = {}
    try:
        for name, c in serving_spec["models"].items():
            started[name] = Supervisor(c, serving_mlflow.port)
        yield started
    finally:
        for s in started.values():
            s.proc.stop()


@pytest.fixture(scope="module")
def serving_proxy(serving_spec, serving_mlflow, supervisors):
    n = Nginx(serving_spec, serving_mlflow.port, name="nginx-serving")
    conf_file = n.dir / "default.conf"
    conf = conf_file.read_text()
    for s in supervisors.values():
        for rendered, local in s.ports.items():
            server = f"server {s.host}:{rendered} "
            assert conf.count(server) == 1, f"expected exactly one `{server}` in the rendered nginx config"
            conf = conf.replace(server, f"server 127.0.0.1:{local} ")
    conf_file.write_text(conf)
    try:
        yield n.start()
    finally:
        n.proc.stop()


def post(url, body, auth, **kw):
    return requests.post(url, data=body if isinstance(body, (str, bytes)) else json.dumps(body),
                         headers={"Content-Type": "application/json"}, auth=auth, timeout=30, **kw)


def test_a_model_that_does_not_exist_is_explained_unhealthy_and_retried_not_crash_looped(serving_proxy, supervisors, serving_credentials):
    s = supervisors[MISSING]
    wait_for("the missing model's log line", lambda: "cannot serve models:/e2e-missing@champion" in s.log(), 60, proc=s.proc.popen, log=s.proc.log)
    asked = time.time()
    r = requests.get(f"{serving_proxy.url}/models/{MISSING}/ping", auth=serving_credentials, timeout=10)
    allow_5xx_window(asked, time.time(), "the placeholder's deliberate 503 for a model that does not exist")
    assert r.status_code == 503
    message = r.json()["message"]
    assert "models:/e2e-missing@champion" in message and "Fix: register a version of model 'e2e-missing'" in message
    assert s.healthcheck() == 1
    time.sleep(3 * s.poll)
    assert s.proc.popen.poll() is None, "the supervisor exited"
    line = [ln for ln in s.log().splitlines() if "cannot serve models:/e2e-missing@champion" in ln]
    assert len(line) == 1, f"logged {len(line)} times in {3 * s.poll} s: the reason is logged once, not at every poll"
    assert "mlflow models serve" not in s.log() and "Traceback" not in s.log()


@pytest.fixture(scope="module")
def registered(tracking, experiment):
    """Versions 1 (x + 1) and 2 (x + 10) of e2e-served, alias champion -> 1, and their local predictions."""
    import mlflow
    import pandas as pd
    from e2e_model import AddN

    mlflow.set_experiment(experiment_id=experiment["id"])
    predictions = {}
    for n in (1, 10):
        with mlflow.start_run(run_name=f"served-{n}"):
            info = mlflow.pyfunc.log_model(name="model", python_model=AddN(n), code_paths=[str(REPO / "e2e" / "e2e_model.py")],
                                           registered_model_name=SERVED)
        version = str(info.registered_model_version)
        frame = pd.DataFrame(PAYLOAD["dataframe_split"]["data"], columns=PAYLOAD["dataframe_split"]["columns"])
        predictions[version] = mlflow.pyfunc.load_model(f"models:/{SERVED}/{version}").predict(frame).to_dict(orient="records")
    assert sorted(predictions) == ["1", "2"] and predictions["1"] != predictions["2"]
    tracking.set_registered_model_alias(SERVED, "champion", "1")
    return predictions


def served_on(s):
    """The supervisor's ports whose /ping answers 200 (asked directly, not through nginx)."""
    out = []
    for p in s.ports.values():
        try:
            if requests.get(f"http://127.0.0.1:{p}/ping", timeout=5).status_code == 200:
                out.append(p)
        except requests.ConnectionError:
            pass
    return out


def test_the_alias_is_served_through_the_proxy_with_the_local_predictions(serving_proxy, supervisors, registered, serving_credentials):
    s = supervisors[SERVED]
    # Straight at the supervisor's ports, so nothing 5xx reaches the proxy's log while it loads.
    wait_for("version 1 served", lambda: "serving models:/e2e-served/1 (alias champion)" in s.log() and served_on(s) == [s.ports[8080]],
             300, interval=1, proc=s.proc.popen, log=s.proc.log)
    url = f"{serving_proxy.url}/models/{SERVED}"
    r = post(f"{url}/invocations", PAYLOAD, serving_credentials)
    assert r.status_code == 200, r.text
    assert r.json() == {"predictions": registered["1"]}
    assert requests.get(f"{url}/ping", auth=serving_credentials, timeout=10).status_code == 200
    assert s.healthcheck() == 0


def test_no_credentials_or_wrong_ones_get_401(serving_proxy, registered, serving_credentials):
    url = f"{serving_proxy.url}/models/{SERVED}"
    for path in ("invocations", "ping", "health"):
        assert requests.get(f"{url}/{path}", timeout=10).status_code == 401, path
    assert post(f"{url}/invocations", PAYLOAD, None).status_code == 401
    assert post(f"{url}/invocations", PAYLOAD, (serving_credentials[0], serving_credentials[1] + "x")).status_code == 401


def test_a_malformed_body_gets_a_4xx_json_error_and_the_server_stays_up(serving_proxy, registered, serving_credentials):
    url = f"{serving_proxy.url}/models/{SERVED}/invocations"
    for bad in ("not json", {"unknown_key": [1]}):
        r = post(url, bad, serving_credentials)
        assert 400 <= r.status_code < 500, (r.status_code, r.text)
        assert r.json()["error_code"] == "BAD_REQUEST", r.text
    r = post(url, PAYLOAD, serving_credentials)
    assert r.status_code == 200 and r.json() == {"predictions": registered["1"]}


def test_moving_the_alias_serves_version_2_without_a_failed_request(serving_proxy, supervisors, registered, serving_credentials, tracking):
    s = supervisors[SERVED]
    url = f"{serving_proxy.url}/models/{SERVED}/invocations"
    answers, stop = [], threading.Event()

    def load():
        session = requests.Session()
        while not stop.is_set():
            try:
                r = session.post(url, data=json.dumps(PAYLOAD), headers={"Content-Type": "application/json"}, auth=serving_credentials, timeout=30)
                answers.append((time.time(), r.status_code, r.json().get("predictions") if r.status_code == 200 else r.text[:200]))
            except requests.RequestException as e:
                answers.append((time.time(), None, repr(e)))
            time.sleep(0.05)

    worker = threading.Thread(target=load)
    worker.start()
    try:
        time.sleep(2)
        moved = time.time()
        tracking.set_registered_model_alias(SERVED, "champion", "2")
        wait_for("version 2 through the proxy", lambda: any(t > moved and p == registered["2"] for t, _, p in answers), 300, interval=0.5,
                 proc=s.proc.popen, log=s.proc.log)
        first_v2 = min(t for t, _, p in answers if t > moved and p == registered["2"])
        time.sleep(3)  # requests after the old process stopped
    finally:
        stop.set()
        worker.join()
    failed = [(round(t - moved, 2), status, body) for t, status, body in answers if status != 200]
    after = [p for t, _, p in answers if t > first_v2 + 1]
    delay = first_v2 - moved
    (OUT / "serving-timings.json").write_text(json.dumps({
        "poll_seconds": s.poll, "alias_move_to_v2_seconds": round(delay, 2), "requests_during_swap": len(answers), "failed": len(failed)}, indent=2))
    assert failed == [], f"{len(failed)} of {len(answers)} requests failed during the swap: {failed[:5]}"
    assert after and all(p == registered["2"] for p in after), "version 1 answered after version 2 took over"
    # Documented bound (README, "Serving models"): the poll interval plus the new version's load time.
    assert delay < s.poll + 120, delay
    # Steady state: one process, on the first port, and nginx refused nothing any more.
    wait_for("version 2 back on the first port", lambda: served_on(s) == [s.ports[8080]], 120, interval=0.5, proc=s.proc.popen, log=s.proc.log)
    error_log = OUT / "nginx-serving-error.log"
    refused_before = error_log.read_text(errors="replace").count("Connection refused")
    for _ in range(20):
        assert post(url, PAYLOAD, serving_credentials).json() == {"predictions": registered["2"]}
    assert error_log.read_text(errors="replace").count("Connection refused") == refused_before, "nginx still tries a refused port"
