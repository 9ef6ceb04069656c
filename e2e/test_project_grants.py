"""A project's database user reaches its own database only, for names that collide under MySQL's
grant patterns, on both targets' init paths, against the machine's MariaDB or PostgreSQL.

In `GRANT ... ON db.*` MySQL and MariaDB read `_` as any one character, and a project name's
hyphen becomes `_` in its database name: project `zq<run>-7` owns `mlflow_zq<run>_7`, which an
unescaped grant extends to project `zq<run>x7`'s `mlflow_zq<run>x7` and to any database matching
it that the user creates. Both names carry the run suffix (unique on the shared servers) and
are rendered by the program itself under Pulumi mocks (e2e/render-spec.ts for the Docker
project-database container, e2e/render-aws-env.ts for the Aurora init container), so no name
in the SQL is rewritten; only the server's address and admin login are the machine's.

Each project's user then tries to read, write, drop and create outside its own database: the
other project's tables, a database matching its pattern, the server's own schemas.
"""
import contextlib
import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import (BACKEND, ENTRYPOINT, OUT, PG_ADMIN, PG_ENV, REPO, RUN_SUFFIX, _mysql_admin, _psql, base_env, env_dict,
                      non_superuser_admin, require, upload)

# Valid project names (a letter first, single inner hyphen) that collide under the pattern.
OWN, OTHER = f"zq{RUN_SUFFIX}-7", f"zq{RUN_SUFFIX}x7"
# A database no project owns that OWN's unescaped pattern (mlflow_zq<run>_7) would cover.
MATCHING = f"mlflow_zq{RUN_SUFFIX}y7"
BUILD = REPO / "e2e" / "out" / "build"
INIT_RUNNER = ENTRYPOINT.with_name("project_db_init.py")
MYSQL = dict(host=os.environ.get("E2E_MYSQL_HOST", "127.0.0.1"), port=int(os.environ.get("E2E_MYSQL_PORT", "3306")), connect_timeout=10)


def database_of(project):
    return "mlflow_" + project.replace("-", "_")


def node():
    for n in (os.environ.get("E2E_NODE"), str(REPO / ".ci" / "node22" / "node_modules" / ".bin" / "node"), shutil.which("node")):
        if n and os.path.exists(n):
            r = subprocess.run([n, "-p", "process.versions.node.split('.')[0]"], capture_output=True, text=True)
            if r.returncode == 0 and int(r.stdout.strip()) >= 22:
                return n
    require(False, "Node 22 (e2e/run finds it the same way)")


