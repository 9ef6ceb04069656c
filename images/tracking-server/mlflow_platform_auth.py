"""Team accounts: MLflow's auth app trusts the identity the platform's nginx proxy asserts.

nginx verifies each user's password (a fast SHA-512-crypt per request) and passes the user
name to MLflow in X-Mlflow-Platform-User, together with X-Mlflow-Platform-Token, a secret
only the proxy and MLflow hold (nginx replaces any client-sent header of those names).
MLflow's basic-auth app, configured with `authorization_function =
mlflow_platform_auth:authenticate_proxied`, then applies its own permission model
(per-experiment / per-model grants, roles, admin API and UI) to that user, without its
PBKDF2 check per request and without its per-worker credential cache.

Two entry points:
- `authenticate_proxied()`: MLflow's pluggable authorization function (every worker).
- `prepare(env)`: run by entrypoint.py before `mlflow server`: `sync_users` (under a
  database lock), then the auth app's ini with the database URI in a 0600 file.

The users come from MLFLOW_PLATFORM_USERS (JSON, rendered by the Pulumi program): name,
role (admin | editor | viewer | reader) and, for readers (model servers), their models.
Roles are MLflow data: admins are MLflow admins; editors and viewers are members of the
MLflow roles platform-editor / platform-viewer, which hold READ on every experiment,
registered model, prompt and scorer (default_permission is NO_PERMISSIONS). Editors may
create (MLflow then gives the creator MANAGE); viewers and readers may not. A reader holds
READ on its own registered models only.
"""
import functools
import hmac
import json
import logging
import os
import re
import secrets
import sys
import tempfile
import threading
import time
from urllib.parse import urlsplit

USER_HEADER = "X-Mlflow-Platform-User"
TOKEN_HEADER = "X-Mlflow-Platform-Token"
ROLES = ("admin", "editor", "viewer", "reader")
EDITOR_ROLE = "platform-editor"
VIEWER_ROLE = "platform-viewer"
# What the platform roles may read everywhere; runs, traces, logged models and versions
# inherit from their experiment or registered model.
ROLE_READ_TYPES = ("experiment", "registered_model", "prompt", "scorer")
# Reads artifacts on behalf of readers (see _reader_artifact_allowed). A ':' is in no
# configured name (basic auth cannot carry one), so nobody can log in as it.
ARTIFACT_READER = "platform:artifact-reader"
# The Prometheus scraper, as the proxy's scrape locations name it (components/authProxy/metrics.ts).
# No login can carry the ':' either. Admitted for exactly METRICS_PATH and nothing else; an
# admin in MLflow's store, because MLflow's fail-closed authorization refuses a non-admin on a
# route without a validator, which /metrics is.
METRICS_SCRAPER = "platform:metrics-scraper"
METRICS_PATH = "/metrics"
# Account names as the Pulumi program allows them (components/trackingServer/auth.ts).
NAME_PATTERN = r"[A-Za-z0-9._@-]{1,64}"
# What `mlflow server` needs besides its MLFLOW_* variables (it has none for the app name).
SERVER_ARGS = ["--app-name", "basic-auth"]
# How long a process keeps a reader's allowed artifact locations (new versions show up after this).
READER_LOCATIONS_TTL_SECONDS = 10.0
# How long a process answers permission checks from its snapshot of the auth database's users and
# grants: a grant or admin flag changed in another process applies within this.
AUTH_CACHE_TTL_SECONDS = 2.0

_logger = logging.getLogger("mlflow_platform_auth")


def log(message):
    print(f"mlflow-platform-auth: {message}", file=sys.stderr, flush=True)


# --- the users list ---------------------------------------------------------------------------

