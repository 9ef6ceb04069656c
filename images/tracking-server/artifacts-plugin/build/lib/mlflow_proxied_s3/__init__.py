"""An MLflow artifact destination for S3-compatible stores that clients cannot reach.

With an `s3://` artifacts destination, MLflow 3 (mlflow#24341) advertises presigned
transfers in /api/3.0/mlflow/server-info, and clients then download every artifact, and
upload large ones, directly from MLFLOW_S3_ENDPOINT_URL. In the Docker flavour that
endpoint is http://minio:9000, a name only the containers resolve, so downloads from the
client and from the UI fail. `s3proxied://<bucket>/<prefix>` stores in the same bucket
through the same S3 API, but offers no presigned or multipart transfer: every transfer
goes through the tracking server and the authenticating proxy in front of it.
"""
from mlflow.store.artifact.artifact_repo import ArtifactRepository
from mlflow.store.artifact.s3_artifact_repo import S3ArtifactRepository

SCHEME = "s3proxied"


def to_s3_uri(artifact_uri):
    prefix = f"{SCHEME}://"
    if not artifact_uri.startswith(prefix):
        raise ValueError(f"expected a {prefix} URI, got {artifact_uri!r}")
    return "s3://" + artifact_uri[len(prefix):]


class ProxiedS3ArtifactRepository(ArtifactRepository):
    """Delegates storage to S3ArtifactRepository without inheriting its presigned-transfer mixins."""

    def __init__(self, artifact_uri, tracking_uri=None, registry_uri=None):
        super().__init__(artifact_uri, tracking_uri, registry_uri)
        self._s3 = S3ArtifactRepository(to_s3_uri(artifact_uri), tracking_uri, registry_uri)

    def log_artifact(self, local_file, artifact_path=None):
        self._s3.log_artifact(local_file, artifact_path)

    def log_artifacts(self, local_dir, artifact_path=None):
        self._s3.log_artifacts(local_dir, artifact_path)

    def list_artifacts(self, path=None):
        return self._s3.list_artifacts(path)

    def _download_file(self, remote_file_path, local_path):
        self._s3._download_file(remote_file_path, local_path)

    def delete_artifacts(self, artifact_path=None):
        self._s3.delete_artifacts(artifact_path)
