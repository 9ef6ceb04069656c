"""Scenarios against the rendered configuration, through the nginx proxy with basic auth."""
import hashlib
import os
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from conftest import AUTH_DB_URI, BACKEND, OUT, RUN_SUFFIX, MlflowServer, Nginx, allow_5xx_window, mlflow_env, require

GIB = 1024 ** 3
BIG_FILE_BYTES = int(os.environ.get("E2E_BIG_FILE_BYTES", str(GIB)))


@pytest.fixture(scope="module")
def run(tracking, experiment):
    from mlflow.entities import Metric, Param, RunTag

    r = tracking.create_run(experiment["id"], run_name="e2e-run", tags={"team": "e2e"})
    run_id = r.info.run_id
    tracking.log_param(run_id, "alpha", "0.5")
    tracking.log_batch(run_id, params=[Param("optimizer", "adam")], tags=[RunTag("suffix", RUN_SUFFIX), RunTag("unicode", "Grüße ✓")])
    now = int(time.time() * 1000)
    # One log_batch of 1000 metric points (MLflow's per-request limit for metrics).
    tracking.log_batch(run_id, metrics=[Metric("loss", 1.0 / (i + 1), now + i, i) for i in range(1000)])
    tracking.log_metric(run_id, "accuracy", 0.9, step=0)
    return run_id


def test_tracking_params_tags_metrics(tracking, run):
    data = tracking.get_run(run).data
    assert data.params == {"alpha": "0.5", "optimizer": "adam"}
    assert data.tags["team"] == "e2e" and data.tags["unicode"] == "Grüße ✓"
    history = tracking.get_metric_history(run, "loss")
    assert len(history) == 1000
    assert sorted(m.step for m in history) == list(range(1000))
    assert all(abs(m.value - 1.0 / (m.step + 1)) < 1e-12 for m in history)
    assert data.metrics["accuracy"] == 0.9


def test_search_runs_by_param_and_tag(tracking, experiment, run):
    found = tracking.search_runs([experiment["id"]], filter_string="params.alpha = '0.5' and tags.team = 'e2e'")
    assert [r.info.run_id for r in found] == [run]
    assert tracking.search_runs([experiment["id"]], filter_string="params.alpha = '0.6'") == []


def _s3(store, **creds):
    import boto3

    return boto3.client("s3", **(creds or store["admin"]))