def parse_users(text):
    """MLFLOW_PLATFORM_USERS -> {name: {"role": ..., "models": [...]}}; refuses anything malformed."""
    try:
        items = json.loads(text)
    except ValueError as e:
        raise SystemExit(f"mlflow-platform-auth: MLFLOW_PLATFORM_USERS is not JSON: {e}") from e
    if not isinstance(items, list):
        raise SystemExit("mlflow-platform-auth: MLFLOW_PLATFORM_USERS must be a JSON list")
    users = {}
    for item in items:
        name = item.get("name") if isinstance(item, dict) else None
        role = item.get("role") if isinstance(item, dict) else None
        if not isinstance(name, str) or not re.fullmatch(NAME_PATTERN, name):
            raise SystemExit(f"mlflow-platform-auth: invalid user name in MLFLOW_PLATFORM_USERS: {name!r}")
        if name in users:
            raise SystemExit(f"mlflow-platform-auth: user {name!r} is listed twice in MLFLOW_PLATFORM_USERS")
        if role not in ROLES:
            raise SystemExit(f"mlflow-platform-auth: user {name!r} has role {role!r}; allowed: {', '.join(ROLES)}")
        models = item.get("models") or []
        if not isinstance(models, list) or not all(isinstance(m, str) and m for m in models):
            raise SystemExit(f"mlflow-platform-auth: user {name!r}: models must be a list of names")
        if models and role != "reader":
            raise SystemExit(f"mlflow-platform-auth: user {name!r}: only readers list models")
        users[name] = {"role": role, "models": list(models)}
    if not any(u["role"] == "admin" for u in users.values()):
        raise SystemExit("mlflow-platform-auth: MLFLOW_PLATFORM_USERS has no admin")
    return users


_process_state = {}
_process_lock = threading.Lock()


def _state():
    """Users and proxy token, read once per process (a changed list comes with a new process)."""
    if "users" not in _process_state:
        with _process_lock:
            if "users" not in _process_state:
                _process_state["token"] = os.environ.get("MLFLOW_PLATFORM_PROXY_TOKEN", "").encode()
                _process_state["users"] = parse_users(os.environ.get("MLFLOW_PLATFORM_USERS", "[]"))
                if not _process_state["token"]:
                    log("MLFLOW_PLATFORM_PROXY_TOKEN is empty: every request is refused")
    return _process_state


# --- per-request fast path: MLflow's permission checks without their repeated reads ------------
#
# MLflow's auth app, per request: reads the user (admin check), loads the whole run to learn its
# experiment, reads the user again and then their grants. What is kept here, per process:
# - run id -> the run's requirement (its experiment): a run never changes experiment; kept forever;
# - the auth database's users and role grants, as one snapshot read in one go and used for at
#   most AUTH_CACHE_TTL_SECONDS after that read began; any write through this process's auth
#   store drops it (a grant made or revoked here applies to the next request, one made by
#   another worker or task within the TTL).
# The identity itself is never kept across requests: the proxy's headers are checked on each.

RUN_REQUIREMENTS_MAX = 100_000
_REQUEST_MEMO = "mlflow_platform_auth.identity"


class Snapshot:
    """`load()`'s result, served for `ttl` seconds counted from before the load began.

    One load at a time (concurrent requests wait for it, a few ms). `invalidate()` (a write in
    this process) drops it, and a load that was in flight during the write is not kept.
    """

    def __init__(self, load, ttl, clock=time.monotonic):
        self.load, self.ttl, self.clock = load, ttl, clock
        self._held, self._generation = None, 0
        self._lock, self._loading = threading.Lock(), threading.Lock()

    def _fresh(self):
        held = self._held
        if held is not None and held[1] == self._generation and self.clock() - held[0] < self.ttl:
            return held
        return None

    def current(self):
        held = self._fresh()
        if held is None:
            with self._loading:
                held = self._fresh()
                if held is None:
                    started, generation = self.clock(), self._generation
                    held = (started, generation, self.load())
                    with self._lock:
                        if generation == self._generation:
                            self._held = held
        return held[2]

    def invalidate(self):
        with self._lock:
            self._generation += 1
            self._held = None


def read_grants_snapshot(store):
    """Every user and every role grant of the auth database, in two statements:
    ({name: (id, name, password_hash, is_admin)}, {(user id, workspace): [RoleGrantRow]}).

    The grant query is MLflow's `list_grants` (sqlalchemy_store.py) for all users at once: role
    permissions joined to roles and to the users' role assignments."""
    from mlflow.server.auth.db.models import SqlRole, SqlRolePermission, SqlUser, SqlUserRoleAssignment
    from mlflow.server.auth.sqlalchemy_store import RoleGrantRow

    with store.ManagedSessionMaker() as session:
        users = {u.username: (u.id, u.username, u.password_hash, u.is_admin) for u in session.query(SqlUser).all()}
        rows = (session.query(SqlUserRoleAssignment.user_id, SqlRole.workspace, SqlRolePermission.resource_type,
                              SqlRolePermission.resource_pattern, SqlRolePermission.permission)
                .join(SqlRole, SqlRole.id == SqlRolePermission.role_id)
                .join(SqlUserRoleAssignment, SqlRole.id == SqlUserRoleAssignment.role_id)
                .all())
    grants = {}
    for user_id, workspace, rtype, pattern, permission in rows:
        grants.setdefault((user_id, workspace), []).append(RoleGrantRow(rtype, pattern, permission))
    return users, grants


