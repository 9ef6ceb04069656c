"""Backups of the server at / (spec.json's backup containers), run for real, and the restore drill.

How the containers are run and what is rewritten: backup_e2e.py. The drill logs runs, metrics,
artifacts and a registered model with an alias through the proxy, backs up, wipes every table
of /'s and the auth app's databases and every object of the bucket, restores with the commands
of docs/operations.md ("Restore"), and reads everything back through the proxy.
"""
import signal
import subprocess
import sys
import time

import pytest

import backup_e2e as b
from conftest import _AUTH_DBS, BACKEND, OUT, RUN_SUFFIX, Proc, allow_5xx_window


@pytest.fixture(scope="module")
def db_backup(spec, database, auth_database, tmp_path_factory):
    renames = {"mlflow": database["name"]}
    if auth_database:
        renames["mlflow_auth"] = _AUTH_DBS["main"][0]
    backup = b.DatabaseBackup(spec, tmp_path_factory.mktemp("backup-db"), renames, "r")
    assert backup.env["BACKUP_KEEP"] == "7" and backup.env["BACKUP_INTERVAL_SECONDS"] == str(24 * 3600)
    t0 = time.monotonic()
    backup.run("grant", admin=True)
    backup.run("grant", admin=True)  # idempotent: pulumi up runs it again when its inputs change
    backup.grant_seconds = time.monotonic() - t0
    yield backup
    backup.drop_user()


@pytest.fixture(scope="module")
def artifact_backup(spec, artifact_store, tmp_path_factory):
    return b.ArtifactBackup(spec, tmp_path_factory.mktemp("backup-artifacts"), artifact_store, "r")


def test_the_backup_identities_read_but_cannot_write(db_backup, artifact_backup, database, mlflow_server, artifact_store):
    import boto3
    from botocore.exceptions import ClientError

    assert b.write_refused(db_backup, database["name"])
    s3 = boto3.client("s3", endpoint_url=artifact_store["endpoint"], region_name="us-east-1",
                      aws_access_key_id=artifact_backup.keys["AWS_ACCESS_KEY_ID"], aws_secret_access_key=artifact_backup.keys["AWS_SECRET_ACCESS_KEY"])
    s3.list_objects_v2(Bucket=artifact_store["bucket"], MaxKeys=1)
    for call in (lambda: s3.put_object(Bucket=artifact_store["bucket"], Key="backup-wrote.txt", Body=b"x"),
                 lambda: s3.delete_object(Bucket=artifact_store["bucket"], Key="anything")):
        with pytest.raises(ClientError, match="AccessDenied"):
            call()


def test_restore_drill_of_the_server_at_root(db_backup, artifact_backup, database, auth_database, mlflow_server, tracking, artifact_store, tmp_path):
    import boto3

    model = f"backup-model-{RUN_SUFFIX}"
    exp = b.log_data(tracking, f"backup-{RUN_SUFFIX}", model, tmp_path)
    before = b.snapshot(tracking, exp, model, tmp_path)
    assert len(before["runs"]) == 2 and all(len(r["artifacts"]) == 1 and len(r["loss"]) == 5 for r in before["runs"].values())

    t0 = time.monotonic()
    db_backup.run("once")
    took_db = time.monotonic() - t0
    t0 = time.monotonic()
    first = artifact_backup.run("once")
    took_artifacts = time.monotonic() - t0
    # Incremental: a second run copies nothing that did not change.
    second = artifact_backup.run("once")
    assert "0 object(s) copied" in second.stderr and "0 object(s) copied" not in first.stderr, (first.stderr, second.stderr)
    [dump] = db_backup.dumps()

    # The loss: the server down, every table and every object gone.
    mlflow_server.proc.stop()
    outage = time.time()
    for db in db_backup.databases:
        b.wipe_database(db)
    s3 = boto3.client("s3", **artifact_store["admin"])
    keys = [o["Key"] for p in s3.get_paginator("list_objects_v2").paginate(Bucket=artifact_store["bucket"]) for o in p.get("Contents", [])]
    assert keys
    for k in keys:
        s3.delete_object(Bucket=artifact_store["bucket"], Key=k)

    t0 = time.monotonic()
    r = db_backup.run("restore", dump, admin=True)
    assert all(f"restored {db} from" in r.stderr for db in db_backup.databases), r.stderr
    r = artifact_backup.run("restore", keys=artifact_backup.owner_keys())
    took_restore = time.monotonic() - t0
    assert f"{len(keys)} object(s) restored" in r.stderr, r.stderr
    mlflow_server.start()
    allow_5xx_window(outage, time.time(), "backup drill: MLflow stopped for the restore")

    after = b.snapshot(tracking, exp, model, tmp_path)
    assert after == before
    (OUT / "backup-seconds.txt").open("a").write(
        f"{BACKEND} root: grant x2 {db_backup.grant_seconds:.1f}s, dump {took_db:.1f}s, artifact copy {took_artifacts:.1f}s, restore {took_restore:.1f}s\n")


def test_keep_and_a_failed_run_is_logged_and_unhealthy_until_a_run_succeeds(db_backup, spec):
    """The loop as Docker runs it (its `loop` command) with a 1 s interval: a database the user
    cannot dump (the host's PostgreSQL trusts any password) fails, the rendered list succeeds;
    the healthcheck follows; only BACKUP_KEEP dumps stay."""
    health = b.containers(spec)["databases"]["inputs"]["healthcheck"]["tests"]
    assert health[:3] == ["CMD", "sh", "-c"], health
    runs = {}
    for tag, broken in (("failing", f"{db_backup.base['BACKUP_DATABASES']} no_such_db_{RUN_SUFFIX}"), ("fixed", None)):
        extra = {"BACKUP_INTERVAL_SECONDS": "1", "BACKUP_KEEP": "2", **({"BACKUP_DATABASES": broken} if broken else {})}
        env = {**db_backup.base, **extra}
        proc = Proc(f"backup-loop-{tag}", ["sh", str(db_backup.script), "loop"], env).start()
        try:
            needle = "mlflow-backup: run FAILED with exit code 1" if broken else "mlflow-backup: run ok in"
            assert b.wait_for_log(proc.log, needle, 120), proc.log.read_text()[-2000:]
            if not broken:
                # Three more runs: the older dumps go.
                assert b.wait_for_log(proc.log, "removed the dump", 60), proc.log.read_text()[-2000:]
            runs[tag] = (subprocess.run(["sh", "-c", health[3]], env=env, timeout=30).returncode, proc.log.read_text())
            t0 = time.monotonic()
            proc.popen.send_signal(signal.SIGTERM)
            proc.popen.wait(timeout=30)
            assert time.monotonic() - t0 < 10, "the loop must stop on SIGTERM (docker stop)"
        finally:
            if proc.popen.poll() is None:
                proc.stop()
    assert runs["failing"][0] == 1 and runs["fixed"][0] == 0
    assert len([d for d in db_backup.dumps() if not d.endswith(".partial")]) == 2
    assert db_backup.base["BACKUP_DB_PASSWORD"] not in runs["failing"][1] + runs["fixed"][1]
