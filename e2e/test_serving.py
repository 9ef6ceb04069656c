"""Registered models served over REST behind the proxy, from the rendered config.

e2e/run renders `spec-serving.json`: the same stack config as spec.json plus
servedModels=["e2e-served","e2e-missing"] and servingPollSeconds=2. Here, on the session's
database and artifact store:

| rendered container | runs here as                                    | rewritten (and nothing else)                 |
|--------------------|-------------------------------------------------|----------------------------------------------|
| tracking-server    | a second MLflow (the entrypoint) with the       | as in conftest, and the serving render's     |
|                    | session's env                                   | MLFLOW_SERVER_ALLOWED_HOSTS (checked to be   |
|                    |                                                 | the only non-secret difference)              |
| model-server (x2)  | images/tracking-server/serve_model.py with the  | MLFLOW_TRACKING_URI                          |
|                    | container's env (its reader account included);  | http://mlflow-registry:8082 -> the proxy's   |
|                    | it runs the real                                | reader port; ports 8080,8081 -> free ports;  |
|                    | `mlflow models serve --env-manager local`       | listen address -> 127.0.0.1                  |
| auth-proxy         | nginx with the serving render's default.conf,   | as in conftest, each model upstream          |
|                    | htpasswd and readers' htpasswd                  | `model-<name>:<port>` -> 127.0.0.1:<port>,   |
|                    |                                                 | `listen 8082` -> a free port, the readers'   |
|                    |                                                 | htpasswd path -> its local copy              |

The model servers read the registry only through the proxy's read-only registry endpoint
(authProxy/registryReader.ts), with their own reader account: the tests below prove what that
account can and cannot do there.
"""
import json
import os
import subprocess
import sys
import threading
import time

import pytest
import requests

from conftest import (AUTH_DB_URI, OUT, REPO, MlflowServer, Nginx, Proc, Redacted, RedactedPair, allow_5xx_window, auth_db_uri,
                      base_env, env_dict, free_port, is_auth_db_init, is_backup, mlflow_env, require, upload, wait_for)