# What the auth store's methods that change data start with (create_user, grant_..., delete_role...).
STORE_WRITES = ("create_", "update_", "delete_", "grant_", "revoke_", "rename_", "set_", "add_", "remove_",
                "assign_", "unassign_", "init_db")


def once_per_request(authenticate):
    """The authorization function runs once per request (MLflow calls it about four times):
    its answer is kept in the request's WSGI environ, which no other request shares."""

    @functools.wraps(authenticate)
    def wrapper():
        from flask import request

        environ = request.environ
        if _REQUEST_MEMO not in environ:
            install_fast_path()
            environ[_REQUEST_MEMO] = authenticate()
        return environ[_REQUEST_MEMO]

    return wrapper


def install_fast_path():
    """Once per process: the snapshot and the run memo above, over MLflow's auth app (mlflow.server.auth)."""
    import mlflow.server.auth as auth_app

    store = auth_app.store
    if getattr(store, "platform_fast_path", False):
        return
    with _process_lock:
        if getattr(store, "platform_fast_path", False):
            return
        snapshot = Snapshot(lambda: read_grants_snapshot(store), AUTH_CACHE_TTL_SECONDS)
        _serve_from_snapshot(store, snapshot)
        _invalidate_on_writes(store, snapshot)
        auth_app._run_requirement = _memoized_run_requirement(auth_app._run_requirement)
        store.platform_fast_path = True


def _serve_from_snapshot(store, snapshot):
    """store.get_user and store.list_grants (what every permission check reads) from `snapshot`.

    Answered by user name, and by user id and workspace, exactly as MLflow's queries filter,
    so one user's rows never answer for another. A name the snapshot does not hold (created
    since, or unknown) is read from the database as MLflow would (not found: its error).
    """
    from mlflow.server.auth.entities import User
    from mlflow.server.auth.permissions import RESOURCE_TYPE_WORKSPACE, _validate_resource_type

    get_user = store.get_user

    def snapshot_get_user(username):
        row = snapshot.current()[0].get(username)
        # A new entity each time: MLflow's User is mutable (is_admin has a setter).
        return get_user(username) if row is None else User(*row)

    def snapshot_list_grants(user_id, workspace, resource_types):
        types = set(resource_types)
        for resource_type in types:
            _validate_resource_type(resource_type)
        types.add(RESOURCE_TYPE_WORKSPACE)
        rows = snapshot.current()[1].get((user_id, workspace), ())
        return [row for row in rows if row.resource_type in types]

    store.get_user, store.list_grants = snapshot_get_user, snapshot_list_grants


def _invalidate_on_writes(store, snapshot):
    for name in dir(type(store)):
        if not name.startswith(STORE_WRITES) or not callable(getattr(store, name)):
            continue

        def write(*args, _method=getattr(store, name), **kwargs):
            try:
                return _method(*args, **kwargs)
            finally:
                snapshot.invalidate()

        setattr(store, name, write)


def _memoized_run_requirement(run_requirement):
    """MLflow's `_run_requirement(run_id, action)` (the run's experiment and what the action needs
    there), computed once per run and action: it loads the whole run (tags, params, metrics,
    inputs) only to learn the experiment, which never changes. A run that does not exist is not
    remembered (MLflow denies it). Callers append to the requirement list: each gets a copy."""
    memo = {}

    @functools.wraps(run_requirement)
    def cached(run_id, action):
        hit = memo.get((run_id, action))
        if hit is None:
            hit = run_requirement(run_id, action)
            if hit is None:
                return None
            if len(memo) >= RUN_REQUIREMENTS_MAX:
                memo.clear()
            memo[(run_id, action)] = hit
        return hit[0], list(hit[1])

    return cached


