#!/usr/bin/env python3
"""Serving check of the real-deploy CI job: a registered model behind the proxy.

    serving_check.py register MODEL N   # log a pyfunc model returning x + N as a new version of
                                        # MODEL and point its alias champion at it
    serving_check.py expect MODEL N     # POST /models/MODEL/invocations until it answers the
                                        # local predictions of x + N (the alias was picked up),
                                        # then: 401 without credentials, a malformed body 4xx
                                        # with MLflow's JSON error and the next request 200

Reads MLFLOW_TRACKING_URI, MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (the stack's
outputs) and SERVING_DEADLINE_S (default 600: the image's first model load plus
servingPollSeconds). The password is never printed.
"""
import json
import os
import sys
import time
import urllib.error
import urllib.request
from base64 import b64encode

# The e2e suite's model (no ML library), so the job serves what the suite serves.
MODEL_CODE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "e2e", "e2e_model.py")
PAYLOAD = {"dataframe_split": {"columns": ["x"], "data": [[1.0], [2.5], [-4.0]]}}


def post(url, body, auth=True):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if auth:
        token = b64encode(f"{os.environ['MLFLOW_TRACKING_USERNAME']}:{os.environ['MLFLOW_TRACKING_PASSWORD']}".encode()).decode()
        headers["Authorization"] = f"Basic {token}"
    req = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def expected(n):
    return [{"x": row[0] + n} for row in PAYLOAD["dataframe_split"]["data"]]


def register(model, n):
    import mlflow
    sys.path.insert(0, os.path.dirname(MODEL_CODE))
    from e2e_model import AddN

    mlflow.set_experiment("ci-serving-check")
    with mlflow.start_run(run_name=f"served-{n}"):
        info = mlflow.pyfunc.log_model(name="model", python_model=AddN(n), code_paths=[MODEL_CODE],
                                       registered_model_name=model)
    version = str(info.registered_model_version)
    mlflow.MlflowClient().set_registered_model_alias(model, "champion", version)
    print(f"{model} version {version} (x + {n}) is now @champion")


def expect(model, n):
    url = f"{os.environ['MLFLOW_TRACKING_URI'].rstrip('/')}/models/{model}/invocations"
    deadline = float(os.environ.get("SERVING_DEADLINE_S", "600"))
    want = {"predictions": expected(n)}
    start, last = time.time(), None
    while time.time() - start < deadline:
        try:
            code, text = post(url, PAYLOAD)
            last = (code, text[:300])
            if code == 200 and json.loads(text) == want:
                break
        except (urllib.error.URLError, OSError, ValueError) as e:
            last = repr(e)
        time.sleep(5)
    else:
        raise SystemExit(f"FAIL: {url} did not answer x + {n} within {deadline:.0f}s (last: {last})")
    print(f"{model}@champion answers x + {n} after {time.time() - start:.0f}s")
    code, _ = post(url, PAYLOAD, auth=False)
    if code != 401:
        raise SystemExit(f"FAIL: invocations without credentials answered {code}, expected 401")
    code, text = post(url, b"not json")
    if not 400 <= code < 500 or json.loads(text).get("error_code") != "BAD_REQUEST":
        raise SystemExit(f"FAIL: a malformed body answered {code} {text[:300]}, expected 4xx BAD_REQUEST")
    code, text = post(url, PAYLOAD)
    if code != 200 or json.loads(text) != want:
        raise SystemExit(f"FAIL: the request after a malformed one answered {code} {text[:300]}")
    print("no credentials: 401; malformed body: 4xx BAD_REQUEST; the next request: 200")


def main(argv):
    if len(argv) != 4 or argv[1] not in ("register", "expect"):
        raise SystemExit(__doc__)
    for key in ("MLFLOW_TRACKING_URI", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD"):
        if not os.environ.get(key):
            raise SystemExit(f"FAIL: {key} is not set")
    (register if argv[1] == "register" else expect)(argv[2], int(argv[3]))


if __name__ == "__main__":
    main(sys.argv)
