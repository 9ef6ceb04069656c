"""Team accounts through the rendered proxy, on the suite's shared MLflow and nginx.

The spec is rendered with users alice (editor) and bob (viewer) beside the username key's login
(an admin). nginx verifies each password and tells MLflow the user with the shared token;
MLflow's auth app (images/tracking-server/mlflow_platform_auth.py) applies MLflow's own
permission model. Everything goes through the proxy with the MLflow client and the REST API,
except the checks that MLflow itself refuses a request that did not come from the proxy.
"""
import json
import secrets
import shutil
import time
from contextlib import contextmanager

import pytest
import requests

from conftest import (AUTH_DB_URI, BACKEND, OUT, RUN_SUFFIX, SPEC_FILE, MlflowServer, Nginx, Redacted, auth_db_uri, env_dict,
                      free_port, require)

EDITOR, VIEWER = "alice", "bob"
TOKEN_HEADER, USER_HEADER = "X-Mlflow-Platform-Token", "X-Mlflow-Platform-User"


@pytest.fixture(scope="module")
def accounts(spec, mlflow_server):
    env = env_dict(spec["by_role"]["tracking-server"])
    require(AUTH_DB_URI in env, "the spec has no team accounts (users config)")
    users = {u["name"]: u["role"] for u in json.loads(env["MLFLOW_PLATFORM_USERS"])}
    assert users[EDITOR] == "editor" and users[VIEWER] == "viewer" and users[spec["clientUser"]] == "admin", users
    return Redacted({name: (name, spec["users"][name]["password"]) for name in (EDITOR, VIEWER)})


def client(proxy, auth, monkeypatch):
    """An MLflow client that logs in as `auth` (the client reads credentials from the environment)."""
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", auth[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", auth[1])
    return mlflow.MlflowClient(proxy.url)


def api(proxy, auth, method, path, **kw):
    return requests.request(method, f"{proxy.url}{path}", auth=auth, timeout=60, **kw)


@pytest.fixture(scope="module")
def alices(proxy, accounts):
    """alice's experiment, a run in it and a registered model with a version aliased `champion`, made over REST as alice."""
    alice = accounts[EDITOR]
    name = f"alice-{BACKEND}-{RUN_SUFFIX}"
    r = api(proxy, alice, "POST", "/api/2.0/mlflow/experiments/create", json={"name": name})
    assert r.status_code == 200, r.text
    exp = r.json()["experiment_id"]
    run = api(proxy, alice, "POST", "/api/2.0/mlflow/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
    model = f"alice-model-{RUN_SUFFIX}"
    assert api(proxy, alice, "POST", "/api/2.0/mlflow/registered-models/create", json={"name": model}).status_code == 200
    r = api(proxy, alice, "POST", "/api/2.0/mlflow/model-versions/create",
            json={"name": model, "source": f"mlflow-artifacts:/{exp}/{run}/artifacts/model", "run_id": run})
    assert r.status_code == 200, r.text
    r = api(proxy, alice, "POST", "/api/2.0/mlflow/registered-models/alias", json={"name": model, "alias": "champion", "version": "1"})
    assert r.status_code == 200, r.text
    return {"experiment": exp, "run": run, "model": model, "name": name}


def test_a_viewer_reads_everything_and_writes_nothing(proxy, accounts, alices, tracking):
    bob = accounts[VIEWER]
    exp, run, model = alices["experiment"], alices["run"], alices["model"]
    reads = [("GET", "/api/2.0/mlflow/experiments/get", {"params": {"experiment_id": exp}}),
             ("GET", "/api/2.0/mlflow/runs/get", {"params": {"run_id": run}}),
             ("GET", "/api/2.0/mlflow/registered-models/get", {"params": {"name": model}}),
             ("GET", "/api/2.0/mlflow/registered-models/alias", {"params": {"name": model, "alias": "champion"}})]
    for method, path, kw in reads:
        r = api(proxy, bob, method, path, **kw)
        assert r.status_code == 200, (path, r.status_code, r.text[:200])
    assert alices["name"] in [e["name"] for e in api(proxy, bob, "GET", "/api/2.0/mlflow/experiments/search",
                                                       params={"max_results": 1000}).json()["experiments"]]
    writes = [("POST", "/api/2.0/mlflow/runs/log-metric", {"run_id": run, "key": "m", "value": 1, "timestamp": 0}),
              ("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": exp}),
              ("POST", "/api/2.0/mlflow/experiments/update", {"experiment_id": exp, "new_name": "taken-over"}),
              ("POST", "/api/2.0/mlflow/registered-models/alias", {"name": model, "alias": "champion", "version": "1"}),
              ("DELETE", "/api/2.0/mlflow/registered-models/alias", {"name": model, "alias": "champion"}),
              ("DELETE", "/api/2.0/mlflow/registered-models/delete", {"name": model}),
              ("POST", "/api/2.0/mlflow/experiments/delete", {"experiment_id": exp}),
              ("POST", "/api/2.0/mlflow/runs/delete", {"run_id": run}),
              ("POST", "/api/2.0/mlflow/experiments/create", {"name": f"bobs-{RUN_SUFFIX}"}),
              ("POST", "/api/2.0/mlflow/registered-models/create", {"name": f"bobs-{RUN_SUFFIX}"})]
    for method, path, body in writes:
        r = api(proxy, bob, method, path, json=body)
        assert r.status_code == 403, (path, r.status_code, r.text[:200])
    # Nothing changed: the admin sees alice's experiment, model and alias as they were.
    assert tracking.get_experiment(exp).lifecycle_stage == "active"
    assert tracking.get_model_version_by_alias(model, "champion").version == "1"
    assert tracking.get_experiment_by_name(f"bobs-{RUN_SUFFIX}") is None