def test_artifacts_small_and_large(tracking, run, artifact_store, tmp_path):
    small = tmp_path / "notes.txt"
    small.write_text("hello from the e2e suite\n")
    tracking.log_artifact(run, str(small), artifact_path="small")

    big = tmp_path / "big.bin"
    digest = hashlib.sha256()
    chunk = 8 * 1024 * 1024
    with open(big, "wb") as fh:
        left = BIG_FILE_BYTES
        while left:
            block = os.urandom(min(chunk, left))
            digest.update(block)
            fh.write(block)
            left -= len(block)
    expected = digest.hexdigest()
    t0 = time.monotonic()
    tracking.log_artifact(run, str(big), artifact_path="large")
    upload_s = time.monotonic() - t0
    big.unlink()

    names = {f.path for f in tracking.list_artifacts(run, "large")} | {f.path for f in tracking.list_artifacts(run, "small")}
    assert names == {"large/big.bin", "small/notes.txt"}

    # The object really is in the bucket (admin identity), with the same bytes.
    s3 = _s3(artifact_store)
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=artifact_store["bucket"]).get("Contents", [])]
    big_key = next(k for k in keys if k.endswith(f"{run}/artifacts/large/big.bin"))
    assert s3.head_object(Bucket=artifact_store["bucket"], Key=big_key)["ContentLength"] == BIG_FILE_BYTES
    body = s3.get_object(Bucket=artifact_store["bucket"], Key=big_key)["Body"]
    h = hashlib.sha256()
    for block in iter(lambda: body.read(chunk), b""):
        h.update(block)
    assert h.hexdigest() == expected, "object in the bucket differs from the uploaded file"

    # And back through the proxy.
    t0 = time.monotonic()
    local = tracking.download_artifacts(run, "large/big.bin", str(tmp_path / "dl"))
    download_s = time.monotonic() - t0
    h = hashlib.sha256()
    with open(local, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    assert h.hexdigest() == expected
    assert Path(tracking.download_artifacts(run, "small/notes.txt", str(tmp_path / "dl2"))).read_text() == small.read_text()
    # Both transfers went through nginx, none via presigned URLs of the store (unreachable for real clients).
    access = (OUT / "nginx-access.log").read_text()
    assert "/mlflow-artifacts/presigned" not in access and "/mlflow-artifacts/mpu/" not in access
    assert f"PUT /api/2.0/mlflow-artifacts/artifacts/{experiment_path(run, tracking)}/large/big.bin" in access
    assert f"GET /api/2.0/mlflow-artifacts/artifacts/{experiment_path(run, tracking)}/large/big.bin" in access
    (OUT / "timings.txt").open("a").write(f"{BACKEND} artifact {BIG_FILE_BYTES} bytes: upload {upload_s:.1f}s download {download_s:.1f}s\n")


def test_server_keeps_artifact_transfers_proxied(proxy, credentials):
    """No presigned transfers: a client outside Docker cannot reach http://minio:9000.

    With an s3:// destination MLflow 3.17 advertises multipart uploads/downloads and a default
    client then fetches every artifact from the S3 endpoint directly; the program's s3proxied://
    destination (images/tracking-server/artifacts-plugin) keeps them on the proxy.
    """
    r = requests.get(f"{proxy.url}/api/3.0/mlflow/server-info", auth=credentials, timeout=10)
    assert r.status_code == 200
    info = r.json()
    assert info.get("multipart_uploads_enabled") is False and info.get("multipart_downloads_enabled") is False, info


def experiment_path(run_id, tracking):
    """<experiment id>/<run id>/artifacts, the artifact path the proxy sees for a run."""
    return f"{tracking.get_run(run_id).info.experiment_id}/{run_id}/artifacts"


def test_mlflow_identity_is_limited_to_its_bucket(artifact_store):
    from botocore.exceptions import ClientError

    creds = dict(endpoint_url=artifact_store["endpoint"], region_name=artifact_store["region"],
                 aws_access_key_id=artifact_store["mlflow_key"], aws_secret_access_key=artifact_store["mlflow_secret"])
    s3 = _s3(artifact_store, **creds)
    other = artifact_store["other_bucket"]
    s3.put_object(Bucket=artifact_store["bucket"], Key="e2e-probe.txt", Body=b"ok")  # own bucket: allowed
    for call in (lambda: s3.get_object(Bucket=other, Key="secret.txt"),
                 lambda: s3.put_object(Bucket=other, Key="x.txt", Body=b"x"),
                 lambda: s3.list_objects_v2(Bucket=other),
                 lambda: s3.create_bucket(Bucket=f"e2e-new-{RUN_SUFFIX}"),
                 lambda: s3.list_buckets()):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] in ("AccessDenied", "403"), e.value.response["Error"]
    # Anonymous access to the artifact bucket is refused too (the bucket is private).
    r = requests.get(f"{artifact_store['endpoint']}/{artifact_store['bucket']}/e2e-probe.txt", timeout=10)
    assert r.status_code == 403


def test_model_registry_alias_and_predict(tracking, experiment):
    import mlflow
    import pandas as pd
    from e2e_model import AddN

    name = f"e2e-model-{BACKEND}-{RUN_SUFFIX}"
    mlflow.set_experiment(experiment_id=experiment["id"])
    with mlflow.start_run(run_name="model"):
        info = mlflow.pyfunc.log_model(name="model", python_model=AddN(5), pip_requirements=[f"mlflow=={mlflow.__version__}"],
                                       registered_model_name=name)
    version = info.registered_model_version
    tracking.set_registered_model_alias(name, "champion", version)
    assert tracking.get_model_version_by_alias(name, "champion").version == str(version)
    model = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    out = model.predict(pd.DataFrame({"x": [1, 2, 3]}))
    assert list(out["x"]) == [6, 7, 8]


