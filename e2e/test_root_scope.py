"""The server at / reaches the whole bucket except projects/: its identity's rendered policy
denies every project's objects, under moto's IAM enforcement (e2e/conftest.py artifact_store),
with the identity directly and through the proxy with the MLflow client as /'s user.

Listings under projects/ are refused by an s3:prefix condition that moto does not evaluate
(moto/iam/policy_conditions.py knows StringEquals only): test_projects_rgw.py proves them on
Ceph RGW. What MLflow answers when the store refuses it is a 500 (the boto error is not an
MlflowException), so each refusal through the proxy is registered as a deliberate 5xx.
"""
import time

import pytest
import requests

from conftest import RUN_SUFFIX, allow_5xx_window, s3_error_code

PROJECT_KEY = f"projects/alpha/1/e2e-{RUN_SUFFIX}/artifacts/model/python_model.pkl"
PROJECT_BODY = b"the project's own pickle"


def _s3(store, **creds):
    import boto3

    return boto3.client("s3", **(creds or store["admin"]))


def _as_root(store):
    return _s3(store, endpoint_url=store["endpoint"], region_name=store["region"],
               aws_access_key_id=store["mlflow_key"], aws_secret_access_key=store["mlflow_secret"])



@pytest.fixture(scope="module")
def project_object(artifact_store):
    """A project's artifact, put by the store's admin (as the project's own identity would)."""
    admin = _s3(artifact_store)
    admin.put_object(Bucket=artifact_store["bucket"], Key=PROJECT_KEY, Body=PROJECT_BODY)
    yield PROJECT_KEY
    admin.delete_object(Bucket=artifact_store["bucket"], Key=PROJECT_KEY)


def _unchanged(store):
    admin, bucket = _s3(store), store["bucket"]
    assert admin.get_object(Bucket=bucket, Key=PROJECT_KEY)["Body"].read() == PROJECT_BODY
    keys = [o["Key"] for o in admin.list_objects_v2(Bucket=bucket, Prefix="projects/").get("Contents", [])]
    assert keys == [PROJECT_KEY], "nothing was added under projects/"


def test_root_identity_cannot_read_write_or_delete_project_objects(artifact_store, project_object):
    s3, bucket = _as_root(artifact_store), artifact_store["bucket"]
    assert s3_error_code(s3.get_object, Bucket=bucket, Key=project_object) == "AccessDenied"
    assert s3_error_code(s3.put_object, Bucket=bucket, Key=project_object, Body=b"planted") == "AccessDenied"
    assert s3_error_code(s3.delete_object, Bucket=bucket, Key=project_object) == "AccessDenied"
    assert s3_error_code(s3.put_object, Bucket=bucket, Key="projects/beta/1/x/artifacts/model.pkl", Body=b"planted") == "AccessDenied"
    assert s3_error_code(s3.create_multipart_upload, Bucket=bucket, Key="projects/alpha/big.bin") == "AccessDenied"
    _unchanged(artifact_store)
    # Its own keys at the bucket root: read, write, delete.
    own = f"0/e2e-root-{RUN_SUFFIX}/artifacts/own.txt"
    assert s3_error_code(s3.put_object, Bucket=bucket, Key=own, Body=b"root's") == "OK"
    assert s3.get_object(Bucket=bucket, Key=own)["Body"].read() == b"root's"
    assert s3_error_code(s3.delete_object, Bucket=bucket, Key=own) == "OK"


def _refused(what, call):
    """Runs a client call that must fail; its 5xx at the proxy is this test's doing."""
    start = time.time()
    try:
        with pytest.raises(Exception) as e:
            call()
    finally:
        allow_5xx_window(start, time.time(), f"/ refused under projects/: {what}")
    return e.value


def test_root_mlflow_client_cannot_reach_projects_through_the_proxy(tracking, proxy, credentials, artifact_store, project_object, tmp_path):
    import mlflow
    from mlflow.store.artifact.mlflow_artifacts_repo import MlflowArtifactsRepository

    # An artifact an upgrading stack already has at the bucket root stays readable.
    old_key = f"0/e2e-upgrade-{RUN_SUFFIX}/artifacts/old.txt"
    _s3(artifact_store).put_object(Bucket=artifact_store["bucket"], Key=old_key, Body=b"logged before the upgrade")
    got = mlflow.artifacts.download_artifacts(artifact_uri=f"mlflow-artifacts:/{old_key}", dst_path=str(tmp_path / "old"))
    assert open(got, "rb").read() == b"logged before the upgrade"

    # Download, upload (overwrite and plant) and delete through /'s mlflow-artifacts API.
    _refused("download", lambda: mlflow.artifacts.download_artifacts(
        artifact_uri=f"mlflow-artifacts:/{project_object}", dst_path=str(tmp_path / "stolen")))
    assert not (tmp_path / "stolen" / "python_model.pkl").exists()
    planted = tmp_path / "python_model.pkl"
    planted.write_bytes(b"malicious pickle")
    folder = project_object.rsplit("/", 1)[0]
    _refused("upload", lambda: MlflowArtifactsRepository(f"mlflow-artifacts:/{folder}").log_artifact(str(planted)))
    _refused("plant", lambda: MlflowArtifactsRepository("mlflow-artifacts:/projects/beta/1/x/artifacts").log_artifact(str(planted)))
    url = f"{proxy.url}/api/2.0/mlflow-artifacts/artifacts/{project_object}"
    start = time.time()
    requests.delete(url, auth=credentials, timeout=30)
    allow_5xx_window(start, time.time(), "/ refused under projects/: delete")
    # MLflow answers 200 here: S3's DeleteObjects reports per-key AccessDenied inside a 200,
    # which MLflow does not check. What counts is that the object is still there.
    _unchanged(artifact_store)
    r = requests.get(url, auth=credentials, timeout=30)
    assert r.status_code >= 400 and PROJECT_BODY not in r.content
    allow_5xx_window(start, time.time(), "/ refused under projects/: raw download")
    _unchanged(artifact_store)

    # /'s own run artifacts through the same API still work end to end.
    exp = tracking.create_experiment(f"e2e-root-scope-{RUN_SUFFIX}")
    run = tracking.create_run(exp)
    mine = tmp_path / "mine.txt"
    mine.write_text("root's artifact")
    tracking.log_artifact(run.info.run_id, str(mine))
    back = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="mine.txt", dst_path=str(tmp_path / "back"))
    assert open(back).read() == "root's artifact"
    assert [f.path for f in tracking.list_artifacts(run.info.run_id)] == ["mine.txt"]
    assert tracking.get_run(run.info.run_id).info.artifact_uri.startswith(f"mlflow-artifacts:/{exp}/")