def test_an_editor_cannot_touch_what_others_own(proxy, accounts, experiment):
    """alice reads the admin's experiment (role READ) but may not write or delete in it."""
    alice = accounts[EDITOR]
    assert api(proxy, alice, "GET", "/api/2.0/mlflow/experiments/get", params={"experiment_id": experiment["id"]}).status_code == 200
    assert api(proxy, alice, "POST", "/api/2.0/mlflow/runs/create", json={"experiment_id": experiment["id"]}).status_code == 403
    assert api(proxy, alice, "POST", "/api/2.0/mlflow/experiments/delete", json={"experiment_id": experiment["id"]}).status_code == 403


def test_an_owner_grants_edit_and_the_grantee_writes_there_only(proxy, accounts, alices, experiment, monkeypatch):
    from mlflow.server import get_app_client

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", accounts[EDITOR][0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", accounts[EDITOR][1])
    # MLflow's own permissions API (the auth app's client), as alice, the experiment's owner (MANAGE).
    get_app_client("basic-auth", tracking_uri=proxy.url).grant_user_permission(VIEWER, "experiment", alices["experiment"], "EDIT")
    bob = client(proxy, accounts[VIEWER], monkeypatch)
    run = bob.create_run(alices["experiment"], run_name="bob-was-here")
    bob.log_metric(run.info.run_id, "loss", 0.5)
    assert run.info.user_id == VIEWER
    # Nowhere else: not the admin's experiment, and EDIT is not MANAGE (no delete).
    assert api(proxy, accounts[VIEWER], "POST", "/api/2.0/mlflow/runs/create", json={"experiment_id": experiment["id"]}).status_code == 403
    assert api(proxy, accounts[VIEWER], "POST", "/api/2.0/mlflow/experiments/delete",
               json={"experiment_id": alices["experiment"]}).status_code == 403


def test_grants_survive_a_restart_and_a_render_with_fresh_secrets(proxy, accounts, alices, experiment, mlflow_server, spec):
    """The grant is data in the auth database: a restarted server keeps it, and so does the same
    config rendered from fresh Pulumi state (spec-day2.json: new passwords, proxy token, Flask key
    and auth database password; its init reconciles the kept database as `pulumi up` does)."""
    bob1 = accounts[VIEWER]
    body = {"experiment_id": alices["experiment"]}
    mlflow_server.proc.stop()
    mlflow_server.start()
    assert api(proxy, bob1, "POST", "/api/2.0/mlflow/runs/create", json=body).status_code == 200

    day2 = json.loads((OUT / "spec-day2.json").read_text())
    env1 = env_dict(spec["by_role"]["tracking-server"])
    env2 = env_dict(next(c for c in day2["containers"] if c["role"] == "tracking-server"))
    for key in ("MLFLOW_PLATFORM_PROXY_TOKEN", "MLFLOW_FLASK_SERVER_SECRET_KEY", AUTH_DB_URI):
        assert env1[key] != env2[key], f"{key} is the same in both renders"
    bob2 = (VIEWER, day2["users"][VIEWER]["password"])
    assert bob2[1] != bob1[1]
    with redeployed(mlflow_server, day2, "day2") as (_server2, nginx2):
        assert api(nginx2, bob2, "POST", "/api/2.0/mlflow/runs/create", json=body).status_code == 200
        assert api(nginx2, bob2, "POST", "/api/2.0/mlflow/runs/create", json={"experiment_id": experiment["id"]}).status_code == 403
        assert api(nginx2, bob1, "GET", "/api/2.0/mlflow/experiments/search", params={"max_results": 1}).status_code == 401