def test_auth_required_and_health_open(proxy, credentials):
    api = f"{proxy.url}/api/2.0/mlflow/experiments/search?max_results=1"
    assert requests.get(api, timeout=10).status_code == 401
    assert requests.get(api, auth=(credentials[0], credentials[1] + "x"), timeout=10).status_code == 401
    assert requests.get(api, auth=("someone-else", credentials[1]), timeout=10).status_code == 401
    assert requests.get(api, auth=credentials, timeout=10).status_code == 200
    assert requests.get(f"{proxy.url}/", timeout=10).status_code == 401
    r = requests.get(f"{proxy.url}/health", timeout=10)
    assert r.status_code == 200 and r.text.strip() == "OK"


def test_proxy_keeps_host_check(proxy, credentials):
    """nginx passes the client's Host on; MLflow's Host check still rejects unknown names."""
    r = requests.get(f"{proxy.url}/api/2.0/mlflow/experiments/search?max_results=1", auth=credentials,
                     headers={"Host": "attacker.example"}, timeout=10)
    assert r.status_code == 403 and "Invalid Host header" in r.text


def test_no_secret_on_any_command_line(mlflow_server, database, artifact_store, credentials):
    secrets = {
        "database password": database["password"],
        "S3 secret (in use)": artifact_store["mlflow_secret"],
        "S3 secret (rendered)": artifact_store["rendered_secret"],
        "proxy password": credentials[1],
    }
    # One worker: the entrypoint's process is the uvicorn server itself; with more, its workers are children.
    pids = mlflow_server.proc.tree()
    assert pids, "no MLflow process"
    cmdlines = {}
    for pid in pids:
        try:
            cmdlines[pid] = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
    assert any("mlflow" in c or "uvicorn" in c for c in cmdlines.values())
    for pid, cmd in cmdlines.items():
        for what, value in secrets.items():
            for form in {value, quote(value, safe="")}:
                if form in cmd:
                    pytest.fail(f"{what} visible in /proc/{pid}/cmdline", pytrace=False)
        assert "://" not in cmd or "@" not in cmd, f"a URI with credentials on /proc/{pid}/cmdline"


def test_allowed_hosts_setting_matters(spec, mlflow_env_rendered, database, artifact_store, auth_database, credentials):
    """With MLFLOW_SERVER_ALLOWED_HOSTS changed, every proxied API request is refused: the rendered value is what works."""
    env = mlflow_env(mlflow_env_rendered, database, artifact_store, MLFLOW_SERVER_ALLOWED_HOSTS="mlflow.invalid",
                     MLFLOW_WORKERS="1", MLFLOW_DB_UPGRADE="false", **({AUTH_DB_URI: auth_database} if auth_database else {}))
    server = MlflowServer(env, name="mlflow-wrong-hosts")
    proxy = None
    try:
        server.start()
        proxy = Nginx(spec, server.port, name="nginx-wrong-hosts").start()
        r = requests.get(f"{proxy.url}/api/2.0/mlflow/experiments/search?max_results=1", auth=credentials, timeout=10)
        assert r.status_code == 403 and "Invalid Host header" in r.text, (r.status_code, r.text[:200])
        assert requests.get(f"{proxy.url}/health", timeout=10).status_code == 200
    finally:
        if proxy:
            proxy.proc.stop()
        server.proc.stop()