SERVING_SPEC = OUT / "spec-serving.json"
SUPERVISOR = REPO / "images" / "tracking-server" / "serve_model.py"
SERVED, MISSING = "e2e-served", "e2e-missing"
PAYLOAD = {"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.5], [-4.0]]}}
SECRET_WORDS = ("PASSWORD", "SECRET", "URI", "ACCESS_KEY", "TOKEN")
# authProxy/registryReader.ts: REGISTRY_READER_HOST, REGISTRY_READER_PORT, READER_HTPASSWD_PATH.
READER_HOST, READER_PORT, READERS_FILE = "mlflow-registry", 8082, "/etc/nginx/mlflow-readers.htpasswd"


@pytest.fixture(scope="module")
def serving_spec():
    require(SERVING_SPEC.exists(), f"spec {SERVING_SPEC} not rendered (run e2e/run)")
    data = json.loads(SERVING_SPEC.read_text())
    models = [c for c in data["containers"] if c["role"] == "model-server"]
    # The auth app's database init (team accounts) is created by conftest.auth_db_uri.
    # The backup's containers (test_backup.py runs them) beside.
    inits = [c for c in data["containers"] if is_auth_db_init(data, c) or is_backup(c)]
    others = {c["role"]: c for c in data["containers"] if c["role"] != "model-server" and c not in inits}
    # One per role: database, artifact store, bucket init, MLflow, proxy, the gc loop.
    assert len(others) == len(data["containers"]) - len(models) - len(inits) == 6
    return Redacted({**data, "models": {env_dict(c)["MLFLOW_SERVE_MODEL_NAME"]: c for c in models}, "by_role": others})


@pytest.fixture(scope="module")
def serving_credentials(serving_spec):
    return RedactedPair((serving_spec["clientUser"], serving_spec["clientPassword"]))


def test_serving_render_changes_mlflow_only_by_admitting_its_internal_name(spec, serving_spec):
    before = env_dict(spec["by_role"]["tracking-server"])
    after = env_dict(serving_spec["by_role"]["tracking-server"])
    assert sorted(before) == sorted(after)
    changed = sorted(k for k in before if before[k] != after[k] and not any(w in k for w in SECRET_WORDS))
    assert changed == ["MLFLOW_PLATFORM_USERS", "MLFLOW_SERVER_ALLOWED_HOSTS"], changed
    # Team accounts: one reader account per served model, READ on that model only (mlflow_platform_auth).
    readers = [u for u in json.loads(after["MLFLOW_PLATFORM_USERS"]) if u not in json.loads(before["MLFLOW_PLATFORM_USERS"])]
    assert readers == [{"name": f"model-{m}", "role": "reader", "models": [m]} for m in (SERVED, MISSING)], readers
    # The Host the model servers send to the proxy's reader port, which passes it on.
    assert after["MLFLOW_SERVER_ALLOWED_HOSTS"] == before["MLFLOW_SERVER_ALLOWED_HOSTS"] + f",{READER_HOST},{READER_HOST}:*"
    assert sorted(serving_spec["models"]) == [MISSING, SERVED]


@pytest.fixture(scope="module")
def serving_mlflow(spec, serving_spec, mlflow_env_rendered, database, artifact_store):
    senv = env_dict(serving_spec["by_role"]["tracking-server"])
    # The serving render's accounts (its readers), token and Flask key, on an auth database of its own.
    keys = ("MLFLOW_SERVER_ALLOWED_HOSTS", "MLFLOW_PLATFORM_USERS", "MLFLOW_PLATFORM_PROXY_TOKEN", "MLFLOW_FLASK_SERVER_SECRET_KEY",
            "MLFLOW_PLATFORM_AUTH_INI")
    overrides = {k: senv[k] for k in keys if k in senv}
    if AUTH_DB_URI in senv:
        overrides[AUTH_DB_URI] = auth_db_uri(serving_spec, "serving")
    server = MlflowServer(mlflow_env(mlflow_env_rendered, database, artifact_store, **overrides), name="mlflow-serving")
    try:
        yield server.start()
    finally:
        server.proc.stop()


class Supervisor:
    def __init__(self, container, reader_port):
        env = env_dict(container)
        assert container["inputs"]["entrypoints"] == ["python", "/opt/mlflow/serve_model.py"]
        assert container["inputs"]["healthcheck"]["tests"] == ["CMD", "python", "/opt/mlflow/serve_model.py", "healthcheck"]
        # Its one credential is its own reader account: the user in the env, the password in the secret env.
        assert sorted(k for k in env if any(w in k for w in SECRET_WORDS[:2] + ("USERNAME", "ACCESS_KEY"))) == \
            ["MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_USERNAME"], sorted(env)
        assert "envs" in container["secretPaths"], container["secretPaths"]
        assert env["MLFLOW_TRACKING_USERNAME"] == "model-" + env["MLFLOW_SERVE_MODEL_NAME"].lower()
        assert env["MLFLOW_TRACKING_URI"] == f"http://{READER_HOST}:{READER_PORT}" and env["MLFLOW_SERVE_PORTS"] == "8080,8081"
        assert env["MLFLOW_SERVE_HOST"] == "0.0.0.0"
        self.name = env["MLFLOW_SERVE_MODEL_NAME"]
        self.credentials = RedactedPair((env["MLFLOW_TRACKING_USERNAME"], env["MLFLOW_TRACKING_PASSWORD"]))
        networks = container["inputs"]["networksAdvanced"]
        slug = env["MLFLOW_SERVE_MODEL_NAME"].lower()
        assert len(networks) == 1 and networks[0]["name"].endswith(f"-serving-{slug}-net"), "a model server is on its own network only"
        self.host = networks[0]["aliases"][0]
        self.ports = {8080: free_port(), 8081: free_port()}
        self.env = {**base_env(), **env, "MLFLOW_TRACKING_URI": f"http://127.0.0.1:{reader_port}", "MLFLOW_SERVE_HOST": "127.0.0.1",
                    "MLFLOW_SERVE_PORTS": ",".join(str(p) for p in self.ports.values())}
        self.poll = int(env["MLFLOW_SERVE_POLL_SECONDS"])
        self.proc = Proc(f"serve-{self.name}", [sys.executable, str(SUPERVISOR)], self.env, cwd=str(OUT)).start()

    def healthcheck(self):
        """The container's healthcheck command, run with the container's (mapped) environment."""
        return subprocess.run([sys.executable, str(SUPERVISOR), "healthcheck"], env=self.env, timeout=30).returncode

    def log(self):
        return self.proc.log.read_text(errors="replace")


@pytest.fixture(scope="module")
def reader_port():
    """Where the rendered proxy's read-only registry endpoint (listen 8082) listens here."""
    return free_port()


@pytest.fixture(scope="module")
def supervisors(serving_spec, serving_mlflow, reader_port):
    started = {}
    try:
        for name, c in serving_spec["models"].items():
            # Until the proxy is up its look-ups fail and are retried (logged as unreachable).
            started[name] = Supervisor(c, reader_port)
        yield started
    finally:
        for s in started.values():
            s.proc.stop()


@pytest.fixture(scope="module")
def serving_proxy(serving_spec, serving_mlflow, supervisors, reader_port):
    n = Nginx(serving_spec, serving_mlflow.port, name="nginx-serving")
    conf_file = n.dir / "default.conf"
    conf = conf_file.read_text()
    for s in supervisors.values():
        for rendered, local in s.ports.items():
            server = f"server {s.host}:{rendered} "
            assert conf.count(server) == 1, f"expected exactly one `{server}` in the rendered nginx config"
            conf = conf.replace(server, f"server 127.0.0.1:{local} ")
    # The read-only registry endpoint: its port and the readers' file, as rendered.
    readers = n.dir / "mlflow-readers.htpasswd"
    readers.write_text(upload(serving_spec["by_role"]["auth-proxy"], READERS_FILE)["content"])
    readers.chmod(0o644)
    for old, new, count in ((f"listen {READER_PORT};", f"listen 127.0.0.1:{reader_port};", 1),
                            (f"auth_basic_user_file {READERS_FILE};", f"auth_basic_user_file {readers};", 2)):
        assert conf.count(old) == count, f"expected {count} x `{old}` in the rendered nginx config"
        conf = conf.replace(old, new)
    conf_file.write_text(conf)
    n.reader_url = f"http://127.0.0.1:{reader_port}"
    try:
        yield n.start()
    finally:
        n.proc.stop()


def test_the_proxy_joins_each_models_network_as_the_registry_and_publishes_only_its_user_port(serving_spec):
    proxy = serving_spec["by_role"]["auth-proxy"]["inputs"]
    assert [p["internal"] for p in proxy["ports"]] == [8080]
    own = {name: c["inputs"]["networksAdvanced"][0]["name"] for name, c in serving_spec["models"].items()}
    assert len(set(own.values())) == len(own) == 2, own
    serving = proxy["networksAdvanced"][1:]
    assert sorted(serving, key=lambda n: n["name"]) == [{"name": n, "aliases": [READER_HOST]} for n in sorted(own.values())]
    others = [c for c in serving_spec["containers"] if c["role"] not in ("auth-proxy", "model-server")]
    assert others and all(n["name"] not in own.values() for c in others for n in c["inputs"]["networksAdvanced"])


def post(url, body, auth, **kw):
    return requests.post(url, data=body if isinstance(body, (str, bytes)) else json.dumps(body),
                         headers={"Content-Type": "application/json"}, auth=auth, timeout=30, **kw)


def test_a_model_that_does_not_exist_is_explained_unhealthy_and_retried_not_crash_looped(serving_proxy, supervisors, serving_credentials):
    s = supervisors[MISSING]
    wait_for("the missing model's log line", lambda: "cannot serve models:/e2e-missing@champion" in s.log(), 60, proc=s.proc.popen, log=s.proc.log)
    asked = time.time()
    r = requests.get(f"{serving_proxy.url}/models/{MISSING}/ping", auth=serving_credentials, timeout=10)
    allow_5xx_window(asked, time.time(), "the placeholder's deliberate 503 for a model that does not exist")
    assert r.status_code == 503
    message = r.json()["message"]
    assert "models:/e2e-missing@champion" in message and "Fix: register a version of model 'e2e-missing'" in message
    assert s.healthcheck() == 1
    time.sleep(3 * s.poll)
    assert s.proc.popen.poll() is None, "the supervisor exited"
    line = [ln for ln in s.log().splitlines() if "cannot serve models:/e2e-missing@champion" in ln]
    assert len(line) == 1, f"logged {len(line)} times in {3 * s.poll} s: the reason is logged once, not at every poll"
    assert "mlflow models serve" not in s.log() and "Traceback" not in s.log()


@pytest.fixture(scope="module")
def registered(tracking, experiment):
    """Versions 1 (x + 1) and 2 (x + 10) of e2e-served, alias champion -> 1, and their local predictions."""
    import mlflow
    import pandas as pd
    from e2e_model import AddN

    mlflow.set_experiment(experiment_id=experiment["id"])
    predictions = {}
    for n in (1, 10):
        with mlflow.start_run(run_name=f"served-{n}"):
            info = mlflow.pyfunc.log_model(name="model", python_model=AddN(n), code_paths=[str(REPO / "e2e" / "e2e_model.py")],
                                           registered_model_name=SERVED)
        version = str(info.registered_model_version)
        frame = pd.DataFrame(PAYLOAD["dataframe_split"]["data"], columns=PAYLOAD["dataframe_split"]["columns"])
        predictions[version] = mlflow.pyfunc.load_model(f"models:/{SERVED}/{version}").predict(frame).to_dict(orient="records")
    assert sorted(predictions) == ["1", "2"] and predictions["1"] != predictions["2"]
    tracking.set_registered_model_alias(SERVED, "champion", "1")
    return predictions


def served_on(s):
    """The supervisor's ports whose /ping answers 200 (asked directly, not through nginx)."""
    out = []
    for p in s.ports.values():
        try:
            if requests.get(f"http://127.0.0.1:{p}/ping", timeout=5).status_code == 200:
                out.append(p)
        except requests.ConnectionError:
            pass
    return out


def test_the_alias_is_served_through_the_proxy_with_the_local_predictions(serving_proxy, supervisors, registered, serving_credentials):
    s = supervisors[SERVED]
    # Straight at the supervisor's ports, so nothing 5xx reaches the proxy's log while it loads.
    wait_for("version 1 served", lambda: "serving models:/e2e-served/1 (alias champion)" in s.log() and served_on(s) == [s.ports[8080]],
             300, interval=1, proc=s.proc.popen, log=s.proc.log)
    url = f"{serving_proxy.url}/models/{SERVED}"
    r = post(f"{url}/invocations", PAYLOAD, serving_credentials)
    assert r.status_code == 200, r.text
    assert r.json() == {"predictions": registered["1"]}
    assert requests.get(f"{url}/ping", auth=serving_credentials, timeout=10).status_code == 200
    assert s.healthcheck() == 0


def test_each_model_request_is_one_json_access_log_line_naming_its_model_server(serving_proxy, supervisors, registered, serving_credentials):
    """The proxy's JSON access log (docs/observability.md) counts a model server's requests: one line each, its upstream named."""
    s = supervisors[SERVED]
    wait_for("version 1 served", lambda: served_on(s) == [s.ports[8080]], 300, interval=1, proc=s.proc.popen, log=s.proc.log)
    start, sent = time.time() - 0.001, 6
    for _ in range(sent):
        assert post(f"{serving_proxy.url}/models/{SERVED}/invocations", PAYLOAD, serving_credentials).status_code == 200
    time.sleep(0.5)  # nginx writes the line once the response is sent
    entries = [json.loads(line) for line in serving_proxy.json_log.read_text().splitlines() if line.strip()]
    mine = [e for e in entries if e["msec"] >= start and e["path"] == f"/models/{SERVED}/invocations"]
    assert len(mine) == sent, mine
    # modelServer/serving.ts names the upstream mlflow_model_<slug>; the user is the login that was admitted.
    assert {(e["server"], e["status"], e["upstream_status"], e["user"]) for e in mine} == {
        ("mlflow_model_" + SERVED.replace("-", "_"), 200, "200", serving_credentials[0])}


def descendants(pid):
    """Every live process below pid (from /proc/<pid>/stat's parent field)."""
    parents = {}
    for d in os.listdir("/proc"):
        try:
            stat = open(f"/proc/{d}/stat").read()
            parents[int(d)] = int(stat.rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    out, todo = [], [pid]
    while todo:
        parent = todo.pop()
        kids = [p for p, pp in parents.items() if pp == parent]
        out += kids
        todo += kids
    return out


def environ(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(kv.split("=", 1) for kv in f.read().decode(errors="replace").split("\0") if "=" in kv)


def test_the_served_models_processes_hold_no_registry_credential(serving_proxy, supervisors, registered, serving_credentials):
    """`mlflow models serve` and its uvicorn workers run the model's code: none of them has the reader's login."""
    s = supervisors[SERVED]
    wait_for("version 1 served", lambda: served_on(s) == [s.ports[8080]], 300, interval=1, proc=s.proc.popen, log=s.proc.log)
    assert post(f"{serving_proxy.url}/models/{SERVED}/invocations", PAYLOAD, serving_credentials).status_code == 200
    # (Booleans, so that a failure prints no password.)
    supervisor_has_it = environ(s.proc.popen.pid).get("MLFLOW_TRACKING_PASSWORD") == s.credentials[1]
    assert supervisor_has_it, "the supervisor itself reads the registry with the reader's password"
    children = descendants(s.proc.popen.pid)
    assert children, "no served process below the supervisor"
    cmdlines = [open(f"/proc/{p}/cmdline", "rb").read().replace(b"\0", b" ").decode() for p in children]
    assert any("mlflow models serve" in c.replace("-m mlflow ", "mlflow ") for c in cmdlines), cmdlines
    for pid, cmd in zip(children, cmdlines):
        env = environ(pid)
        assert [k for k in env if k.startswith("MLFLOW_TRACKING")] == [], cmd
        holds_password = s.credentials[1] in "\0".join(env.values())
        assert not holds_password, cmd
        # Served from the local copy the supervisor downloaded, not models:/ through the registry.
        assert "models:/" not in cmd, cmd
    # (That the model's code cannot read the supervisor's /proc/<pid>/environ either, as the image's unprivileged
    # user, is images/tracking-server/test_serve_model.py's: this suite runs as root, which may read it.)


def test_no_credentials_or_wrong_ones_get_401(serving_proxy, registered, serving_credentials):
    url = f"{serving_proxy.url}/models/{SERVED}"
    for path in ("invocations", "ping", "health"):
        assert requests.get(f"{url}/{path}", timeout=10).status_code == 401, path
    assert post(f"{url}/invocations", PAYLOAD, None).status_code == 401
    assert post(f"{url}/invocations", PAYLOAD, (serving_credentials[0], serving_credentials[1] + "x")).status_code == 401


ACCESS_LOG = OUT / "nginx-serving-access.log"
# Line ranges of the serving proxy's access log written while this module probed the reader port itself.
PROBE_WINDOWS = []


def access_log_lines():
    return ACCESS_LOG.read_text(errors="replace").splitlines() if ACCESS_LOG.exists() else []


@pytest.fixture
def probe_window():
    start = len(access_log_lines())
    yield
    PROBE_WINDOWS.append((start, len(access_log_lines())))


def raw_status(base_url, method, path, auth):
    """Status of a request sent with the path exactly as given (requests would resolve `..`)."""
    import base64
    import http.client
    from urllib.parse import urlsplit

    u = urlsplit(base_url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
    conn.request(method, path, headers={"Authorization": f"Basic {token}"})
    status = conn.getresponse().status
    conn.close()
    return status


def model_files_path(tracking, version):
    """The reader-port path of a registered version's MLmodel (MLflow proxies the artifacts: mlflow-artifacts:/...)."""
    uri = tracking.get_model_version_download_uri(SERVED, version)
    assert uri.startswith("mlflow-artifacts:/"), uri
    return f"/api/2.0/mlflow-artifacts/artifacts/{uri[len('mlflow-artifacts:/'):].strip('/')}/MLmodel"


def test_the_reader_account_reads_the_registry_and_artifacts(serving_proxy, serving_spec, supervisors, registered, tracking, probe_window):
    reader = supervisors[SERVED].credentials
    url = f"{serving_proxy.reader_url}/api/2.0/mlflow/registered-models/alias"
    r = requests.get(url, params={"name": SERVED, "alias": "champion"}, auth=reader, timeout=30)
    assert r.status_code == 200, r.text
    assert r.json()["model_version"]["version"] == tracking.get_model_version_by_alias(SERVED, "champion").version
    # With the Host the model server sends in Docker (REGISTRY_READER_HOST:8082): MLflow's Host check admits it.
    r = requests.get(url, params={"name": SERVED, "alias": "champion"}, auth=reader, timeout=30, headers={"Host": f"{READER_HOST}:{READER_PORT}"})
    assert r.status_code == 200, r.text
    r = requests.get(f"{serving_proxy.reader_url}{model_files_path(tracking, '1')}", auth=reader, timeout=30)
    assert r.status_code == 200 and "flavors" in r.text, (r.status_code, r.text[:200])
    # Each model's account, not one shared one, and (team accounts) it reads its own model only.
    other = supervisors[MISSING].credentials
    assert other[0] != reader[0] and other[1] != reader[1]
    neighbour = requests.get(url, params={"name": SERVED, "alias": "champion"}, auth=other, timeout=30).status_code
    assert neighbour == (403 if "users" in serving_spec["config"] else 200)


def test_the_reader_account_reads_nothing_of_the_projects(serving_proxy, supervisors, registered, artifact_store, probe_window):
    """The reader port proxies to /'s MLflow only, and /'s storage identity is denied projects/*:
    a project's artifact, present in the bucket, never reaches a model server's account. (Listings
    under projects/ are refused by an s3:prefix condition moto does not evaluate: proven on Ceph
    RGW for the identity in test_projects_rgw.py.)"""
    import boto3

    key = f"projects/alpha/1/e2e-reader-{os.getpid()}/artifacts/secret.txt"
    body = b"a project's artifact"
    admin = boto3.client("s3", **artifact_store["admin"])
    admin.put_object(Bucket=artifact_store["bucket"], Key=key, Body=body)
    reader, start = supervisors[SERVED].credentials, time.time()
    try:
        r = requests.get(f"{serving_proxy.reader_url}/api/2.0/mlflow-artifacts/artifacts/{key}", auth=reader, timeout=30)
        assert r.status_code != 200 and body not in r.content, r.status_code
    finally:
        allow_5xx_window(start, time.time(), "the store refuses /'s identity under projects/: MLflow answers 500")
        admin.delete_object(Bucket=artifact_store["bucket"], Key=key)


def test_the_reader_account_cannot_write_anything(serving_proxy, supervisors, registered, tracking, experiment, probe_window):
    reader = supervisors[SERVED].credentials
    base = serving_proxy.reader_url
    alias_before = tracking.get_model_version_by_alias(SERVED, "champion").version
    other_version = "2" if alias_before == "1" else "1"
    mlmodel = model_files_path(tracking, alias_before)
    content_before = requests.get(f"{base}{mlmodel}", auth=reader, timeout=30).content
    name = f"e2e-reader-must-not-create-{int(time.time() * 1000)}"
    attempts = [
        ("POST", "/api/2.0/mlflow/experiments/create", {"name": name}),
        ("POST", "/api/2.0/mlflow/registered-models/alias", {"name": SERVED, "alias": "champion", "version": other_version}),
        ("DELETE", "/api/2.0/mlflow/registered-models/alias", {"name": SERVED, "alias": "champion"}),
        ("PATCH", "/api/2.0/mlflow/model-versions/update", {"name": SERVED, "version": alias_before, "description": "x"}),
        ("POST", "/api/2.0/mlflow/runs/create", {"experiment_id": experiment["id"]}),
        ("PUT", mlmodel, None),
        ("POST", mlmodel, None),
        ("DELETE", mlmodel, None),
        ("PUT", f"{mlmodel.rsplit('/', 1)[0]}/planted.txt", None),
    ]
    for method, path, body in attempts:
        data = json.dumps(body) if body is not None else b"overwritten by a reader"
        r = requests.request(method, f"{base}{path}", data=data, auth=reader, timeout=30, headers={"Content-Type": "application/json"})
        assert r.status_code == 403, (method, path, r.status_code)
    # MLflow's state is as it was.
    assert tracking.get_model_version_by_alias(SERVED, "champion").version == alias_before
    assert tracking.get_model_version(SERVED, alias_before).description in (None, "")
    assert tracking.get_experiment_by_name(name) is None
    assert requests.get(f"{base}{mlmodel}", auth=reader, timeout=30).content == content_before
    # Listed, not fetched: MLflow answers a GET of a missing artifact with 500 (the bucket's NoSuchKey).
    directory = mlmodel.rsplit("/", 1)[0].removeprefix("/api/2.0/mlflow-artifacts/artifacts/")
    listed = requests.get(f"{base}/api/2.0/mlflow-artifacts/artifacts", params={"path": directory}, auth=reader, timeout=30)
    assert listed.status_code == 200, listed.text
    names = [f["path"].rsplit("/", 1)[-1] for f in listed.json().get("files", [])]
    assert "MLmodel" in names and "planted.txt" not in names, names


def test_the_reader_port_needs_a_reader_account_and_a_reader_account_opens_nothing_else(serving_proxy, supervisors, registered,
                                                                                       serving_credentials, probe_window):
    reader = supervisors[SERVED].credentials
    api = "/api/2.0/mlflow/registered-models/alias?name=e2e-served&alias=champion"
    assert requests.get(f"{serving_proxy.reader_url}{api}", timeout=30).status_code == 401
    assert requests.get(f"{serving_proxy.reader_url}{api}", auth=(reader[0], reader[1] + "x"), timeout=30).status_code == 401
    # The users' login is not a reader account, and a reader account is not a user's login.
    assert requests.get(f"{serving_proxy.reader_url}{api}", auth=serving_credentials, timeout=30).status_code == 401
    for path in (api, "/", f"/models/{SERVED}/ping", f"/models/{SERVED}/invocations"):
        assert requests.get(f"{serving_proxy.url}{path}", auth=reader, timeout=30).status_code == 401, path
    assert post(f"{serving_proxy.url}/models/{SERVED}/invocations", PAYLOAD, reader).status_code == 401


def test_the_reader_port_serves_nothing_outside_the_rest_api(serving_proxy, supervisors, registered, probe_window):
    reader = supervisors[SERVED].credentials
    for path in ("/", "/health", "/version", "/ajax-api/2.0/mlflow/experiments/search?max_results=1", "/static-files/index.html",
                 "/get-artifact?path=MLmodel&run_uuid=x", f"/models/{SERVED}/invocations",
                 "/api/2.0/mlflow/../../../ajax-api/2.0/mlflow/experiments/search?max_results=1",
                 "/api/2.0/mlflow/%2e%2e/%2e%2e/%2e%2e/ajax-api/2.0/mlflow/experiments/search?max_results=1",
                 "/x/../api/2.0/mlflow/registered-models/alias?name=e2e-served&alias=champion"):
        assert raw_status(serving_proxy.reader_url, "GET", path, reader) == 404, path


def test_a_malformed_body_gets_a_4xx_json_error_and_the_server_stays_up(serving_proxy, registered, serving_credentials):
    url = f"{serving_proxy.url}/models/{SERVED}/invocations"
    for bad in ("not json", {"unknown_key": [1]}):
        r = post(url, bad, serving_credentials)
        assert 400 <= r.status_code < 500, (r.status_code, r.text)
        assert r.json()["error_code"] == "BAD_REQUEST", r.text
    r = post(url, PAYLOAD, serving_credentials)
    assert r.status_code == 200 and r.json() == {"predictions": registered["1"]}


def test_moving_the_alias_serves_version_2_without_a_failed_request(serving_proxy, supervisors, registered, serving_credentials, tracking):
    s = supervisors[SERVED]
    url = f"{serving_proxy.url}/models/{SERVED}/invocations"
    answers, stop = [], threading.Event()

    def load():
        session = requests.Session()
        while not stop.is_set():
            try:
                r = session.post(url, data=json.dumps(PAYLOAD), headers={"Content-Type": "application/json"}, auth=serving_credentials, timeout=30)
                answers.append((time.time(), r.status_code, r.json().get("predictions") if r.status_code == 200 else r.text[:200]))
            except requests.RequestException as e:
                answers.append((time.time(), None, repr(e)))
            time.sleep(0.05)

    worker = threading.Thread(target=load)
    worker.start()
    try:
        time.sleep(2)
        moved = time.time()
        tracking.set_registered_model_alias(SERVED, "champion", "2")
        wait_for("version 2 through the proxy", lambda: any(t > moved and p == registered["2"] for t, _, p in answers), 300, interval=0.5,
                 proc=s.proc.popen, log=s.proc.log)
        first_v2 = min(t for t, _, p in answers if t > moved and p == registered["2"])
        time.sleep(3)  # requests after the old process stopped
    finally:
        stop.set()
        worker.join()
    failed = [(round(t - moved, 2), status, body) for t, status, body in answers if status != 200]
    after = [p for t, _, p in answers if t > first_v2 + 1]
    delay = first_v2 - moved
    (OUT / "serving-timings.json").write_text(json.dumps({
        "poll_seconds": s.poll, "alias_move_to_v2_seconds": round(delay, 2), "requests_during_swap": len(answers), "failed": len(failed)}, indent=2))
    assert failed == [], f"{len(failed)} of {len(answers)} requests failed during the swap: {failed[:5]}"
    assert after and all(p == registered["2"] for p in after), "version 1 answered after version 2 took over"
    # Documented bound (docs/serving.md): the poll interval plus the new version's load time.
    assert delay < s.poll + 120, delay
    # Steady state: one process, on the first port, and nginx refused nothing any more.
    wait_for("version 2 back on the first port", lambda: served_on(s) == [s.ports[8080]], 120, interval=0.5, proc=s.proc.popen, log=s.proc.log)
    error_log = OUT / "nginx-serving-error.log"
    refused_before = error_log.read_text(errors="replace").count("Connection refused")
    for _ in range(20):
        assert post(url, PAYLOAD, serving_credentials).json() == {"predictions": registered["2"]}
    assert error_log.read_text(errors="replace").count("Connection refused") == refused_before, "nginx still tries a refused port"


def test_the_model_servers_only_read_through_the_reader_port(serving_proxy, supervisors, registered):
    """Every call the supervisors and `mlflow models serve` made on the proxy (this module's own probes left out): GETs of the REST API, none refused."""
    assert len(PROBE_WINDOWS) == 5, "the reader probes ran before this test"
    probed = {i for start, end in PROBE_WINDOWS for i in range(start, end)}
    calls = []
    for i, line in enumerate(access_log_lines()):
        parts = line.split('"')  # $msec $status "$request" ...
        if i in probed or len(parts) < 2:
            continue
        method, _, rest = parts[1].partition(" ")
        path = rest.rsplit(" ", 1)[0].split("?", 1)[0]
        # Not the served models' own routes, nor the harness's readiness probe of nginx (Nginx.start).
        if not path.startswith("/models/") and path != "/nonexistent":
            calls.append((method, path, line.split()[1]))
    # Artifacts: the prefix only (the paths name runs and files).
    endpoints = sorted({("/api/2.0/mlflow-artifacts/artifacts/..." if p.startswith("/api/2.0/mlflow-artifacts/artifacts/") else p) for _, p, _ in calls})
    (OUT / "serving-reader-calls.json").write_text(json.dumps({"endpoints": endpoints, "calls": len(calls),
                                                               "by_status": {st: sum(1 for c in calls if c[2] == st) for st in sorted({c[2] for c in calls})}}, indent=2))
    assert calls and all(m == "GET" for m, _, _ in calls), sorted({m for m, _, _ in calls})
    # Expected refusals only: alias look-ups before the model or its alias exists (MLflow's 404 or 400), and MLflow 3's
    # /api/3.0/mlflow/server-info probe, which the reader port answers 404 (outside the API it opens). With no answer the
    # client keeps multipart downloads off (mlflow/store/artifact/mlflow_artifacts_repo.py, _fetch_server_capabilities),
    # so artifacts come through MLflow's proxy, never by presigned URL from the bucket, which a model server cannot reach.
    expected = {("/api/2.0/mlflow/registered-models/alias", "404"), ("/api/2.0/mlflow/registered-models/alias", "400"),
                ("/api/3.0/mlflow/server-info", "404")}
    assert all(st == "200" or (p, st) in expected for _, p, st in calls), sorted({(p, st) for _, p, st in calls if st != "200"})
    assert "/api/2.0/mlflow/registered-models/alias" in endpoints and "/api/2.0/mlflow-artifacts/artifacts/..." in endpoints, endpoints
    # (the listing is /api/2.0/mlflow-artifacts/artifacts?path=..., the downloads /api/2.0/mlflow-artifacts/artifacts/<path>)
    # Every 200 was under the two prefixes the reader port proxies.
    assert all(p.startswith(("/api/2.0/mlflow/", "/api/2.0/mlflow-artifacts/")) for _, p, st in calls if st == "200"), endpoints


def test_the_real_deploy_jobs_serving_check_moves_the_alias_and_sees_it_served(serving_proxy, supervisors, registered, serving_credentials):
    """.github/scripts/serving_check.py, as the deploy-dev job runs it after `pulumi up`, against this
    rendered stack: register a new version (x + 7) through the users' port, move champion to it,
    and wait for the model server to answer it; then its 401 and malformed-body checks. Runs last:
    it moves the alias the tests above rely on."""
    script = REPO / ".github" / "scripts" / "serving_check.py"
    user, password = serving_credentials
    env = {**base_env(), "MLFLOW_TRACKING_URI": serving_proxy.url, "MLFLOW_TRACKING_USERNAME": user,
           "MLFLOW_TRACKING_PASSWORD": password, "SERVING_DEADLINE_S": "180", "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2"}
    for mode in ("register", "expect"):
        r = subprocess.run([sys.executable, str(script), mode, SERVED, "7"], env=env, capture_output=True, text=True, timeout=400)
        assert r.returncode == 0, f"serving_check.py {mode}: {r.stdout}{r.stderr}"
        assert password not in r.stdout + r.stderr
    assert "answers x + 7" in r.stdout and "malformed body: 4xx BAD_REQUEST" in r.stdout, r.stdout
    # A check that passes whatever is served would be worthless: asking for x + 8 must fail.
    env["SERVING_DEADLINE_S"] = "8"
    r = subprocess.run([sys.executable, str(script), "expect", SERVED, "8"], env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "did not answer x + 8" in r.stderr, r.stdout + r.stderr
