"""Tests of mlflow_platform_auth (team accounts), run by `npm run test:e2e` in the image's environment.

The sync runs against the real MariaDB and PostgreSQL servers e2e/run uses, with MLflow's own
auth store; the authorization function runs in a Flask request context like MLflow's.
"""
import json
import os
import stat
import subprocess
import sys
import uuid

import pytest
import sqlalchemy
from flask import Flask

import mlflow_platform_auth as auth
from mlflow.protos.databricks_pb2 import RESOURCE_DOES_NOT_EXIST

CI = os.environ.get("CI", "").lower() == "true"
ADMIN_URLS = {
    "mysql": os.environ.get("E2E_MYSQL_ADMIN_URL", "mysql+pymysql://root@127.0.0.1:3306/"),
    "postgres": os.environ.get("E2E_PG_ADMIN_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/postgres"),
}
TOKEN = "t0ken-" + "x" * 42
USERS = [{"name": "root-admin", "role": "admin"}, {"name": "alice", "role": "editor"},
         {"name": "bob", "role": "viewer"}, {"name": "model-foo", "role": "reader", "models": ["foo"]}]


def users(*names):
    return auth.parse_users(json.dumps([u for u in USERS if u["name"] in names]))


@pytest.fixture(params=["mysql", "postgres"])
def auth_db(request):
    """An empty auth database of its own on the shared server; dropped afterwards."""
    admin = sqlalchemy.create_engine(ADMIN_URLS[request.param], isolation_level="AUTOCOMMIT")
    name = f"mlflow_auth_{uuid.uuid4().hex[:8]}"
    try:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f"CREATE DATABASE {name}"))
    except sqlalchemy.exc.OperationalError as e:
        if CI:
            pytest.fail(f"{request.param} not reachable (CI=true, so this fails): {e}")
        pytest.skip(f"{request.param} not reachable: {e}")
    try:
        yield admin.url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sqlalchemy.text(f"DROP DATABASE IF EXISTS {name}" + (" WITH (FORCE)" if request.param == "postgres" else "")))
        admin.dispose()


def open_store(uri):
    from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore

    store = SqlAlchemyStore()
    store.init_db(uri)
    return store


def snapshot(uri):
    """name -> (is_admin, platform roles, [(type, pattern, permission)] of the user's own grants)."""
    store = open_store(uri)
    try:
        out = {}
        for user, roles in store.list_users_with_roles():
            names = sorted(r.name for r in roles if not r.name.startswith("__user_"))
            grants = sorted((p.resource_type, p.resource_pattern, p.permission)
                            for r in roles if r.name.startswith("__user_") for p in store.list_role_permissions(r.id))
            out[user.username] = (user.is_admin, names, grants)
        return out
    finally:
        store.engine.dispose()


def test_sync_creates_users_roles_and_reader_grants_and_is_idempotent(auth_db):
    created, deleted = auth.sync_users(auth_db, users("root-admin", "alice", "bob", "model-foo"), 60)
    assert sorted(created) == sorted(["root-admin", "alice", "bob", "model-foo", auth.ARTIFACT_READER, auth.METRICS_SCRAPER]) and deleted == []
    first = snapshot(auth_db)
    assert first == {
        "root-admin": (True, [], []),
        "alice": (False, [auth.EDITOR_ROLE], []),
        "bob": (False, [auth.VIEWER_ROLE], []),
        "model-foo": (False, [], [("registered_model", "foo", "READ")]),
        auth.ARTIFACT_READER: (False, ["platform-artifact-reader"], []),
        auth.METRICS_SCRAPER: (True, [], []),
    }
    store = open_store(auth_db)
    for role in (auth.EDITOR_ROLE, auth.VIEWER_ROLE):
        perms = store.list_role_permissions(store.get_role_by_name("default", role).id)
        assert sorted((p.resource_type, p.resource_pattern, p.permission) for p in perms) == [
            (t, "*", "READ") for t in sorted(auth.ROLE_READ_TYPES)]
    store.engine.dispose()
    assert auth.sync_users(auth_db, users("root-admin", "alice", "bob", "model-foo"), 60) == ([], [])
    assert snapshot(auth_db) == first