def test_browser_shows_experiment(proxy, credentials, experiment, run):
    from browser import render_page

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    require(binary, "chromium (apt-get install chromium)")
    # The run page: breadcrumb with the experiment's name, the run's name, its parameters.
    url = f"{proxy.url}/#/experiments/{experiment['id']}/runs/{run}"
    shot = OUT / "ui-experiment.png"
    shot.unlink(missing_ok=True)
    text, html = render_page(binary, url, credentials[0], credentials[1], shot, OUT / "chromium.log",
                             wait_for_text=[experiment["name"], "e2e-run", "optimizer"], timeout=90)
    (OUT / "ui-experiment.html").write_text(html)
    (OUT / "ui-experiment.txt").write_text(text)
    assert shot.exists() and shot.stat().st_size > 10_000, "no screenshot"
    assert experiment["name"] in text, "experiment name not rendered by the UI"
    assert "e2e-run" in text, "run name not rendered by the UI"
    assert "optimizer" in text and "adam" in text, "run parameters not rendered by the UI"


def test_kill9_midway_loses_nothing_acknowledged(tracking, experiment, mlflow_server, monkeypatch):
    """kill -9 of the whole tracking-server process tree while a client keeps logging, then restart.

    A logger thread logs one metric point per request without pause; the kill lands while requests
    are in flight. Errors are allowed only for requests in flight between the kill and the moment
    the restarted server is healthy; every point acknowledged (HTTP 200) must be stored.
    """
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    run_id = tracking.create_run(experiment["id"], run_name="fault").info.run_id
    acked, errors = [], []  # (step, start, end) / (step, start, end, error)
    stop = threading.Event()

    def logger():
        step = 0
        while not stop.is_set():
            t0 = time.monotonic()
            try:
                tracking.log_metric(run_id, "fault", float(step), step=step)
                acked.append((step, t0, time.monotonic()))
            except Exception as e:  # noqa: BLE001
                errors.append((step, t0, time.monotonic(), type(e).__name__))
                time.sleep(0.1)
            step += 1

    def wait_acks(n, since, timeout=120):
        deadline = time.monotonic() + timeout
        while len([a for a in acked if a[1] >= since]) < n:
            assert time.monotonic() < deadline, f"fewer than {n} points acknowledged in {timeout}s"
            assert t.is_alive(), "logger thread died"
            time.sleep(0.05)

    t = threading.Thread(target=logger, daemon=True)
    t.start()
    try:
        wait_acks(100, 0)
        pids = mlflow_server.proc.tree()
        killed_at, killed_wall = time.monotonic(), time.time()
        mlflow_server.proc.kill9()
        survivors = [p for p in pids if Path(f"/proc/{p}").exists() and Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]
        assert not survivors, f"processes survived kill -9: {survivors}"
        time.sleep(2)  # the client must notice the outage
        mlflow_server.start()
        up_at = time.monotonic()
        allow_5xx_window(killed_wall, time.time(), "kill -9 of MLflow")
        wait_acks(50, up_at)
    finally:
        stop.set()
        t.join(timeout=30)

    in_outage = [e for e in errors if e[2] >= killed_at and e[1] <= up_at]
    outside = [e for e in errors if e not in in_outage]
    assert not outside, f"requests failed outside the outage: {outside[:5]}"
    assert in_outage, "no request failed while MLflow was down?"
    history = {m.step: m.value for m in tracking.get_metric_history(run_id, "fault")}
    missing = [a[0] for a in acked if history.get(a[0]) != float(a[0])]
    assert not missing, f"{len(missing)} acknowledged points lost, e.g. {missing[:5]}"
    before = [a for a in acked if a[2] <= killed_at]
    (OUT / "timings.txt").open("a").write(
        f"{BACKEND} kill -9: {len(before)} points acknowledged before the kill, {len(in_outage)} failed requests, "
        f"outage {up_at - killed_at:.1f}s, {len(acked)} acknowledged in total, all stored\n")


def test_credentials_reach_docker_as_secrets(spec):
    """Inputs that carry credentials are Pulumi secrets (kept encrypted in state), checked on the same spec."""
    expect = {"artifact-store": "envs", "backend-store": "envs", "bucket-init": "envs", "tracking-server": "envs",
              "auth-proxy": "uploads"}
    for role, path in expect.items():
        c = spec["by_role"][role]
        assert any(p == path or p.startswith(path + "[") for p in c["secretPaths"]), f"{role}: {path} is not secret"
