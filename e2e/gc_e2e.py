"""Garbage collection, shared by test_gc.py (the server at /) and test_projects.py (a project).

The garbage-collection container is run here as Docker would run it: its rendered entrypoint
(`python -c <loop>`), or the one-run script that loop starts each interval (cut from the loop's
source, not rewritten), with the venv's Python and the container's environment. Rewritten, as for
the tracking server (conftest.mlflow_env): the database URI (host and per-run names), MinIO's
address, the S3 key pair moto generated for the identity the rendered keys name, and PYTHONPATH
to images/tracking-server (entrypoint.py is /opt/mlflow in the image).

To make a deleted run "older than the threshold" without waiting 30 days, the test sets its
`runs.deleted_time` in the database directly (that is the column `mlflow gc --older-than` reads).
"""
import json
import os
import re
import subprocess
import sys
import time

from conftest import ENTRYPOINT, MINIO_URL, OUT, base_env, env_dict

DAY_MS = 24 * 3600 * 1000


def gc_container(spec, server_name_prefix):
    found = [c for c in spec["containers"] if c["role"] == "garbage-collection" and c["name"].startswith(server_name_prefix)]
    assert len(found) == 1, [c["name"] for c in spec["containers"] if c["role"] == "garbage-collection"]
    return found[0]


def one_run_script(container):
    """The script the loop runs every interval, exactly as rendered (a JSON string literal in the loop)."""
    entry = container["inputs"]["entrypoints"]
    assert entry[:2] == ["python", "-c"], entry
    m = re.search(r'^SCRIPT = (".*")$', entry[2], re.M)
    assert m, "the loop no longer holds its one-run script as SCRIPT = \"...\""
    return json.loads(m.group(1))


def check_same_identity(gc_env, server_env):
    """The gc gets exactly its server's database URI, storage identity and destination."""
    for k in ("MLFLOW_BACKEND_STORE_URI", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MLFLOW_ARTIFACTS_DESTINATION", "MLFLOW_S3_ENDPOINT_URL"):
        assert gc_env[k] == server_env[k], f"{k}: the gc's differs from its server's"


def run_env(container, server_env_rendered, server_env_here, extra=None):
    """The gc's env with the same rewrites its server got (server_env_here is the server's env as run here)."""
    env = env_dict(container)
    check_same_identity(env, server_env_rendered)
    assert env["MLFLOW_S3_ENDPOINT_URL"] == MINIO_URL
    for k in ("MLFLOW_BACKEND_STORE_URI", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MLFLOW_S3_ENDPOINT_URL"):
        env[k] = server_env_here[k]
    return {**base_env(), **env, "PYTHONPATH": str(ENTRYPOINT.parent), **(extra or {})}


def run_once(container, env, tag):
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-c", one_run_script(container)], env=env, capture_output=True, text=True, timeout=600)
    took = time.monotonic() - t0
    (OUT / f"gc-{tag}.log").write_text(r.stdout + r.stderr)
    return r, took


def make_runs(client, experiment_id, tmp_path):
    """Three runs with a param, a metric and an artifact each: two deleted, one live."""
    ids = {}
    for name in ("old", "young", "live"):
        run = client.create_run(experiment_id, run_name=f"gc-{name}")
        rid = run.info.run_id
        client.log_param(rid, "p", name)
        client.log_metric(rid, "m", 1.0)
        f = tmp_path / f"{name}.txt"
        f.write_text(f"artifact of {name}")
        client.log_artifact(rid, str(f))
        client.set_terminated(rid)
        ids[name] = rid
    client.delete_run(ids["old"])
    client.delete_run(ids["young"])
    return ids


def age_deleted_runs(engine, ids, older_than_days):
    """old: deleted one day more than the threshold ago; young: one day less."""
    from sqlalchemy import text

    now = int(time.time() * 1000)
    with engine.begin() as conn:
        for name, days in (("old", older_than_days + 1), ("young", older_than_days - 1)):
            n = conn.execute(text("UPDATE runs SET deleted_time = :t WHERE run_uuid = :r AND lifecycle_stage = 'deleted'"),
                             {"t": now - days * DAY_MS, "r": ids[name]}).rowcount
            assert n == 1, f"run {name} not found as deleted"


def rows_of(engine, run_id):
    from sqlalchemy import text

    with engine.connect() as conn:
        return {t: conn.execute(text(f"SELECT COUNT(*) FROM {t} WHERE run_uuid = :r"), {"r": run_id}).scalar()
                for t in ("runs", "params", "metrics", "latest_metrics", "tags")}


def objects_of(s3, bucket, prefix):
    return [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix) for o in page.get("Contents", [])]


def check_collected(engine, s3, bucket, destination_prefix, experiment_id, ids, result):
    """old: rows and objects gone; young and live: rows and their artifact kept."""
    r, _ = result
    assert r.returncode == 0, f"gc failed: {r.stderr[-2000:]}"
    assert f"Run with ID {ids['old']} has been permanently deleted." in r.stdout
    assert ids["young"] not in r.stdout and ids["live"] not in r.stdout
    gone = rows_of(engine, ids["old"])
    assert gone == {"runs": 0, "params": 0, "metrics": 0, "latest_metrics": 0, "tags": 0}, gone
    assert objects_of(s3, bucket, f"{destination_prefix}{experiment_id}/{ids['old']}/") == []
    for name in ("young", "live"):
        kept = rows_of(engine, ids[name])
        assert kept["runs"] == 1 and kept["params"] == 1 and kept["metrics"] == 1, (name, kept)
        assert objects_of(s3, bucket, f"{destination_prefix}{experiment_id}/{ids[name]}/") == [
            f"{destination_prefix}{experiment_id}/{ids[name]}/artifacts/{name}.txt"], name


def healthcheck_exit(container, env):
    test = container["inputs"]["healthcheck"]["tests"]
    assert test[:3] == ["CMD", "python", "-c"], test
    return subprocess.run([sys.executable, "-c", test[3]], env=env, timeout=60).returncode


def wait_for_log(path, needle, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and needle in path.read_text(errors="replace"):
            return True
        time.sleep(0.5)
    return False