# --- authorization function -------------------------------------------------------------------

def _response(status, message, error_code=None):
    from flask import Response

    code = error_code or ("UNAUTHENTICATED" if status == 401 else "PERMISSION_DENIED")
    return Response(json.dumps({"error_code": code, "message": message}), status=status, mimetype="application/json")


@once_per_request
def authenticate_proxied():
    """MLflow's authorization function: the user the proxy asserts, or 401/403.

    401 unless the request carries the proxy's token (compared in constant time) and names a
    configured user. 403 for viewers and readers on routes that create experiments, models,
    prompts, gateway resources or MCP servers (with default_permission NO_PERMISSIONS and
    workspaces off, MLflow lets every user create). Runs record this user, whatever the
    client sent (see _stamp_user).
    """
    from flask import request
    from werkzeug.datastructures import Authorization

    state = _state()
    sent = request.headers.get(TOKEN_HEADER, "").encode()
    if not state["token"] or not hmac.compare_digest(sent, state["token"]):
        return _response(401, "Not authenticated by the platform's proxy.")
    name = request.headers.get(USER_HEADER, "")
    if name == METRICS_SCRAPER:
        if request.path != METRICS_PATH:
            return _response(401, "Unknown user.")
        return Authorization("basic", {"username": name, "password": ""})
    user = state["users"].get(name)
    if user is None:
        return _response(401, "Unknown user.")
    if user["role"] in ("viewer", "reader") and _creates(request):
        return _response(403, f"Permission denied: the {user['role']} role cannot create resources.")
    if user["role"] == "reader" and _reader_artifact_allowed(request, user["models"]):
        name = ARTIFACT_READER
    elif user["role"] == "reader" and (missing := _readers_missing_model(request, user["models"])):
        # MLflow's auth app answers 403 for a model that does not exist; the model server explains a 404.
        return _response(404, f"Registered Model with name={missing} not found", "RESOURCE_DOES_NOT_EXIST")
    else:
        _stamp_user(request, name)
    return Authorization("basic", {"username": name, "password": ""})


_routes = {}


def _route_table():
    """(path, method) -> request class name for MLflow's tracking and registry REST routes."""
    if not _routes:
        from mlflow.protos.model_registry_pb2 import ModelRegistryService
        from mlflow.protos.service_pb2 import MlflowService
        from mlflow.server.handlers import get_service_endpoints

        table = {}
        for service in (MlflowService, ModelRegistryService):
            for path, request_class, methods in get_service_endpoints(service, lambda c: c):
                for method in methods:
                    table[(path, method)] = request_class.__name__
        _routes.update(table)
    return _routes


# Creating one of these makes the creator its owner (MANAGE): editors and admins only.
CREATE_REQUESTS = frozenset({
    "CreateExperiment", "CreateRegisteredModel",  # a prompt is a registered model
    "CreateGatewaySecret", "CreateGatewayModelDefinition", "CreateGatewayEndpoint", "CreateWorkspace",
})


def _creates(request):
    if _route_table().get((request.path, request.method)) in CREATE_REQUESTS:
        return True
    from mlflow.server.mcp_server_api import is_mcp_server_api_path

    # Creating an MCP server or version is a POST under its API; viewers only read it.
    return request.method == "POST" and is_mcp_server_api_path(request.path)


def _stamp_user(request, name):
    """The run's user_id and mlflow.user tag become the authenticated user.

    Done on the parsed JSON body that Flask caches for the request (the handler's own
    `get_json` returns the same object), before any handler reads it.
    """
    kind = _route_table().get((request.path, request.method))
    if kind not in ("CreateRun", "SetTag", "LogBatch"):
        return
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        return
    if kind == "CreateRun":
        body["user_id"] = name
        tags = [t for t in body.get("tags") or [] if not (isinstance(t, dict) and t.get("key") == "mlflow.user")]
        body["tags"] = tags + [{"key": "mlflow.user", "value": name}]
    elif kind == "SetTag" and body.get("key") == "mlflow.user":
        body["value"] = name
    elif kind == "LogBatch":
        for tag in body.get("tags") or []:
            if isinstance(tag, dict) and tag.get("key") == "mlflow.user":
                tag["value"] = name


