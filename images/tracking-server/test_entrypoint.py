"""Tests of the image's entrypoint, run by `npm run test:e2e` in the image's own Python environment."""
import subprocess
import sys
import threading
import time

import boto3
import pytest
from moto import mock_aws
from sqlalchemy.engine import make_url

import entrypoint

PARTS = {
    "MLFLOW_DB_ENGINE": "mysql",
    "MLFLOW_DB_HOST": "cluster.example.eu-west-1.rds.amazonaws.com",
    "MLFLOW_DB_NAME": "mlflow",
    "MLFLOW_DB_USER": "mlflow_admin",
    "MLFLOW_DB_PASSWORD": "p@ss:w%rd/#?&=+ ü",
}


def test_a_given_uri_is_used_as_is():
    assert entrypoint.compose_backend_store_uri({"MLFLOW_BACKEND_STORE_URI": "sqlite:///x.db", **PARTS}) == "sqlite:///x.db"


@pytest.mark.parametrize("engine,driver,port", [("mysql", "mysql+pymysql", 3306), ("postgres", "postgresql+psycopg2", 5432)])
def test_parts_compose_a_uri_sqlalchemy_reads_back_exactly(engine, driver, port):
    url = make_url(entrypoint.compose_backend_store_uri({**PARTS, "MLFLOW_DB_ENGINE": engine}))
    assert url.drivername == driver
    assert (url.username, url.password, url.host, url.port, url.database) == (
        "mlflow_admin", PARTS["MLFLOW_DB_PASSWORD"], PARTS["MLFLOW_DB_HOST"], port, "mlflow")


def test_mysql_connects_in_utf8mb4():
    assert make_url(entrypoint.compose_backend_store_uri(PARTS)).query == {"charset": "utf8mb4"}


def test_missing_parts_are_named():
    with pytest.raises(SystemExit, match="MLFLOW_DB_PASSWORD"):
        entrypoint.compose_backend_store_uri({k: v for k, v in PARTS.items() if k != "MLFLOW_DB_PASSWORD"})


def test_an_unknown_engine_is_refused():
    with pytest.raises(SystemExit, match="MLFLOW_DB_ENGINE must be one of"):
        entrypoint.compose_backend_store_uri({**PARTS, "MLFLOW_DB_ENGINE": "oracle"})


SLEEPER = [sys.executable, "-c", "import time; time.sleep(60)"]


def watch(argv, client, arn, interval):
    """As main() runs it: note the current version, start the server, watch."""
    started_with = entrypoint.current_secret_version(client, arn)
    return entrypoint.watch_until_secret_rotates(subprocess.Popen(argv), client, arn, started_with, interval)


@pytest.fixture
def secrets():
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-1")
        arn = client.create_secret(Name="rds!cluster-test", SecretString='{"username":"u","password":"one"}')["ARN"]
        yield client, arn


def test_the_server_is_stopped_when_the_password_rotates(secrets):
    client, arn = secrets
    result = {}
    watcher = threading.Thread(target=lambda: result.update(code=watch(SLEEPER, client, arn, 0.2)))
    started = time.monotonic()
    watcher.start()
    time.sleep(1.0)
    assert watcher.is_alive(), "the server must keep running while the secret is unchanged"
    client.put_secret_value(SecretId=arn, SecretString='{"username":"u","password":"two"}')
    watcher.join(timeout=10)
    assert not watcher.is_alive()
    assert result["code"] == 0
    assert time.monotonic() - started < 10


def test_the_servers_own_exit_code_is_passed_on(secrets):
    client, arn = secrets
    code = watch([sys.executable, "-c", "raise SystemExit(3)"], client, arn, 0.2)
    assert code == 3


def test_a_failing_secret_check_does_not_stop_the_server(secrets):
    client, arn = secrets

    class Flaky:
        calls = 0

        def describe_secret(self, SecretId):
            Flaky.calls += 1
            if Flaky.calls > 1:
                raise RuntimeError("throttled")
            return client.describe_secret(SecretId=SecretId)

    code = watch([sys.executable, "-c", "import time; time.sleep(1.5)"], Flaky(), arn, 0.2)
    assert code == 0 and Flaky.calls > 2
