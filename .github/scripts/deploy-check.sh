#!/usr/bin/env bash
# Checks of the real-deploy CI job (.github/workflows/ci.yml), run from the repository root with
# the stack selected and PULUMI_CONFIG_PASSPHRASE set. STACK names the stack (default dev).
#   deploy-check.sh log          client check: /health, 401, a run with params/metrics/artifact
#   deploy-check.sh verify       the first logged run is still there and intact
#   deploy-check.sh expect-kept  after `pulumi destroy` with data kept: no container, both volumes
#   deploy-check.sh expect-gone  after destroy with retainDataOnDestroy=false: nothing left
#   deploy-check.sh projects log|verify|isolation
#                                the `projects` output's servers (projects_check.py)
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
    serving)
        client_env
        python "$HERE/serving_check.py" "${2:-}" "${3:-}" "${4:-}" ;;
    *)
        sed -n '2,12p' "$0"; exit 2 ;;
esac