@contextmanager
def redeployed(mlflow_server, render, label):
    """MLflow and nginx of another render of this deployment, on the same databases: its accounts,
    proxy token, Flask key and auth database password (its init reconciles the kept database)."""
    env2 = env_dict(next(c for c in render["containers"] if c["role"] == "tracking-server"))
    server = nginx = None
    try:
        keys = ("MLFLOW_PLATFORM_PROXY_TOKEN", "MLFLOW_FLASK_SERVER_SECRET_KEY", "MLFLOW_PLATFORM_USERS", "MLFLOW_PLATFORM_AUTH_INI")
        env = {**mlflow_server.env, **{k: env2[k] for k in keys}, AUTH_DB_URI: auth_db_uri(Redacted(render), "main"),
               "MLFLOW_PORT": str(free_port())}
        server = MlflowServer(env, name=f"mlflow-accounts-{label}").start()
        nginx = Nginx(Redacted({**render, "by_role": {c["role"]: c for c in render["containers"]}}), server.port,
                      name=f"nginx-accounts-{label}").start()
        yield server, nginx
    finally:
        for p in (nginx, server):
            if p is not None:
                p.proc.stop()
        auth_db_uri(json.loads(SPEC_FILE.read_text()), "main")  # day one's password again, for the suite's server


def test_a_run_records_the_authenticated_user_not_the_claimed_one(proxy, accounts, alices, spec, monkeypatch):
    alice = accounts[EDITOR]
    claimed = spec["clientUser"]
    r = api(proxy, alice, "POST", "/api/2.0/mlflow/runs/create",
            json={"experiment_id": alices["experiment"], "user_id": claimed, "tags": [{"key": "mlflow.user", "value": claimed}]})
    assert r.status_code == 200, r.text
    info = r.json()["run"]
    assert info["info"]["user_id"] == EDITOR
    assert {t["key"]: t["value"] for t in info["data"]["tags"]}["mlflow.user"] == EDITOR
    # The MLflow client sends the machine's login name (here: whoever runs the suite): replaced too.
    import mlflow

    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", alice[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", alice[1])
    monkeypatch.setenv("LOGNAME", claimed)
    monkeypatch.setenv("USER", claimed)
    mlflow.set_tracking_uri(proxy.url)
    with mlflow.start_run(experiment_id=alices["experiment"]) as run:
        pass
    got = mlflow.MlflowClient(proxy.url).get_run(run.info.run_id)
    assert (got.info.user_id, got.data.tags["mlflow.user"]) == (EDITOR, EDITOR)


def test_client_sent_identity_headers_are_ignored(proxy, accounts, spec):
    """bob claims to be the admin with a forged token: nginx replaces both headers, MLflow sees bob."""
    forged = {USER_HEADER: spec["clientUser"], TOKEN_HEADER: secrets.token_hex(24)}
    r = api(proxy, accounts[VIEWER], "GET", "/ajax-api/2.0/mlflow/users/current", headers=forged)
    assert r.status_code == 200 and r.json()["user"]["username"] == VIEWER, r.text
    r = api(proxy, accounts[VIEWER], "POST", "/api/2.0/mlflow/experiments/create", json={"name": f"forged-{RUN_SUFFIX}"}, headers=forged)
    assert r.status_code == 403
    # Without a login the headers get nowhere.
    r = requests.get(f"{proxy.url}/api/2.0/mlflow/experiments/search", params={"max_results": 1}, headers=forged, timeout=30)
    assert r.status_code == 401


