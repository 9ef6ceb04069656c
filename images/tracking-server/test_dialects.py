"""The entrypoint's dialect table is the one rendered from the TypeScript ENGINES table
(components/backendStore/dialects.ts -> db_dialects.json), and the image ships it beside the entrypoint."""
import json
import pathlib

import entrypoint

HERE = pathlib.Path(__file__).parent


def test_entrypoint_reads_the_generated_table():
    table = json.loads((HERE / "db_dialects.json").read_text())
    assert entrypoint.DIALECTS == {e: (d["dialect"], d["port"], d["query"]) for e, d in table.items()}
    assert set(entrypoint.DIALECTS) == {"mysql", "postgres"}


def test_composed_uri_uses_the_table_for_both_engines():
    for engine, (dialect, port, query) in entrypoint.DIALECTS.items():
        uri = entrypoint.compose_backend_store_uri({
            "MLFLOW_DB_ENGINE": engine, "MLFLOW_DB_HOST": "db", "MLFLOW_DB_NAME": "mlflow",
            "MLFLOW_DB_USER": "mlflow", "MLFLOW_DB_PASSWORD": "p@ss:%",
        })
        assert uri == f"{dialect}://mlflow:p%40ss%3A%25@db:{port}/mlflow{query}"


def test_the_image_copies_the_table_next_to_the_entrypoint():
    dockerfile = (HERE / "Dockerfile").read_text()
    assert "COPY entrypoint.py project_db_init.py db_dialects.json /opt/mlflow/" in dockerfile
    ignore = (HERE / ".dockerignore").read_text().splitlines()
    # The projects' init runner imports the entrypoint from the same directory (aws flavour).
    assert "!db_dialects.json" in ignore and "!project_db_init.py" in ignore
