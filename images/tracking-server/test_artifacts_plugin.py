"""The s3proxied:// destination: the same bucket as s3://, but no presigned transfers to advertise."""
import boto3
import pytest
from moto import mock_aws
from mlflow.store.artifact.artifact_repo import MultipartDownloadMixin, MultipartUploadMixin, PresignedUploadMixin
from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

from mlflow_proxied_s3 import ProxiedS3ArtifactRepository, to_s3_uri


@pytest.fixture
def bucket(monkeypatch):
    for key, value in {"AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "AWS_DEFAULT_REGION": "us-east-1"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("MLFLOW_S3_ENDPOINT_URL", raising=False)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="artifacts")
        yield boto3.client("s3")


def test_the_scheme_is_registered_through_the_entry_point():
    assert isinstance(get_artifact_repository("s3proxied://artifacts/"), ProxiedS3ArtifactRepository)


def test_it_offers_no_presigned_or_multipart_transfer():
    repo = get_artifact_repository("s3proxied://artifacts/")
    assert not isinstance(repo, (MultipartUploadMixin, MultipartDownloadMixin, PresignedUploadMixin))


def test_only_its_own_scheme_is_translated():
    assert to_s3_uri("s3proxied://b/p/q") == "s3://b/p/q"
    with pytest.raises(ValueError, match="expected a s3proxied:// URI"):
        to_s3_uri("s3://b/")


def test_artifacts_round_trip_through_the_bucket(bucket, tmp_path):
    repo = get_artifact_repository("s3proxied://artifacts/exp")
    source = tmp_path / "model.bin"
    source.write_bytes(b"\x00\x01payload" * 1000)
    repo.log_artifact(str(source), "run1")
    stored = bucket.get_object(Bucket="artifacts", Key="exp/run1/model.bin")["Body"].read()
    assert stored == source.read_bytes()
    assert [f.path for f in repo.list_artifacts("run1")] == ["run1/model.bin"]
    (tmp_path / "out").mkdir()
    downloaded = repo.download_artifacts("run1/model.bin", str(tmp_path / "out"))
    assert open(downloaded, "rb").read() == source.read_bytes()
    repo.delete_artifacts("run1")
    assert bucket.list_objects_v2(Bucket="artifacts", Prefix="exp/run1").get("KeyCount", 0) == 0