def test_sync_removes_unlisted_users_and_keeps_the_grants_of_kept_ones(auth_db):
    auth.sync_users(auth_db, users("root-admin", "alice", "bob"), 60)
    store = open_store(auth_db)
    # What MLflow's permissions API stores when an owner grants access.
    store.grant_user_resource_permission("alice", "experiment", "7", "MANAGE")
    store.grant_user_resource_permission("bob", "experiment", "7", "EDIT")
    store.create_user("made-in-the-ui", "some-password-123")  # not in the config: cannot log in anyway
    store.engine.dispose()
    created, deleted = auth.sync_users(auth_db, users("root-admin", "alice"), 60)
    assert created == [] and sorted(deleted) == ["bob", "made-in-the-ui"]
    after = snapshot(auth_db)
    assert after == {"root-admin": (True, [], []), "alice": (False, [auth.EDITOR_ROLE], [("experiment", "7", "MANAGE")]),
                     auth.METRICS_SCRAPER: (True, [], [])}
    # bob comes back with nothing of his old grants.
    auth.sync_users(auth_db, users("root-admin", "alice", "bob"), 60)
    assert snapshot(auth_db)["bob"] == (False, [auth.VIEWER_ROLE], [])


def test_a_role_change_moves_the_user_between_platform_roles(auth_db):
    auth.sync_users(auth_db, users("root-admin", "alice", "bob"), 60)
    changed = [{"name": "root-admin", "role": "admin"}, {"name": "alice", "role": "viewer"}, {"name": "bob", "role": "admin"}]
    assert auth.sync_users(auth_db, auth.parse_users(json.dumps(changed)), 60) == ([], [])
    after = snapshot(auth_db)
    assert after["alice"] == (False, [auth.VIEWER_ROLE], []) and after["bob"] == (True, [], [])