def test_mlflow_refuses_requests_that_did_not_come_through_the_proxy(mlflow_server, accounts, spec):
    """Straight to MLflow (a neighbour on the Docker network): no token, a wrong one, an unknown user -> 401."""
    url = f"{mlflow_server.url}/api/2.0/mlflow/experiments/search"
    token = mlflow_server.env["MLFLOW_PLATFORM_PROXY_TOKEN"]
    cases = [{USER_HEADER: spec["clientUser"]},
             {USER_HEADER: spec["clientUser"], TOKEN_HEADER: secrets.token_hex(24)},
             {USER_HEADER: "mallory", TOKEN_HEADER: token}]
    for headers in cases:
        assert requests.get(url, params={"max_results": 1}, headers=headers, timeout=30).status_code == 401
    assert requests.get(url, params={"max_results": 1}, headers={USER_HEADER: VIEWER, TOKEN_HEADER: token}, timeout=30).status_code == 200


def test_the_ui_logs_in_as_the_viewer_and_shows_what_the_viewer_may_see(proxy, accounts, alices, monkeypatch):
    """alice denies bob one experiment (MLflow's DENY grant): bob's experiment list shows hers but not that one."""
    from browser import render_page
    from mlflow.server import get_app_client

    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    require(binary, "chromium (apt-get install chromium)")
    private = f"alice-private-{BACKEND}-{RUN_SUFFIX}"
    r = api(proxy, accounts[EDITOR], "POST", "/api/2.0/mlflow/experiments/create", json={"name": private})
    assert r.status_code == 200, r.text
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", accounts[EDITOR][0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", accounts[EDITOR][1])
    get_app_client("basic-auth", tracking_uri=proxy.url).grant_user_permission(VIEWER, "experiment", r.json()["experiment_id"], "DENY")
    shot = OUT / "ui-accounts-bob.png"
    text, _html = render_page(binary, f"{proxy.url}/#/experiments", *accounts[VIEWER], shot, OUT / "chromium.log",
                              wait_for_text=[alices["name"]], timeout=90)
    (OUT / "ui-accounts-bob.txt").write_text(text)
    assert alices["name"] in text, "the experiment bob may read is not listed"
    assert VIEWER in text, "the UI does not show who is logged in"
    assert private not in text, "the UI lists an experiment bob is denied"
    # The same list for alice has both: the difference is bob's permissions, not the page.
    text, _html = render_page(binary, f"{proxy.url}/#/experiments", *accounts[EDITOR], OUT / "ui-accounts-alice.png",
                              OUT / "chromium.log", wait_for_text=[alices["name"], private], timeout=90)
    assert private in text


def test_a_grant_revoked_elsewhere_stops_working_within_the_stated_bound(proxy, accounts, auth_database, monkeypatch):
    """MLflow's worker keeps a user's grants for AUTH_CACHE_TTL_SECONDS: a grant revoked by another
    worker or task (here: MLflow's auth store in this process, on the same database) stops
    working for every request that starts that long after the revocation, and so does one
    revoked with MLflow's permissions API."""
    from mlflow.server import get_app_client
    from mlflow.server.auth.sqlalchemy_store import SqlAlchemyStore
    from mlflow_platform_auth import AUTH_CACHE_TTL_SECONDS

    alice, bob = accounts[EDITOR], accounts[VIEWER]
    r = api(proxy, alice, "POST", "/api/2.0/mlflow/experiments/create", json={"name": f"alice-revoked-{BACKEND}-{RUN_SUFFIX}"})
    assert r.status_code == 200, r.text
    exp, body = r.json()["experiment_id"], {"experiment_id": r.json()["experiment_id"]}
    monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", alice[0])
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", alice[1])
    owner = get_app_client("basic-auth", tracking_uri=proxy.url)
    owner.grant_user_permission(VIEWER, "experiment", exp, "EDIT")
    assert api(proxy, bob, "POST", "/api/2.0/mlflow/runs/create", json=body).status_code == 200  # his grants are now cached

    elsewhere = SqlAlchemyStore()
    elsewhere.init_db(auth_database)
    try:
        elsewhere.revoke_user_resource_permission(VIEWER, "experiment", exp)
    finally:
        elsewhere.engine.dispose()
    time.sleep(AUTH_CACHE_TTL_SECONDS)
    assert api(proxy, bob, "POST", "/api/2.0/mlflow/runs/create", json=body).status_code == 403

    owner.grant_user_permission(VIEWER, "experiment", exp, "EDIT")
    assert api(proxy, bob, "POST", "/api/2.0/mlflow/runs/create", json=body).status_code == 200
    owner.revoke_user_permission(VIEWER, "experiment", exp)
    time.sleep(AUTH_CACHE_TTL_SECONDS)
    assert api(proxy, bob, "POST", "/api/2.0/mlflow/runs/create", json=body).status_code == 403