# --- readers: artifacts of their own model's versions -----------------------------------------

_reader_locations = {}


def _artifact_request_path(request):
    """The artifact path of a GET on MLflow's artifact proxy (download or list), else None."""
    if request.method != "GET":
        return None
    prefix = os.environ.get("_MLFLOW_STATIC_PREFIX", "").rstrip("/") + "/api/2.0/mlflow-artifacts/artifacts"
    if request.path == prefix:
        return request.args.get("path", "")
    if request.path.startswith(prefix + "/"):
        return request.path[len(prefix) + 1:]
    return None


def _model_locations(model):
    """Artifact-proxy paths of every version of `model` (mlflow-artifacts:/<path>)."""
    from mlflow.server.handlers import _get_model_registry_store

    registry = _get_model_registry_store()
    escaped = model.replace("'", "\\'")
    locations, token = [], None
    while True:
        page = registry.search_model_versions(filter_string=f"name = '{escaped}'", max_results=1000, page_token=token)
        for version in page:
            uri = registry.get_model_version_download_uri(model, version.version)
            if uri and uri.startswith("mlflow-artifacts:"):
                locations.append(urlsplit(uri).path.strip("/"))
        token = page.token
        if not token:
            return locations


def _readers_missing_model(request, models):
    """The name of the reader's own model that a registry GET asks for when it does not exist yet."""
    if _route_table().get((request.path, request.method)) not in ("GetRegisteredModel", "GetModelVersionByAlias"):
        return None
    model = request.args.get("name")
    if model not in models:
        return None
    from mlflow.exceptions import MlflowException
    from mlflow.server.handlers import _get_model_registry_store

    try:
        _get_model_registry_store().get_registered_model(model)
    except MlflowException as e:
        if e.error_code == "RESOURCE_DOES_NOT_EXIST":
            return model
        raise
    return None


def _reader_artifact_allowed(request, models):
    """True for a reader's GET of an artifact inside one of its models' versions.

    MLflow's artifact proxy checks READ on the experiment, which a reader must not have; a
    request that passes this check is made as ARTIFACT_READER (READ on experiments, nothing
    else, no login), any other artifact request keeps the reader's identity and gets 403.
    """
    path = _artifact_request_path(request)
    if path is None:
        return False
    from mlflow.utils.uri import validate_path_is_safe

    try:
        path = validate_path_is_safe(path).strip("/")
    except Exception:  # noqa: BLE001 - an unsafe path is simply not one of the model's
        return False
    now = time.monotonic()
    for model in models:
        cached = _reader_locations.get(model)
        if cached is None or now - cached[0] > READER_LOCATIONS_TTL_SECONDS:
            cached = (now, _model_locations(model))
            _reader_locations[model] = cached
        if any(loc and (path == loc or path.startswith(loc + "/")) for loc in cached[1]):
            return True
    return False


# --- sync: the auth database follows the users list -------------------------------------------

def _ensure_role(store, name, workspace, resource_types=ROLE_READ_TYPES):
    from mlflow.exceptions import MlflowException

    try:
        role = store.get_role_by_name(workspace, name)
    except MlflowException:
        role = store.create_role(name, workspace, description="Managed by the platform (stack config `users`)")
    held = {(p.resource_type, p.resource_pattern): p for p in store.list_role_permissions(role.id)}
    for resource_type in resource_types:
        grant = held.get((resource_type, "*"))
        if grant is None:
            store.add_role_permission(role.id, resource_type, "*", "READ")
        elif grant.permission != "READ":
            store.update_role_permission(grant.id, "READ")
    return role


def _desired(users):
    out = {name: dict(u, admin=u["role"] == "admin") for name, u in users.items()}
    if any(u["role"] == "reader" for u in users.values()):
        out[ARTIFACT_READER] = {"role": "artifact-reader", "models": [], "admin": False}
    out[METRICS_SCRAPER] = {"role": "metrics", "models": [], "admin": True}
    return out


