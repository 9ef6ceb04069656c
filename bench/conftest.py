"""Benchmark fixtures: the e2e harness (e2e/conftest.py) imported as a module, so the bench
runs exactly the stack the e2e suite realises (same spec, same process management), plus
an MLflow server whose environment the bench may extend (BENCH_MLFLOW_ENV) for tuning runs.
"""
import importlib.util
import os
import sys
from pathlib import Path

import pytest

_E2E = Path(__file__).resolve().parent.parent / "e2e"
_spec = importlib.util.spec_from_file_location("e2e_harness", _E2E / "conftest.py")
harness = importlib.util.module_from_spec(_spec)
sys.modules["e2e_harness"] = harness
_spec.loader.exec_module(harness)

# The harness fixtures and its SIGTERM hook (its failure-log hook is left out: a missed target is not a crash; logs stay in e2e/out).
spec = harness.spec
mlflow_env_rendered = harness.mlflow_env_rendered
database = harness.database
artifact_store = harness.artifact_store
credentials = harness.credentials
auth_database = harness.auth_database
drop_auth_databases = harness.drop_auth_databases
pytest_configure = harness.pytest_configure


def mlflow_overrides():
    """BENCH_MLFLOW_ENV="MLFLOW_SQLALCHEMYSTORE_POOL_SIZE=3,MLFLOW_WORKERS=2": tuning runs only."""
    out = {}
    for item in filter(None, os.environ.get("BENCH_MLFLOW_ENV", "").split(",")):
        k, _, v = item.partition("=")
        out[k.strip()] = v.strip()
    return out


@pytest.fixture(scope="session")
def mlflow_server(mlflow_env_rendered, database, artifact_store, auth_database):
    auth = {harness.AUTH_DB_URI: auth_database} if auth_database else {}
    env = harness.mlflow_env(mlflow_env_rendered, database, artifact_store, **auth, **mlflow_overrides())
    server = harness.MlflowServer(env)
    try:
        server.start()
        yield server
    finally:
        server.proc.stop()


@pytest.fixture(scope="session")
def proxy(spec, mlflow_server):
    n = harness.Nginx(spec, mlflow_server.port, port=int(spec["config"].get("hostPort", 0)) or None)
    try:
        yield n.start()
    finally:
        n.proc.stop()