def test_two_syncs_at_once_in_two_processes(auth_db):
    """Tasks starting together on an empty auth database: both succeed, one state results."""
    code = ("import json, sys, mlflow_platform_auth as a; "
            "c, d = a.sync_users(sys.argv[1], a.parse_users(sys.argv[2]), 120); print('CREATED', len(c))")
    here = os.path.dirname(os.path.abspath(auth.__file__))
    procs = [subprocess.Popen([sys.executable, "-c", code, auth_db, json.dumps(USERS[:3])], cwd=here,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    counts = sorted(line.split()[1] for out in outputs for line in out.splitlines() if line.startswith("CREATED"))
    assert counts == ["0", "4"], outputs
    assert sorted(snapshot(auth_db)) == ["alice", "bob", auth.METRICS_SCRAPER, "root-admin"]


def test_no_password_reaches_the_log(auth_db, capfd):
    auth.sync_users(auth_db, users("root-admin", "alice"), 60)
    err = capfd.readouterr().err
    assert f"created ['alice', '{auth.METRICS_SCRAPER}', 'root-admin']" in err
    assert auth_db not in err


# --- the ini ----------------------------------------------------------------------------------

INI = "[mlflow]\ndefault_permission = NO_PERMISSIONS\nauthorization_function = mlflow_platform_auth:authenticate_proxied\nadmin_username = root-admin\n"


def test_the_config_file_is_private_and_carries_the_uri(tmp_path):
    uri = "postgresql+psycopg2://mlflow_auth:p%40ss%25w@db:5432/mlflow_auth"
    path = auth.write_config(INI, uri, directory=tmp_path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    os.environ["MLFLOW_AUTH_CONFIG_PATH"] = path
    try:
        from mlflow.server.auth.config import read_auth_config

        config = read_auth_config()
    finally:
        del os.environ["MLFLOW_AUTH_CONFIG_PATH"]
    assert (config.database_uri, config.default_permission, config.admin_username) == (uri, "NO_PERMISSIONS", "root-admin")
    assert config.authorization_function == "mlflow_platform_auth:authenticate_proxied"


def test_an_ini_with_its_own_database_uri_is_refused(tmp_path):
    with pytest.raises(SystemExit, match="must not carry database_uri"):
        auth.write_config(INI + "database_uri = sqlite:///x.db\n", "sqlite:///y.db", directory=tmp_path)


def test_prepare_takes_the_uri_out_of_the_environment(auth_db):
    env = {"MLFLOW_PLATFORM_AUTH_INI": INI, "MLFLOW_PLATFORM_AUTH_DB_URI": auth_db,
           "MLFLOW_PLATFORM_USERS": json.dumps(USERS[:2]), "MLFLOW_PLATFORM_PROXY_TOKEN": TOKEN}
    assert auth.prepare(env) == ["--app-name", "basic-auth"]
    assert "MLFLOW_PLATFORM_AUTH_DB_URI" not in env and stat.S_IMODE(os.stat(env["MLFLOW_AUTH_CONFIG_PATH"]).st_mode) == 0o600
    os.unlink(env["MLFLOW_AUTH_CONFIG_PATH"])
    assert env["MLFLOW_PLATFORM_PROXY_TOKEN"] == TOKEN  # the workers check it
    assert sorted(snapshot(auth_db)) == ["alice", auth.METRICS_SCRAPER, "root-admin"]


def test_mlflow_in_the_preparing_process_reads_the_written_ini(auth_db):
    """The entrypoint runs `mlflow server` in its own process (become_mlflow_server), and MLflow's
    auth app reads its config once, when mlflow.server.auth is first imported: the sync imports
    it, so prepare must point MLFLOW_AUTH_CONFIG_PATH at the ini before syncing."""
    code = ("import os, mlflow_platform_auth as a; a.prepare(os.environ); "
            "from mlflow.server.auth import auth_config as c; os.unlink(os.environ['MLFLOW_AUTH_CONFIG_PATH']); "
            "print(c.admin_username, c.default_permission, c.authorization_function)")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}, "MLFLOW_PLATFORM_AUTH_INI": INI,
           "MLFLOW_PLATFORM_AUTH_DB_URI": auth_db, "MLFLOW_PLATFORM_USERS": json.dumps(USERS[:2]),
           "MLFLOW_PLATFORM_PROXY_TOKEN": TOKEN}
    here = os.path.dirname(os.path.abspath(__file__))
    env["PYTHONPATH"] = os.pathsep.join([here, env.get("PYTHONPATH", "")])
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=here, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["root-admin", "NO_PERMISSIONS", "mlflow_platform_auth:authenticate_proxied"]


def test_prepare_without_the_feature_does_nothing():
    env = {"MLFLOW_PLATFORM_AUTH_DB_URI": "x"}
    assert auth.prepare(env) == [] and env == {"MLFLOW_PLATFORM_AUTH_DB_URI": "x"}


@pytest.mark.parametrize("users_json,message", [
    ('[{"name":"a","role":"admin"},{"name":"a","role":"viewer"}]', "listed twice"),
    ('[{"name":"a","role":"admin"},{"name":"b","role":"owner"}]', "role 'owner'"),
    ('[{"name":"a b","role":"admin"}]', "invalid user name"),
    ('[{"name":"platform:artifact-reader","role":"admin"}]', "invalid user name"),
    ('[{"name":"a","role":"editor"}]', "no admin"),
    ('[{"name":"a","role":"admin","models":["m"]}]', "only readers"),
    ('{"a":"admin"}', "JSON list"),
])
def test_a_malformed_users_list_is_refused(users_json, message):
    with pytest.raises(SystemExit, match=message):
        auth.parse_users(users_json)


# --- the authorization function ---------------------------------------------------------------

@pytest.fixture
def proxied(monkeypatch):
    monkeypatch.setenv("MLFLOW_PLATFORM_PROXY_TOKEN", TOKEN)
    monkeypatch.setenv("MLFLOW_PLATFORM_USERS", json.dumps(USERS))
    auth._process_state.clear()
    app = Flask("t")

    def call(path, user=None, token=TOKEN, method="GET", body=None):
        headers = {k: v for k, v in ((auth.USER_HEADER, user), (auth.TOKEN_HEADER, token)) if v is not None}
        with app.test_request_context(path, method=method, headers=headers, json=body):
            from flask import request

            result = auth.authenticate_proxied()
            return result, request.get_json(force=True, silent=True)
    yield call
    auth._process_state.clear()


@pytest.mark.parametrize("token,user", [(None, "alice"), ("wrong-" + "x" * 42, "alice"), (TOKEN[:-1], "alice"),
                                        ("", "alice"), (TOKEN, None), (TOKEN, "mallory"), (TOKEN, auth.ARTIFACT_READER)])
def test_without_the_proxy_token_or_with_an_unknown_user_it_is_401(proxied, token, user):
    result, _ = proxied("/api/2.0/mlflow/experiments/search", user=user, token=token)
    assert result.status_code == 401


def test_the_metrics_scraper_is_admitted_to_metrics_only(proxied):
    assert proxied("/metrics", user=auth.METRICS_SCRAPER)[0].username == auth.METRICS_SCRAPER
    for path in ("/api/2.0/mlflow/experiments/search", "/metrics/", "/projects/alpha/metrics", "/ajax-api/2.0/mlflow/users/list"):
        assert proxied(path, user=auth.METRICS_SCRAPER)[0].status_code == 401, path
    assert proxied("/metrics", user=auth.METRICS_SCRAPER, token="wrong-" + "x" * 42)[0].status_code == 401


def test_an_empty_configured_token_refuses_everything(proxied, monkeypatch):
    monkeypatch.setenv("MLFLOW_PLATFORM_PROXY_TOKEN", "")
    auth._process_state.clear()
    assert proxied("/api/2.0/mlflow/experiments/search", user="alice", token="")[0].status_code == 401


@pytest.mark.parametrize("user", ["root-admin", "alice", "bob"])
def test_the_asserted_user_is_the_identity(proxied, user):
    result, _ = proxied("/api/2.0/mlflow/experiments/search", user=user)
    assert result.username == user


@pytest.mark.parametrize("path", ["/api/2.0/mlflow/experiments/create", "/ajax-api/2.0/mlflow/experiments/create",
                                  "/api/2.0/mlflow/registered-models/create", "/ajax-api/2.0/mlflow/registered-models/create",
                                  "/api/3.0/mlflow/gateway/secrets/create", "/api/3.0/mlflow/gateway/endpoints/create"])
def test_viewers_and_readers_cannot_create_editors_and_admins_can(proxied, path):
    for user in ("bob", "model-foo"):
        assert proxied(path, user=user, method="POST", body={"name": "x"})[0].status_code == 403, user
    for user in ("alice", "root-admin"):
        assert proxied(path, user=user, method="POST", body={"name": "x"})[0].username == user


def test_a_viewer_may_still_write_where_mlflow_grants_it(proxied):
    """Runs, metrics, tags: MLflow decides from the grants (EDIT granted by an owner), not the gate."""
    for path in ("/api/2.0/mlflow/runs/create", "/api/2.0/mlflow/runs/log-metric", "/api/2.0/mlflow/experiments/update"):
        assert proxied(path, user="bob", method="POST", body={"experiment_id": "1"})[0].username == "bob"


def test_a_run_records_the_authenticated_user_whatever_the_client_claims(proxied):
    body = {"experiment_id": "1", "user_id": "root-admin",
            "tags": [{"key": "mlflow.user", "value": "root-admin"}, {"key": "team", "value": "x"}]}
    result, seen = proxied("/api/2.0/mlflow/runs/create", user="alice", method="POST", body=body)
    assert result.username == "alice"
    assert seen["user_id"] == "alice"
    assert sorted((t["key"], t["value"]) for t in seen["tags"]) == [("mlflow.user", "alice"), ("team", "x")]
    _, seen = proxied("/ajax-api/2.0/mlflow/runs/create", user="alice", method="POST", body={"experiment_id": "1"})
    assert seen["user_id"] == "alice" and seen["tags"] == [{"key": "mlflow.user", "value": "alice"}]
    _, seen = proxied("/api/2.0/mlflow/runs/set-tag", user="alice", method="POST",
                      body={"run_id": "r", "key": "mlflow.user", "value": "root-admin"})
    assert seen["value"] == "alice"
    _, seen = proxied("/api/2.0/mlflow/runs/log-batch", user="alice", method="POST",
                      body={"run_id": "r", "tags": [{"key": "mlflow.user", "value": "root-admin"}, {"key": "k", "value": "v"}]})
    assert seen["tags"] == [{"key": "mlflow.user", "value": "alice"}, {"key": "k", "value": "v"}]


def test_a_reader_hears_404_for_its_own_model_that_does_not_exist_yet(proxied, monkeypatch):
    """MLflow's auth app answers 403 there, and the model server could not explain what is missing."""
    from mlflow.exceptions import MlflowException

    class Registry:
        def get_registered_model(self, name):
            if name != "foo-exists":
                raise MlflowException(f"Registered Model with name={name} not found", error_code=RESOURCE_DOES_NOT_EXIST)

    monkeypatch.setattr("mlflow.server.handlers._get_model_registry_store", lambda: Registry())
    monkeypatch.setitem(auth._state()["users"], "model-foo", {"role": "reader", "models": ["foo", "foo-exists"]})
    result, _ = proxied("/api/2.0/mlflow/registered-models/alias?name=foo&alias=champion", user="model-foo")
    assert result.status_code == 404 and json.loads(result.get_data())["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert proxied("/api/2.0/mlflow/registered-models/alias?name=foo-exists&alias=champion", user="model-foo")[0].username == "model-foo"
    # Another model's existence is not told: MLflow's 403 stands.
    assert proxied("/api/2.0/mlflow/registered-models/get?name=bar", user="model-foo")[0].username == "model-foo"


def test_a_reader_reads_its_models_artifacts_only(proxied, monkeypatch):
    locations = {"foo": ["1/models/m-abc/artifacts"], "bar": ["2/models/m-def/artifacts"]}
    monkeypatch.setattr(auth, "_model_locations", lambda model: locations[model])
    auth._reader_locations.clear()
    base = "/api/2.0/mlflow-artifacts/artifacts"
    assert proxied(f"{base}/1/models/m-abc/artifacts/MLmodel", user="model-foo")[0].username == auth.ARTIFACT_READER
    assert proxied(f"{base}?path=1/models/m-abc/artifacts", user="model-foo")[0].username == auth.ARTIFACT_READER
    # Another model's files, a sibling with the same prefix, a climb out, a write: the reader's own identity (MLflow: 403).
    for path in (f"{base}/2/models/m-def/artifacts/MLmodel", f"{base}/1/models/m-abcd/artifacts/MLmodel",
                 f"{base}/1/models/m-abc/artifacts/%2e%2e/%2e%2e/m-xyz/artifacts/MLmodel", f"{base}?path=1"):
        assert proxied(path, user="model-foo")[0].username == "model-foo", path
    assert proxied(f"{base}/1/models/m-abc/artifacts/x", user="model-foo", method="PUT")[0].username == "model-foo"
    # Nobody else is ever mapped to the artifact reader.
    assert proxied(f"{base}/1/models/m-abc/artifacts/MLmodel", user="bob")[0].username == "bob"


def test_the_identity_is_decided_once_per_request_and_never_shared_between_requests(proxied):
    """MLflow calls the authorization function about four times per request; the headers are
    checked on the first, and the next request (another user on the same worker) is checked anew."""
    calls = []
    real = auth.authenticate_proxied.__wrapped__
    app = Flask("memo")
    wrapped = auth.once_per_request(lambda: calls.append(1) or real())
    for user in ("alice", "bob", "alice"):
        headers = {auth.USER_HEADER: user, auth.TOKEN_HEADER: TOKEN}
        with app.test_request_context("/api/2.0/mlflow/experiments/search", headers=headers):
            assert [wrapped().username for _ in range(4)] == [user] * 4
    assert len(calls) == 3


def test_a_projects_auth_tables_live_beside_its_tracking_tables(auth_db, tmp_path):
    """A project's server (MLFLOW_PLATFORM_AUTH_DB=backend-store): the auth app's tables go into
    its own backend store, which already holds MLflow's tracking schema; neither schema's names
    collide with the other's, and both stores keep working on that one database."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    tracking = SqlAlchemyStore(auth_db, str(tmp_path))
    exp = tracking.create_experiment("before-the-auth-app")
    tracking.engine.dispose()
    env = {"MLFLOW_PLATFORM_AUTH_INI": INI, "MLFLOW_PLATFORM_AUTH_DB": "backend-store", "MLFLOW_BACKEND_STORE_URI": auth_db,
           "MLFLOW_PLATFORM_USERS": json.dumps(USERS[:3]), "MLFLOW_PLATFORM_PROXY_TOKEN": TOKEN}
    assert auth.prepare(env) == ["--app-name", "basic-auth"]
    os.unlink(env["MLFLOW_AUTH_CONFIG_PATH"])
    assert env["MLFLOW_BACKEND_STORE_URI"] == auth_db  # MLflow's own URI stays where it was
    assert sorted(snapshot(auth_db)) == ["alice", "bob", auth.METRICS_SCRAPER, "root-admin"]
    # Twice, as every start does; then the tracking store still opens and has its experiment.
    auth.sync_users(auth_db, users("root-admin", "alice"))
    assert sorted(snapshot(auth_db)) == ["alice", auth.METRICS_SCRAPER, "root-admin"]
    tracking = SqlAlchemyStore(auth_db, str(tmp_path))
    try:
        assert tracking.get_experiment(exp).name == "before-the-auth-app"
    finally:
        tracking.engine.dispose()


@pytest.mark.parametrize("env, message", [
    ({"MLFLOW_PLATFORM_AUTH_DB": "backend-store", "MLFLOW_PLATFORM_AUTH_DB_URI": "sqlite:///x.db", "MLFLOW_BACKEND_STORE_URI": "sqlite:///y.db"},
     "MLFLOW_PLATFORM_AUTH_DB_URI must be unset"),
    ({"MLFLOW_PLATFORM_AUTH_DB": "backend-store"}, "MLFLOW_BACKEND_STORE_URI is empty"),
    ({"MLFLOW_PLATFORM_AUTH_DB": "elsewhere", "MLFLOW_PLATFORM_AUTH_DB_URI": "sqlite:///x.db"}, "must be unset or backend-store"),
    ({}, "MLFLOW_PLATFORM_AUTH_DB_URI is empty"),
])
def test_where_the_auth_tables_are_is_checked(env, message):
    with pytest.raises(SystemExit, match=message):
        auth.auth_database_uri(dict(env))


# --- the per-request fast path ----------------------------------------------------------------

class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_the_snapshot_is_served_within_its_ttl_and_forgotten_on_a_write():
    clock, loads = Clock(), []
    values = iter(range(1, 100))
    snapshot = auth.Snapshot(lambda: loads.append(1) or next(values), 2.0, clock=clock)
    assert snapshot.current() == 1 and snapshot.current() == 1
    clock.now += 1.99
    assert snapshot.current() == 1
    clock.now += 0.01  # the TTL counts from before the read began: at 2.0 s it is read again
    assert snapshot.current() == 2
    snapshot.invalidate()
    assert snapshot.current() == 3
    # A read in flight while this process writes is not kept: the next request reads again.
    snapshot.invalidate()
    snapshot.load = lambda: snapshot.invalidate() or loads.append(1) or next(values)
    assert snapshot.current() == 4
    snapshot.load = lambda: loads.append(1) or next(values)
    assert snapshot.current() == 5 and snapshot.current() == 5
    assert len(loads) == 5


def fast_store(uri, clock):
    """An auth store with the fast path's snapshot, as install_fast_path puts it on MLflow's."""
    store = open_store(uri)
    snapshot = auth.Snapshot(lambda: auth.read_grants_snapshot(store), 2.0, clock=clock)
    auth._serve_from_snapshot(store, snapshot)
    auth._invalidate_on_writes(store, snapshot)
    return store


def grants(store, name, types=("experiment",)):
    user = store.get_user(name)
    return user.is_admin, sorted((g.resource_type, g.resource_pattern, g.permission)
                                 for g in store.list_grants(user.id, "default", set(types)))


def test_the_snapshot_answers_what_mlflows_queries_answer(auth_db):
    auth.sync_users(auth_db, users("root-admin", "alice", "bob", "model-foo"), 60)
    plain = open_store(auth_db)
    plain.grant_user_resource_permission("alice", "experiment", "7", "MANAGE")
    plain.grant_user_resource_permission("bob", "experiment", "7", "DENY")
    plain.grant_user_resource_permission("bob", "registered_model", "m", "EDIT")
    store = fast_store(auth_db, Clock())
    try:
        for name in ("root-admin", "alice", "bob", "model-foo", auth.ARTIFACT_READER):
            for types in (("experiment",), ("run", "experiment"), ("registered_model", "prompt"), ("scorer",)):
                assert grants(store, name, types) == grants(plain, name, types), (name, types)
            assert vars(store.get_user(name)) == vars(plain.get_user(name))
        with pytest.raises(Exception, match="not found"):
            store.get_user("mallory")
        with pytest.raises(Exception):
            store.list_grants(1, "default", {"no-such-type"})
    finally:
        plain.engine.dispose()
        store.engine.dispose()


def test_snapshot_grants_are_per_user_and_a_revocation_elsewhere_applies_within_the_ttl(auth_db):
    auth.sync_users(auth_db, users("root-admin", "alice", "bob"), 60)
    other = open_store(auth_db)  # another worker or task
    other.grant_user_resource_permission("alice", "experiment", "7", "MANAGE")
    clock = Clock()
    store = fast_store(auth_db, clock)
    role = ("experiment", "*", "READ")
    try:
        alice = grants(store, "alice")
        assert alice == (False, sorted([role, ("experiment", "7", "MANAGE")]))
        # bob asks right after alice, with the same workspace and types: his rows, not hers.
        assert grants(store, "bob") == (False, [role]) and grants(store, "root-admin") == (True, [])
        other.revoke_user_resource_permission("alice", "experiment", "7")
        other.update_user("bob", is_admin=True)
        clock.now += 1.9
        assert grants(store, "alice") == alice and grants(store, "bob") == (False, [role])  # within the bound: the copy
        clock.now += 0.1
        assert grants(store, "alice") == (False, [role]) and grants(store, "bob") == (True, [role])
        # A change made through this process's store applies to the very next check.
        store.grant_user_resource_permission("bob", "experiment", "8", "EDIT")
        assert ("experiment", "8", "EDIT") in grants(store, "bob")[1]
        store.update_user("bob", is_admin=False)
        assert grants(store, "bob")[0] is False
    finally:
        other.engine.dispose()
        store.engine.dispose()


def test_the_user_entity_handed_out_is_a_copy(auth_db):
    auth.sync_users(auth_db, users("root-admin", "alice"), 60)
    store = fast_store(auth_db, Clock())
    try:
        store.get_user("alice").is_admin = True  # MLflow's User has a setter
        assert store.get_user("alice").is_admin is False
    finally:
        store.engine.dispose()


def test_the_run_requirement_is_mlflows_own_and_read_once_per_run():
    """The memo returns exactly what MLflow's _run_requirement returns, from one run read per run
    and action; a run that does not exist is asked again; each caller gets a list of its own."""
    import mlflow.server.auth as auth_app
    from mlflow.entities import Run, RunData, RunInfo
    from mlflow.exceptions import MlflowException

    runs, reads = {"r1": "11", "r2": "22"}, []

    class Tracking:
        def get_run(self, run_id):
            reads.append(run_id)
            if run_id not in runs:
                raise MlflowException(f"Run '{run_id}' not found", error_code=RESOURCE_DOES_NOT_EXIST)
            info = RunInfo(run_id=run_id, experiment_id=runs[run_id], user_id="u", status="RUNNING",
                           start_time=0, end_time=None, lifecycle_stage="active")
            return Run(info, RunData())

    original = auth_app._run_requirement.__dict__.get("__wrapped__", auth_app._run_requirement)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(auth_app, "_get_tracking_store", lambda: Tracking())
        cached = auth._memoized_run_requirement(original)
        for run_id in ("r1", "r2"):
            for action in ("read", "update"):
                expected = original(run_id, action)
                assert expected[0] == ("experiment", runs[run_id])
                assert cached(run_id, action) == expected and cached(run_id, action) == expected
        reads.clear()
        first = cached("r1", "update")
        first[1].append("appended by a caller")
        assert cached("r1", "update") == original("r1", "update")
        assert reads == ["r1"]  # only the comparison's own read
        assert cached("gone", "read") is None and cached("gone", "read") is None
        assert reads == ["r1", "gone", "gone"]
