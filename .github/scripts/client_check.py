#!/usr/bin/env python3
"""MLflow client check through the authenticating proxy, used by the real-deploy CI job.

    client_check.py log    STATE_FILE   # /health, 401 without credentials, then a run with
                                        # params, metrics and an artifact; its ID goes to STATE_FILE
    client_check.py verify STATE_FILE   # the run in STATE_FILE is still there, intact

Reads only MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (what the
stack outputs give a user). The password is never printed. Exit status 0 means every check passed.
"""
import hashlib
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request

EXPERIMENT = "ci-client-check"
PARAMS = {"learning_rate": "0.01", "optimizer": "adam"}
METRIC_STEPS = [(0, 1.0), (1, 0.5), (2, 0.25)]
ARTIFACT_NAME = "notes.txt"
ARTIFACT_TEXT = "written through the proxy by client_check.py\n" * 64


def status_of(url, timeout=10):
    """HTTP status of a GET without credentials (urllib raises for 4xx/5xx)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def wait_healthy(base, deadline_s=300):
    start = time.time()
    last = None
    while time.time() - start < deadline_s:
        try:
            last = status_of(f"{base}/health")
            if last == 200:
                print(f"health: 200 after {time.time() - start:.0f}s")
                return
        except (urllib.error.URLError, OSError) as e:
            last = repr(e)
        time.sleep(3)
    raise SystemExit(f"FAIL: {base}/health not 200 within {deadline_s}s (last: {last})")


def check_auth_required(base):
    code = status_of(f"{base}/api/2.0/mlflow/experiments/search?max_results=1")
    if code != 401:
        raise SystemExit(f"FAIL: API without credentials answered {code}, expected 401")
    print("no credentials: 401")


def sha256(text):
    return hashlib.sha256(text.encode()).hexdigest()


def log_run(state_file):
    import mlflow
    mlflow.set_experiment(EXPERIMENT)
    with mlflow.start_run(run_name=f"ci-{int(time.time())}") as run:
        mlflow.log_params(PARAMS)
        for step, value in METRIC_STEPS:
            mlflow.log_metric("loss", value, step=step)
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, ARTIFACT_NAME)
            with open(path, "w") as f:
                f.write(ARTIFACT_TEXT)
            mlflow.log_artifact(path)
    with open(state_file, "w") as f:
        json.dump({"run_id": run.info.run_id, "artifact_sha256": sha256(ARTIFACT_TEXT)}, f)
    print(f"logged run {run.info.run_id}")
    verify_run(state_file)


def verify_run(state_file):
    import mlflow
    with open(state_file) as f:
        state = json.load(f)
    client = mlflow.MlflowClient()
    run = client.get_run(state["run_id"])
    problems = []
    if run.data.params != PARAMS:
        problems.append(f"params {run.data.params} != {PARAMS}")
    history = [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "loss")]
    if sorted(history) != METRIC_STEPS:
        problems.append(f"loss history {history} != {METRIC_STEPS}")
    with tempfile.TemporaryDirectory() as d:
        local = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path=ARTIFACT_NAME, dst_path=d)
        with open(local) as f:
            got = sha256(f.read())
    if got != state["artifact_sha256"]:
        problems.append(f"artifact sha256 {got} != {state['artifact_sha256']}")
    if problems:
        raise SystemExit("FAIL: " + "; ".join(problems))
    print(f"run {run.info.run_id}: params, {len(history)} metric points and the artifact are intact")


def main(argv):
    if len(argv) != 3 or argv[1] not in ("log", "verify"):
        raise SystemExit(__doc__)
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        if not os.environ.get(key):
            raise SystemExit(f"FAIL: {key} is not set")
    base = os.environ["MLFLOW_TRACKING_URI"].rstrip("/")
    wait_healthy(base)
    check_auth_required(base)
    (log_run if argv[1] == "log" else verify_run)(argv[2])


if __name__ == "__main__":
    main(sys.argv)
