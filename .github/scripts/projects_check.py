#!/usr/bin/env python3
"""Projects check of the real-deploy CI job, on the real MinIO and database server.

    projects_check.py log    STATE_DIR   # per project: a run with params, metrics and an artifact
    projects_check.py verify STATE_DIR   # per project: the run logged by `log` is still intact
    projects_check.py isolation STATE_DIR
        # per ordered pair (A, B): A's login gets 401 on B's URL; inside A's own MLflow container,
        # with A's own storage identity and database user (its environment), listing, reading and
        # writing B's prefix are denied by MinIO and connecting to B's database by the server
    projects_check.py probe OTHER OTHER_KEY OWN_KEY [OTHER_DATABASE]
        # run inside a project's container by `isolation` (database default: mlflow_<other>)

Reads PROJECTS_JSON (the `projects` stack output, secret) and STACK. No password is printed or
put on a command line: the host side passes them in this process's environment only, and the
probe uses the identities already in the container's environment.
"""
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from base64 import b64encode

HERE = os.path.dirname(os.path.abspath(__file__))


def projects():
    data = json.loads(os.environ["PROJECTS_JSON"])
    if len(data) < 2:
        raise SystemExit(f"FAIL: the isolation check needs two projects, the stack has {sorted(data)}")
    return data


def use(project):
    """Point the MLflow client of this process at one project (its env is read per request)."""
    import mlflow
    os.environ["MLFLOW_TRACKING_URI"] = project["trackingUri"]
    os.environ["MLFLOW_TRACKING_USERNAME"] = project["username"]
    os.environ["MLFLOW_TRACKING_PASSWORD"] = project["password"]
    mlflow.set_tracking_uri(project["trackingUri"])


def each_project(state_dir, action):
    sys.path.insert(0, HERE)
    import client_check
    for name, project in sorted(projects().items()):
        use(project)
        print(f"project {name}:")
        wait_healthy(project)
        getattr(client_check, action)(os.path.join(state_dir, f"{name}.json"))


def status_with(url, username, password):
    token = b64encode(f"{username}:{password}".encode()).decode()
    req = urllib.request.Request(url, headers={"Authorization": f"Basic {token}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def wait_healthy(project, deadline_s=300):
    """A project's /health is behind its login (only the raw `/health` of `/` is open)."""
    import time
    url = f"{project['trackingUri'].rstrip('/')}/health"
    start, last = time.time(), None
    while time.time() - start < deadline_s:
        try:
            last = status_with(url, project["username"], project["password"])
            if last == 200:
                return print(f"health: 200 after {time.time() - start:.0f}s")
        except (urllib.error.URLError, OSError) as e:
            last = repr(e)
        time.sleep(3)
    raise SystemExit(f"FAIL: {url} not 200 within {deadline_s}s (last: {last})")


def artifact_key(state_dir, name, project):
    """The object key of the artifact `log` wrote for a project: <prefix><experiment>/<run>/artifacts/..."""
    import mlflow
    use(project)
    with open(os.path.join(state_dir, f"{name}.json")) as f:
        run_id = json.load(f)["run_id"]
    run = mlflow.MlflowClient().get_run(run_id)
    # mlflow-artifacts:/<experiment>/<run>/artifacts, relative to the project's prefix.
    rel = run.info.artifact_uri.split("mlflow-artifacts:", 1)[1].lstrip("/")
    return f"projects/{name}/{rel}/notes.txt"


def isolation(state_dir):
    stack = os.environ.get("STACK", "dev")
    data = projects()
    keys = {n: artifact_key(state_dir, n, p) for n, p in data.items()}
    for a, pa in sorted(data.items()):
        for b, pb in sorted(data.items()):
            if a == b:
                continue
            code = status_with(f"{pb['trackingUri'].rstrip('/')}/api/2.0/mlflow/experiments/search?max_results=1", pa["username"], pa["password"])
            if code != 401:
                raise SystemExit(f"FAIL: {a}'s login on {b}'s URL answered {code}, expected 401")
            print(f"{a}'s login on {b}'s URL: 401")
            container = f"mlflow-{stack}-project-{a}-tracking-mlflow"
            with open(__file__, "rb") as script:
                out = subprocess.run(["docker", "exec", "-i", container, "python", "-", "probe", b, keys[b], keys[a]],
                                     stdin=script, capture_output=True, text=True, timeout=120)
            print(out.stdout, end="")
            if out.returncode != 0:
                raise SystemExit(f"FAIL: probe in {container}: {out.stderr.strip()[-2000:]}")


def probe(other, other_key, own_key, other_db=None):
    """Inside project A's container: A's identities must reach A's data only."""
    import boto3
    import sqlalchemy
    from botocore.exceptions import ClientError

    dest = os.environ["MLFLOW_ARTIFACTS_DESTINATION"].split("://", 1)[1]
    bucket = dest.split("/", 1)[0]
    s3 = boto3.client("s3", endpoint_url=os.environ["MLFLOW_S3_ENDPOINT_URL"])
    problems = []

    def expect_denied(what, call, **kw):
        try:
            call(Bucket=bucket, **kw)
            problems.append(f"{what}: allowed")
        except ClientError as e:
            code = e.response["Error"]["Code"]
            (print if code == "AccessDenied" else problems.append)(f"{what}: {code}")

    own_dir = own_key.rsplit("/", 1)[0] + "/"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=own_dir)
    if own_key not in [o["Key"] for o in listed.get("Contents", [])]:
        problems.append(f"own listing of {own_dir} lacks {own_key}")
    print(f"list own {own_dir}: {listed.get('KeyCount', 0)} object(s)")
    expect_denied(f"list projects/{other}/", s3.list_objects_v2, Prefix=f"projects/{other}/")
    expect_denied("list the whole bucket", s3.list_objects_v2)
    expect_denied(f"read {other_key}", s3.get_object, Key=other_key)
    expect_denied(f"write under projects/{other}/", s3.put_object, Key=f"projects/{other}/ci-intruder.txt", Body=b"x")
    expect_denied(f"delete {other_key}", s3.delete_object, Key=other_key)

    url = sqlalchemy.engine.make_url(os.environ["MLFLOW_BACKEND_STORE_URI"])
    other_db = other_db or "mlflow_" + other.replace("-", "_")
    try:
        sqlalchemy.create_engine(url.set(database=other_db)).connect().close()
        problems.append(f"connect to database {other_db}: allowed")
    except sqlalchemy.exc.OperationalError as e:
        print(f"connect to database {other_db}: refused ({str(e.orig).splitlines()[0][:120]})")
    sqlalchemy.create_engine(url).connect().close()
    print(f"connect to own database {url.database}: ok")
    if problems:
        raise SystemExit("FAIL: " + "; ".join(problems))


def main(argv):
    if len(argv) in (5, 6) and argv[1] == "probe":
        return probe(*argv[2:])
    if len(argv) != 3 or argv[1] not in ("log", "verify", "isolation"):
        raise SystemExit(__doc__)
    os.makedirs(argv[2], exist_ok=True)
    if argv[1] == "isolation":
        return isolation(argv[2])
    return each_project(argv[2], "log_run" if argv[1] == "log" else "verify_run")


if __name__ == "__main__":
    main(sys.argv)