def test_the_permission_cache_never_answers_for_another_user(proxy, mlflow_server, accounts, credentials):
    """Within the cache's lifetime the admin, alice and bob take turns, through the proxy and on one
    keep-alive connection straight to MLflow (the same worker): each gets their own answer each time."""
    alice, bob, admin = accounts[EDITOR], accounts[VIEWER], tuple(credentials)
    exp = api(proxy, alice, "POST", "/api/2.0/mlflow/experiments/create", json={"name": f"alice-turns-{BACKEND}-{RUN_SUFFIX}"}).json()["experiment_id"]
    run = api(proxy, alice, "POST", "/api/2.0/mlflow/runs/create", json={"experiment_id": exp}).json()["run"]["info"]["run_id"]
    metric = {"run_id": run, "key": "m", "value": 1.0, "timestamp": 0}
    token = mlflow_server.env["MLFLOW_PLATFORM_PROXY_TOKEN"]
    direct = requests.Session()

    def as_user(auth, method, path, **kw):
        via_proxy = api(proxy, auth, method, path, **kw)
        headers = {USER_HEADER: auth[0], TOKEN_HEADER: token}
        straight = direct.request(method, f"{mlflow_server.url}{path}", headers=headers, timeout=60, **kw)
        return via_proxy, straight

    turns = [(admin, "GET", "/api/2.0/mlflow/users/get", {"params": {"username": EDITOR}}, 200),
             (bob, "GET", "/api/2.0/mlflow/users/get", {"params": {"username": EDITOR}}, 403),
             (alice, "POST", "/api/2.0/mlflow/runs/log-metric", {"json": metric}, 200),
             (bob, "POST", "/api/2.0/mlflow/runs/log-metric", {"json": metric}, 403),
             (bob, "GET", "/api/2.0/mlflow/runs/get", {"params": {"run_id": run}}, 200),
             (alice, "POST", "/api/2.0/mlflow/runs/log-metric", {"json": metric}, 200),
             (admin, "POST", "/api/2.0/mlflow/runs/log-metric", {"json": metric}, 200),
             (bob, "POST", "/api/2.0/mlflow/runs/log-metric", {"json": metric}, 403)]
    for _round in range(3):
        for auth, method, path, kw, expected in turns:
            for answer in as_user(auth, method, path, **kw):
                assert answer.status_code == expected, (auth[0], path, answer.status_code, answer.text[:200])
        for auth in (admin, alice, bob):
            for answer in as_user(auth, "GET", "/ajax-api/2.0/mlflow/users/current"):
                assert answer.json()["user"]["username"] == auth[0]


def test_a_removed_user_gets_401_everywhere(proxy, accounts, alices, mlflow_server):
    """`users` without bob (spec-removed.json): the new proxy refuses his login at once; MLflow's sync at
    start deletes him and his grants, and MLflow refuses him even with the proxy's token. Last in
    this file: the suite's server keeps bob in its list, but his MLflow account is gone."""
    removed = json.loads((OUT / "spec-removed.json").read_text())
    assert VIEWER not in removed["users"] and EDITOR in removed["users"]
    alice = (EDITOR, removed["users"][EDITOR]["password"])
    with redeployed(mlflow_server, removed, "removed") as (server, nginx):
        for method, path, kw in (("GET", "/api/2.0/mlflow/experiments/search", {"params": {"max_results": 1}}),
                                 ("GET", "/ajax-api/2.0/mlflow/users/current", {}), ("GET", "/", {}),
                                 ("POST", "/api/2.0/mlflow/runs/create", {"json": {"experiment_id": alices["experiment"]}})):
            assert api(nginx, accounts[VIEWER], method, path, **kw).status_code == 401, path
        token = server.env["MLFLOW_PLATFORM_PROXY_TOKEN"]
        r = requests.get(f"{server.url}/api/2.0/mlflow/experiments/search", params={"max_results": 1},
                         headers={USER_HEADER: VIEWER, TOKEN_HEADER: token}, timeout=30)
        assert r.status_code == 401
        assert "removed ['bob']" in server.proc.log.read_text()
        assert api(nginx, alice, "POST", "/api/2.0/mlflow/runs/create", json={"experiment_id": alices["experiment"]}).status_code == 200
