#!/usr/bin/env bash
# Checks of the real-deploy CI job (.github/workflows/ci.yml), run from the repository root with
# the stack selected and PULUMI_CONFIG_PASSPHRASE set. STACK names the stack (default dev).
#   deploy-check.sh log          client check: /health, 401, a run with params/metrics/artifact
#   deploy-check.sh verify       the first logged run is still there and intact
#   deploy-check.sh expect-kept  after `pulumi destroy` with data kept: no container, both volumes
#   deploy-check.sh expect-gone  after destroy with retainDataOnDestroy=false: nothing left
#   deploy-check.sh projects log|verify|isolation
#                                the `projects` output's servers (projects_check.py)
#   deploy-check.sh project-gone GONE KEPT
#                                retainDataOnDestroy=false: GONE's database, user and objects
#                                are deleted, KEPT's are not (the reconciler, on the real servers)
#   deploy-check.sh serving register|expect MODEL N
#                                a served model through the proxy (serving_check.py)
set -euo pipefail
STACK="${STACK:-dev}"
PREFIX="mlflow-$STACK-"
STATE="${CHECK_STATE:-$PWD/.ci-first-run.json}"
HERE="$(cd "$(dirname "$0")" && pwd)"

client_env() {
    MLFLOW_TRACKING_URI="$(pulumi stack output trackingUri)"
    MLFLOW_TRACKING_USERNAME="$(pulumi stack output username)"
    MLFLOW_TRACKING_PASSWORD="$(pulumi stack output password --show-secrets)"
    # Masked in the job log before anything could print it.
    [ -z "${GITHUB_ACTIONS:-}" ] || echo "::add-mask::$MLFLOW_TRACKING_PASSWORD"
    export MLFLOW_TRACKING_URI MLFLOW_TRACKING_USERNAME MLFLOW_TRACKING_PASSWORD
}

projects_env() {
    PROJECTS_JSON="$(pulumi stack output projects --show-secrets --json)"
    if [ -n "${GITHUB_ACTIONS:-}" ]; then
        PROJECTS_JSON="$PROJECTS_JSON" python -c 'import json, os
for p in json.loads(os.environ["PROJECTS_JSON"]).values(): print("::add-mask::" + p["password"])'
    fi
    export PROJECTS_JSON STACK
}

# Counts of a project's database plus its user, asked as the admin inside the database
# container (the admin password stays in that container's environment).
project_db_count() {
    docker exec -i "${PREFIX}backend-db" sh -s -- "mlflow_${1//-/_}" <<'SQL'
if [ -n "${MYSQL_ROOT_PASSWORD:-}" ]; then
    MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysql -uroot -N -e "SELECT (SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '$1') + (SELECT COUNT(*) FROM mysql.user WHERE user = '$1')"
else
    psql -U "$POSTGRES_USER" -d postgres -tAc "SELECT (SELECT count(*) FROM pg_database WHERE datname = '$1') + (SELECT count(*) FROM pg_roles WHERE rolname = '$1')"
fi
SQL
}

# Objects under projects/<name>/, listed with the identity of the server at / (whole bucket).
project_object_count() {
    docker exec -i "${PREFIX}tracking-mlflow" python - "$1" <<'PY'
import os, sys, boto3
bucket = os.environ["MLFLOW_ARTIFACTS_DESTINATION"].split("://", 1)[1].split("/", 1)[0]
s3 = boto3.client("s3", endpoint_url=os.environ["MLFLOW_S3_ENDPOINT_URL"])
print(s3.list_objects_v2(Bucket=bucket, Prefix=f"projects/{sys.argv[1]}/").get("KeyCount", 0))
PY
}

project_gone() {
    local gone="$1" kept="$2" n
    n="$(project_db_count "$gone")"; [ "$n" = 0 ] || { echo "FAIL: $gone's database and user: $n left"; exit 1; }
    n="$(project_object_count "$gone")"; [ "$n" = 0 ] || { echo "FAIL: $n objects left under projects/$gone/"; exit 1; }
    n="$(project_db_count "$kept")"; [ "$n" = 2 ] || { echo "FAIL: $kept's database and user: $n of 2 left"; exit 1; }
    n="$(project_object_count "$kept")"; [ "$n" -gt 0 ] || { echo "FAIL: $kept's objects are gone"; exit 1; }
    echo "$gone's database, user and objects are deleted; $kept's database, user and $n objects are intact"
}

# The platform's containers carry the mlflow-platform/role label; its names start with the prefix.
containers() { docker ps -a -q --filter "label=mlflow-platform/role" --filter "name=$PREFIX"; }
volumes() { docker volume ls -q --filter "name=$PREFIX"; }
networks() { docker network ls -q --filter "name=$PREFIX"; }

case "${1:-}" in
    log)
        client_env
        python "$HERE/client_check.py" log "$STATE" ;;
    verify)
        client_env
        python "$HERE/client_check.py" verify "$STATE" ;;
    expect-kept)
        [ -z "$(containers)" ] || { docker ps -a --filter "name=$PREFIX"; echo "FAIL: containers left after destroy"; exit 1; }
        kept="$(volumes | sort | tr '\n' ' ')"
        [ "$kept" = "${PREFIX}artifacts-data ${PREFIX}backend-data " ] || { echo "FAIL: kept volumes are '$kept'"; exit 1; }
        echo "destroy kept the data volumes: $kept" ;;
    expect-gone)
        left="$(containers) $(volumes) $(networks)"
        if [ -n "${left// /}" ]; then
            docker ps -a --filter "name=$PREFIX"; docker volume ls --filter "name=$PREFIX"; docker network ls --filter "name=$PREFIX"
            echo "FAIL: resources left after destroy with retainDataOnDestroy=false"; exit 1
        fi
        echo "nothing of stack $STACK is left: no container, volume or network" ;;
    projects)
        projects_env
        python "$HERE/projects_check.py" "${2:-}" "$STATE.projects" ;;
    project-gone)
        project_gone "${2:?GONE}" "${3:?KEPT}" ;;
    serving)
        client_env
        python "$HERE/serving_check.py" "${2:-}" "${3:-}" "${4:-}" ;;
    *)
        sed -n '2,12p' "$0"; exit 2 ;;
esac
