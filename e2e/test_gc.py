"""Garbage collection of the server at / (spec.json's garbage-collection container), run for real.

How the container is run and what is rewritten: gc_e2e.py. The deleted runs are aged by setting
`runs.deleted_time` in the database directly.
"""
import signal
import sys
import time

import pytest
from sqlalchemy import create_engine

import gc_e2e as g
from conftest import OUT, RUN_SUFFIX, Proc, env_dict

OLDER_THAN_DAYS = 30


@pytest.fixture(scope="module")
def gc_root(spec):
    c = g.gc_container(spec, "mlflow-dev-gc")
    assert c["inputs"]["image"] == spec["by_role"]["tracking-server"]["inputs"]["image"], "gc runs its server's image"
    env = env_dict(c)
    assert env["MLFLOW_GC_OLDER_THAN"] == f"{OLDER_THAN_DAYS}d" and env["MLFLOW_GC_INTERVAL_SECONDS"] == str(24 * 3600)
    return c


@pytest.fixture(scope="module")
def root_engine(database):
    engine = create_engine(database["uri"])
    yield engine
    engine.dispose()


def root_env(gc_root, mlflow_env_rendered, mlflow_server, artifact_store, **extra):
    """The gc's env as its server's, with the server's policy under moto's delete shim (conftest.artifact_store)."""
    keys = {"AWS_ACCESS_KEY_ID": artifact_store["gc_key"], "AWS_SECRET_ACCESS_KEY": artifact_store["gc_secret"]}
    return g.run_env(gc_root, mlflow_env_rendered, mlflow_server.env, {**keys, **extra})


def test_gc_removes_only_the_run_deleted_longer_ago_than_the_threshold(gc_root, mlflow_env_rendered, mlflow_server, tracking, root_engine, artifact_store, tmp_path):
    import boto3

    exp = tracking.create_experiment(f"gc-{RUN_SUFFIX}")
    ids = g.make_runs(tracking, exp, tmp_path)
    g.age_deleted_runs(root_engine, ids, OLDER_THAN_DAYS)
    env = root_env(gc_root, mlflow_env_rendered, mlflow_server, artifact_store)
    assert env["MLFLOW_ARTIFACTS_DESTINATION"] == f"s3proxied://{artifact_store['bucket']}/"
    result = g.run_once(gc_root, env, "root")
    g.check_collected(root_engine, boto3.client("s3", **artifact_store["admin"]), artifact_store["bucket"], "", exp, ids, result)
    # Through the proxy, as users see it: the old run is gone, the young one restorable, the live one intact.
    with pytest.raises(Exception, match="RESOURCE_DOES_NOT_EXIST|not found"):
        tracking.get_run(ids["old"])
    tracking.restore_run(ids["young"])
    assert [a.path for a in tracking.list_artifacts(ids["young"])] == ["young.txt"]
    assert [a.path for a in tracking.list_artifacts(ids["live"])] == ["live.txt"]
    (OUT / "gc-seconds.txt").open("a").write(f"root one run {result[1]:.1f}s\n")


def test_plain_mlflow_gc_cannot_delete_proxied_artifacts_without_a_server(mlflow_server, tracking, root_engine, artifact_store, tmp_path):
    """Why the script maps mlflow-artifacts: itself: MLflow's own command, with the backend URI and
    the destination, stops at the first artifact and deletes nothing."""
    import subprocess

    exp = tracking.create_experiment(f"gc-plain-{RUN_SUFFIX}")
    ids = g.make_runs(tracking, exp, tmp_path)
    g.age_deleted_runs(root_engine, ids, OLDER_THAN_DAYS)
    env = {**mlflow_server.env, "MLFLOW_TRACKING_URI": mlflow_server.env["MLFLOW_BACKEND_STORE_URI"]}
    r = subprocess.run([sys.executable, "-m", "mlflow", "gc", "--older-than", f"{OLDER_THAN_DAYS}d", "--run-ids", ids["old"],
                        "--backend-store-uri", mlflow_server.env["MLFLOW_BACKEND_STORE_URI"],
                        "--artifacts-destination", mlflow_server.env["MLFLOW_ARTIFACTS_DESTINATION"]],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "must be a valid http or https URI" in r.stderr, r.stderr[-1500:]
    assert g.rows_of(root_engine, ids["old"])["runs"] == 1


def test_a_failed_run_is_logged_and_makes_the_container_unhealthy_until_a_run_succeeds(gc_root, mlflow_env_rendered, mlflow_server, database, artifact_store):
    """The container's own entrypoint (the loop) with a 2 s interval instead of a day: first with a
    threshold MLflow cannot parse (fails at once; an unreachable database fails too, but only
    after MLflow's ~90 s of connection retries), then the rendered one."""
    status = OUT / f"gc-status-{RUN_SUFFIX}"
    entry = gc_root["inputs"]["entrypoints"]
    runs = {}
    for tag, older in (("failing", "thirty-days"), ("fixed", None)):
        extra = {"MLFLOW_GC_INTERVAL_SECONDS": "2", "MLFLOW_GC_STATUS_FILE": str(status), **({"MLFLOW_GC_OLDER_THAN": older} if older else {})}
        env = root_env(gc_root, mlflow_env_rendered, mlflow_server, artifact_store, **extra)
        proc = Proc(f"gc-loop-{tag}", [sys.executable, *entry[1:]], env).start()
        try:
            needle = "mlflow-gc: run FAILED with exit code 1" if older else "mlflow-gc: run ok in"
            assert g.wait_for_log(proc.log, needle, 180), proc.log.read_text()[-2000:]
            runs[tag] = (g.healthcheck_exit(gc_root, env), proc.log.read_text())
            t0 = time.monotonic()
            proc.popen.send_signal(signal.SIGTERM)
            proc.popen.wait(timeout=30)
            assert time.monotonic() - t0 < 10, "the loop must stop on SIGTERM (docker stop), not wait to be killed"
        finally:
            if proc.popen.poll() is None:
                proc.stop()
    assert runs["failing"][0] == 1 and runs["fixed"][0] == 0
    assert "Could not parse any time information from 'thirty-days'" in runs["failing"][1]
    assert database["password"] not in runs["failing"][1] and database["password"] not in runs["fixed"][1]