def render(script, out, *config):
    """Runs one of e2e/run's compiled renderers with the two colliding projects."""
    require((BUILD / "e2e" / script).exists(), f"{BUILD} not compiled (run e2e/run)")
    projects = json.dumps([OWN, OTHER])
    r = subprocess.run([node(), f"e2e/{script}", BACKEND, str(out), f"projects={projects}", *config], cwd=BUILD,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(out.read_text())


def docker_init(spec, project, workdir):
    """Runs the project's rendered init script as the local target would, against the test host's server."""
    [c] = [c for c in spec["containers"] if c["role"] == "project-database" and c["name"].startswith(f"mlflow-dev-project-{project}-")]
    env = env_dict(c)
    assert env["MLFLOW_DB_NAME"] == database_of(project), env["MLFLOW_DB_NAME"]
    script = upload(c, "/init/project-db.sh")["content"]
    workdir.mkdir(parents=True, exist_ok=True)
    run_env = {**base_env(), "TMPDIR": str(workdir)}
    if BACKEND == "mysql":
        (workdir / "project-db.sql").write_text(upload(c, "/init/project-db.sql")["content"])
        script = script.replace("/init/project-db.sql", str(workdir / "project-db.sql"))
        run_env.update({"DB_HOST": MYSQL["host"], "DB_PORT": str(MYSQL["port"]), "DB_ADMIN_USER": os.environ.get("E2E_MYSQL_ADMIN", "root"),
                        "DB_ADMIN_PASSWORD": os.environ.get("E2E_MYSQL_ADMIN_PASSWORD", "")})
    else:
        run_env.update({**env, "DB_HOST": PG_ENV["PGHOST"], "DB_PORT": PG_ENV["PGPORT"], "DB_ADMIN_USER": PG_ADMIN})
    (workdir / "project-db.sh").write_text(script)
    for attempt in (1, 2):  # idempotent: it runs again whenever its inputs change
        r = subprocess.run(["sh", str(workdir / "project-db.sh")], env=run_env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"{project} init run {attempt}: {r.stdout}{r.stderr}"
    return env["MLFLOW_DB_USER"], env["MLFLOW_DB_PASSWORD"]


def aws_init(tasks, project, admin):
    """Runs the project's Aurora init container's runner with its rendered statements, as a non-superuser master."""
    import secrets as pysecrets
    init = tasks[project]["project-db-init"]
    env = {e["name"]: e["value"] for e in init["environment"]}
    env.pop("MLFLOW_DB_TLS_QUERY")  # the RDS CA bundle: the test host's servers have no RDS certificate
    password = "p@ss:w/%'" + pysecrets.token_urlsafe(12)
    env.update({
        "MLFLOW_DB_HOST": MYSQL["host"] if BACKEND == "mysql" else PG_ENV["PGHOST"],
        "MLFLOW_DB_PORT": str(MYSQL["port"]) if BACKEND == "mysql" else PG_ENV["PGPORT"],
        "MLFLOW_DB_NAME": "mysql" if BACKEND == "mysql" else "postgres",
        "MLFLOW_DB_USER": admin["user"], "MLFLOW_DB_PASSWORD": admin["password"], "MLFLOW_PROJECT_DB_PASSWORD": password,
    })
    for attempt in (1, 2):  # it runs at every task start
        r = subprocess.run([sys.executable, str(INIT_RUNNER)], env={**base_env(), **env}, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, f"{project} init run {attempt}: {r.stderr[-2000:]}"
    return database_of(project), password


def drop(names):
    if BACKEND == "mysql":
        conn = _mysql_admin()
        with conn.cursor() as cur:
            for n in names:
                cur.execute(f"DROP DATABASE IF EXISTS `{n}`")
                cur.execute("DROP USER IF EXISTS %s@'%%'", (n,))
        conn.close()
    else:
        for n in names:
            _psql(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')
            _psql(f'DROP ROLE IF EXISTS "{n}"')


def require_server():
    if BACKEND == "mysql":
        try:
            _mysql_admin().close()
        except Exception as e:  # noqa: BLE001
            require(False, f"MariaDB/MySQL not reachable: {e}")
        require(shutil.which("mysql"), "mysql client (the Docker init script runs it)")
    else:
        require(shutil.which("psql") and _psql("select 1").returncode == 0, "PostgreSQL and psql")


@contextlib.contextmanager
def created(target, tmp_path):
    """Both projects' databases and users, made by the target's rendered init; dropped afterwards."""
    require_server()
    names = [database_of(OWN), database_of(OTHER), MATCHING]
    drop(names)
    try:
        logins = {}
        if target == "docker":
            spec = render("render-spec.js", tmp_path / "spec.json", "mlflowWorkers=1")
            for p in (OWN, OTHER):
                logins[p] = docker_init(spec, p, tmp_path / p)
        else:
            tasks = render("render-aws-env.js", tmp_path / "aws.json", "dbMaxCapacity=8")["projects"]
            with non_superuser_admin(f"e2e_grants_{RUN_SUFFIX}") as admin:
                for p in (OWN, OTHER):
                    logins[p] = aws_init(tasks, p, admin)
        yield logins
    finally:
        drop(names)


def mysql_denied(cur, sql):
    import pymysql
    with pytest.raises((pymysql.err.OperationalError, pymysql.err.ProgrammingError)) as e:
        cur.execute(sql)
    # 1044 access denied to database, 1142 command denied on table, 1227 needs a global privilege
    assert e.value.args[0] in (1044, 1142, 1227), (sql, e.value.args)


def check_mysql(logins):
    import pymysql
    for me, them in ((OWN, OTHER), (OTHER, OWN)):
        mine, theirs = database_of(me), database_of(them)
        user, password = logins[me]
        assert user == mine
        conn = pymysql.connect(user=user, password=password, database=mine, autocommit=True, **MYSQL)
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS t (x INT)")
            cur.execute("INSERT INTO t VALUES (1)")
            cur.execute("SHOW DATABASES")
            assert {r[0] for r in cur.fetchall()} - {"information_schema"} == {mine}
        conn.close()
    for me, them in ((OWN, OTHER), (OTHER, OWN)):
        user, password = logins[me]
        theirs = database_of(them)
        conn = pymysql.connect(user=user, password=password, database=database_of(me), autocommit=True, **MYSQL)
        with conn.cursor() as cur:
            for sql in (f"USE `{theirs}`", f"SELECT * FROM `{theirs}`.t", f"INSERT INTO `{theirs}`.t VALUES (2)",
                        f"DELETE FROM `{theirs}`.t", f"CREATE TABLE `{theirs}`.u (x INT)", f"DROP TABLE `{theirs}`.t",
                        f"DROP DATABASE `{theirs}`", f"CREATE DATABASE `{MATCHING}`", f"CREATE DATABASE `{theirs}x`",
                        "SELECT * FROM mysql.user", "CREATE DATABASE `mlflow`"):
                mysql_denied(cur, sql)
        conn.close()
    admin = _mysql_admin()
    with admin.cursor() as cur:
        for p in (OWN, OTHER):
            cur.execute(f"SELECT COUNT(*) FROM `{database_of(p)}`.t")
            assert cur.fetchone()[0] == 1, f"{p}'s table was changed from outside"
        cur.execute("SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (MATCHING,))
        assert cur.fetchone() is None
    admin.close()


def as_pg(user, database, sql):
    return subprocess.run(["psql", "-w", "-v", "ON_ERROR_STOP=1", "--no-psqlrc", "-U", user, "-d", database, "-tAc", sql],
                          env={**os.environ, **PG_ENV}, capture_output=True, text=True, timeout=60)


def check_postgres(logins):
    # The machine's PostgreSQL trusts local TCP, so no password is checked here: what isolates a
    # project is its privileges (CONNECT revoked from PUBLIC, no CREATEDB/CREATEROLE), as on Aurora.
    for me in (OWN, OTHER):
        r = as_pg(database_of(me), database_of(me), "CREATE TABLE t (x int); INSERT INTO t VALUES (1)")
        assert r.returncode == 0, r.stderr
    for me, them in ((OWN, OTHER), (OTHER, OWN)):
        user, theirs = database_of(me), database_of(them)
        r = as_pg(user, theirs, "SELECT 1")
        assert r.returncode != 0 and "permission denied for database" in r.stderr, r.stderr
        for sql, refusal in ((f'CREATE DATABASE "{MATCHING}"', "permission denied to create database"),
                             (f'DROP DATABASE "{theirs}"', "must be owner of database"),
                             (f'CREATE ROLE "{MATCHING}"', "permission denied to create role"),
                             (f'ALTER ROLE "{theirs}" PASSWORD \'x\'', "permission denied|must have CREATEROLE")):
            r = as_pg(user, database_of(me), sql)
            assert r.returncode != 0 and any(x in r.stderr for x in refusal.split("|")), (sql, r.stderr)
        # The server's own database admits every role (PostgreSQL's default); nothing can be created there.
        r = as_pg(user, "postgres", "CREATE TABLE public.grants_probe (x int)")
        assert r.returncode != 0 and "permission denied for schema public" in r.stderr, r.stderr
    for p in (OWN, OTHER):
        assert _psql(f'SELECT count(*) FROM pg_database WHERE datname = \'{MATCHING}\'').stdout.strip() == "0"
        r = as_pg(PG_ADMIN, database_of(p), "SELECT count(*) FROM t")
        assert r.stdout.strip() == "1", r.stderr


@pytest.mark.parametrize("target", ["docker", "aws"])
def test_project_user_reaches_nothing_outside_its_database(target, tmp_path):
    with created(target, tmp_path) as logins:
        if BACKEND == "mysql":
            check_mysql(logins)
        else:
            check_postgres(logins)


@pytest.mark.parametrize("target", ["docker", "aws"])
def _revokes_the_old_pattern_grant(target, tmp_path):
    """A server set up before names were escaped holds GRANT ... ON `mlflow_zq<run>_7`.*; the init removes it."""
    import pymysql
    with created(target, tmp_path) as logins:
        admin = _mysql_admin()
        user = database_of(OWN)
        with admin.cursor() as cur:
            cur.execute(f"GRANT ALL PRIVILEGES ON `{user}`.* TO %s@'%%'", (user,))
        admin.close()
        if target == "docker":
            logins[OWN] = docker_init(render("render-spec.js", tmp_path / "spec2.json", "mlflowWorkers=1"), OWN, tmp_path / "again")
        else:
            tasks = render("render-aws-env.js", tmp_path / "aws2.json", "dbMaxCapacity=8")["projects"]
            with non_superuser_admin(f"e2e_grants2_{RUN_SUFFIX}") as a:
                logins[OWN] = aws_init(tasks, OWN, a)
        admin = _mysql_admin()
        with admin.cursor() as cur:
            cur.execute("SELECT Db FROM mysql.db WHERE User = %s AND Host = '%%'", (user,))
            assert [r[0] for r in cur.fetchall()] == [user.replace("_", "\\_")]
        admin.close()
        conn = pymysql.connect(user=user, password=logins[OWN][1], autocommit=True, **MYSQL)
        with conn.cursor() as cur:
            mysql_denied(cur, f"SELECT * FROM `{database_of(OTHER)}`.t")
        conn.close()


# MySQL/MariaDB only: PostgreSQL's grants name one database and were never patterns.
if BACKEND == "mysql":
    test_init_revokes_the_pattern_grant_an_upgraded_server_still_holds = _revokes_the_old_pattern_grant