def _apply(store, users, workspace):
    """Creates, updates and deletes users; returns (created, deleted) names."""
    from mlflow.exceptions import MlflowException

    role_ids = {"editor": _ensure_role(store, EDITOR_ROLE, workspace).id,
                "viewer": _ensure_role(store, VIEWER_ROLE, workspace).id}
    if any(u["role"] == "reader" for u in users.values()):
        role_ids["artifact-reader"] = _ensure_role(store, "platform-artifact-reader", workspace, ("experiment",)).id
    desired = _desired(users)
    existing = {user.username: (user, {r.id for r in roles}) for user, roles in store.list_users_with_roles()}
    created, deleted = [], []
    for name, want in desired.items():
        if name not in existing:
            # A random password nobody knows: the proxy verifies logins, MLflow never sees one.
            store.create_user(name, secrets.token_urlsafe(32), is_admin=want["admin"])
            created.append(name)
            user, member_of = store.get_user(name), set()
        else:
            user, member_of = existing[name]
            if user.is_admin != want["admin"]:
                store.update_user(name, is_admin=want["admin"])
        for role, role_id in role_ids.items():
            if role == want["role"] and role_id not in member_of:
                store.assign_role_to_user(user.id, role_id)
            elif role != want["role"] and role_id in member_of:
                store.unassign_role_from_user(user.id, role_id)
        for model in want["models"]:
            try:
                store.grant_user_resource_permission(name, "registered_model", model, "READ")
            except MlflowException as e:
                if e.error_code != "RESOURCE_ALREADY_EXISTS":
                    raise
    for name in existing:
        if name not in desired:
            # Their per-resource grants go with them (MLflow deletes the user's grants).
            store.delete_user(name)
            deleted.append(name)
    return created, deleted


def create_initial_schema_on_mysql(engine):
    """The auth app's first migration, with foreign key names MySQL and MariaDB accept.

    MLflow's initial auth migration names the foreign keys of two tables `fk_user_id`, and
    constraint names are unique per database on MySQL/MariaDB, so it fails there
    (mlflow/mlflow#9642, errno 121). These are the same tables with distinct names; MLflow
    then finds a database without its version table, stamps that first revision and runs
    every later migration itself. Only on an auth database MLflow has not versioned yet.
    """
    import sqlalchemy as sa

    if engine.dialect.name != "mysql" or "alembic_version_auth" in sa.inspect(engine).get_table_names():
        return False
    meta = sa.MetaData()
    sa.Table("users", meta,
             sa.Column("id", sa.Integer(), nullable=False, primary_key=True),
             sa.Column("username", sa.String(length=255), nullable=True),
             sa.Column("password_hash", sa.String(length=255), nullable=True),
             sa.Column("is_admin", sa.Boolean(), nullable=True),
             sa.UniqueConstraint("username"))
    sa.Table("experiment_permissions", meta,
             sa.Column("id", sa.Integer(), nullable=False, primary_key=True),
             sa.Column("experiment_id", sa.String(length=255), nullable=False),
             sa.Column("user_id", sa.Integer(), nullable=False),
             sa.Column("permission", sa.String(length=255), nullable=True),
             sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_user_id"),
             sa.UniqueConstraint("experiment_id", "user_id", name="unique_experiment_user"))
    sa.Table("registered_model_permissions", meta,
             sa.Column("id", sa.Integer(), nullable=False, primary_key=True),
             sa.Column("name", sa.String(length=255), nullable=False),
             sa.Column("user_id", sa.Integer(), nullable=False),
             sa.Column("permission", sa.String(length=255), nullable=True),
             sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_registered_model_perm_user_id"),
             sa.UniqueConstraint("name", "user_id", name="unique_name_user"))
    meta.create_all(engine, checkfirst=True)
    return True


def sync_users(auth_db_uri, users, lock_timeout_seconds=1800.0):
    """Brings the auth database to the users list, idempotently, one server at a time.

    Migrates the auth app's schema (MLflow's own store), keeps the platform roles, creates
    missing users with a never-disclosed random password, sets admin flags, role
    membership and reader grants, and deletes users that are no longer listed. Grants made
    in MLflow by its users are left alone, except that a deleted user's grants go too.
    """
    import sqlalchemy
    from sqlalchemy.pool import NullPool

    from entrypoint import schema_upgrade_lock
    from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore
    from mlflow.utils.workspace_utils import DEFAULT_WORKSPACE_NAME

    lock_engine = sqlalchemy.create_engine(auth_db_uri, poolclass=NullPool)
    store = SqlAlchemyStore()
    try:
        with schema_upgrade_lock(lock_engine, lock_timeout_seconds):
            create_initial_schema_on_mysql(lock_engine)
            store.init_db(auth_db_uri)
            created, deleted = _apply(store, users, DEFAULT_WORKSPACE_NAME)
    finally:
        lock_engine.dispose()
        if getattr(store, "engine", None) is not None:
            store.engine.dispose()
    log(f"{len(users)} users in the auth database; created {sorted(created) or 'none'}, removed {sorted(deleted) or 'none'}")
    return created, deleted


