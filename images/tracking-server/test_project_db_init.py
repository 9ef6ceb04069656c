"""Tests of the project database init runner's control flow (AWS init container), with a
recording DB-API stand-in. The e2e suite (test_projects.py) runs it against MariaDB and PostgreSQL."""
import json

import pytest

import project_db_init


class Cursor:
    def __init__(self, log, existing):
        self.log, self.existing, self.last = log, existing, None

    def execute(self, sql, params=None):
        self.log.append((sql, params))
        self.last = sql

    def fetchone(self):
        return (1,) if self.last in self.existing else None

    def close(self):
        pass


class Conn:
    def __init__(self, existing=()):
        self.log, self.existing, self.closed = [], set(existing), False

    def cursor(self):
        return Cursor(self.log, self.existing)

    def close(self):
        self.closed = True


STATEMENTS = [
    {"sql": "CREATE ROLE r LOGIN", "unless": "SELECT role"},
    {"sql": "ALTER ROLE r PASSWORD %(password)s", "bindsPassword": True},
    {"sql": "GRANT ... '%'"},
]


def env(statements=STATEMENTS, password="s3cret'%"):
    return {"MLFLOW_PROJECT_DB_STATEMENTS": json.dumps(statements), "MLFLOW_PROJECT_DB_PASSWORD": password}


def test_runs_in_order_binding_the_password_only_where_asked():
    conn = Conn()
    assert project_db_init.run(env(), connect=lambda: conn) == 3
    assert conn.log == [("SELECT role", None), ("CREATE ROLE r LOGIN", None),
                        ("ALTER ROLE r PASSWORD %(password)s", {"password": "s3cret'%"}), ("GRANT ... '%'", None)]
    assert conn.closed


def test_a_guard_that_returns_a_row_skips_its_statement():
    conn = Conn(existing={"SELECT role"})
    assert project_db_init.run(env(), connect=lambda: conn) == 2
    assert ("CREATE ROLE r LOGIN", None) not in conn.log


@pytest.mark.parametrize("statements,password,why", [
    ([], "x", "non-empty JSON list"),
    ([{"sql": "x", "extra": 1}], "x", "each statement"),
    ([{"unless": "x"}], "x", "each statement"),
    (STATEMENTS, "", "PASSWORD is empty"),
])
def test_refuses_bad_input_before_connecting(statements, password, why):
    def connect():
        raise AssertionError("connected")
    with pytest.raises(SystemExit, match=why):
        project_db_init.run(env(statements, password), connect=connect)


def test_the_connection_closes_when_a_statement_fails():
    conn = Conn()

    def failing_cursor():
        c = Cursor(conn.log, set())

        def execute(sql, params=None):
            raise RuntimeError("boom")
        c.execute = execute
        return c
    conn.cursor = failing_cursor
    with pytest.raises(RuntimeError):
        project_db_init.run(env(), connect=lambda: conn)
    assert conn.closed