# --- entrypoint -------------------------------------------------------------------------------

def write_config(ini_text, auth_db_uri, directory=None):
    """The auth app's ini plus `database_uri`, in a new file only this user can read."""
    import configparser

    config = configparser.ConfigParser(interpolation=None)
    config.read_string(ini_text)
    if "database_uri" in config["mlflow"]:
        raise SystemExit("mlflow-platform-auth: MLFLOW_PLATFORM_AUTH_INI must not carry database_uri")
    # MLflow reads the file with ConfigParser's default interpolation: a URL-encoded '%' is '%%'.
    config["mlflow"]["database_uri"] = auth_db_uri.replace("%", "%%")
    fd, path = tempfile.mkstemp(prefix="mlflow-auth-", suffix=".ini", dir=directory)  # mode 0600
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        config.write(fh)
    return path


# MLFLOW_PLATFORM_AUTH_DB's value on a project's server (components/trackingServer/auth.ts).
AUTH_IN_BACKEND_STORE = "backend-store"


def auth_database_uri(env):
    """Where the auth app keeps its tables: its own database (the server at /), or the server's
    own backend store (a project's: experiment ids and model names are per project database, and
    the grants on them belong beside them). The URI leaves the environment either way only when
    it is the auth database's own secret; the backend store URI is MLflow's anyway."""
    where = env.get("MLFLOW_PLATFORM_AUTH_DB", "")
    if where == AUTH_IN_BACKEND_STORE:
        if env.get("MLFLOW_PLATFORM_AUTH_DB_URI"):
            raise SystemExit("mlflow-platform-auth: MLFLOW_PLATFORM_AUTH_DB is backend-store, so MLFLOW_PLATFORM_AUTH_DB_URI must be unset")
        uri = env.get("MLFLOW_BACKEND_STORE_URI", "")
        if not uri:
            raise SystemExit("mlflow-platform-auth: MLFLOW_PLATFORM_AUTH_DB is backend-store but MLFLOW_BACKEND_STORE_URI is empty")
        return uri
    if where:
        raise SystemExit(f"mlflow-platform-auth: MLFLOW_PLATFORM_AUTH_DB must be unset or {AUTH_IN_BACKEND_STORE}, got {where!r}")
    uri = env.pop("MLFLOW_PLATFORM_AUTH_DB_URI", "")
    if not uri:
        raise SystemExit("mlflow-platform-auth: MLFLOW_PLATFORM_AUTH_INI is set but MLFLOW_PLATFORM_AUTH_DB_URI is empty")
    return uri


def prepare(env):
    """Before `mlflow server`: write the ini, point MLflow at it, sync the users; returns the extra server args.

    The auth database URI leaves the environment: MLflow reads it from the file. The proxy
    token stays (every worker checks it).
    """
    ini = env.get("MLFLOW_PLATFORM_AUTH_INI")
    if not ini:
        return []
    uri = auth_database_uri(env)
    if not env.get("MLFLOW_PLATFORM_PROXY_TOKEN"):
        raise SystemExit("mlflow-platform-auth: MLFLOW_PLATFORM_PROXY_TOKEN is empty")
    users = parse_users(env.get("MLFLOW_PLATFORM_USERS", ""))
    # Before the sync: it imports mlflow.server.auth, which reads its config once, at import, and
    # `mlflow server` then runs in this same process (entrypoint.become_mlflow_server).
    env["MLFLOW_AUTH_CONFIG_PATH"] = write_config(ini, uri)
    sync_users(uri, users, float(env.get("MLFLOW_DB_UPGRADE_LOCK_SECONDS", "1800")))
    return list(SERVER_ARGS)
