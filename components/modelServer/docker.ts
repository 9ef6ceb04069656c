// Docker model server: one container per served model, from the tracking-server image, on the
// platform network. It holds no credential: it reads the registry and downloads artifacts through
// MLflow's internal port (artifacts by MLflow's proxy, so no bucket keys either).
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { envList, healthcheck, RESTART_POLICY, roleLabels } from "../docker/common";
import { MODEL_HEALTHCHECK_COMMAND, modelServerHost, renderModelServerEnvironment, SERVE_MODEL_COMMAND } from "../render/serving";
import type { DockerModelServerArgs, DockerModelServerOutputs } from "./types";

/** Label naming the registered model a container serves (docker ps --filter label=...). */
export const MODEL_LABEL = "mlflow-platform/model";

export function buildDockerModelServer(parent: pulumi.Resource, name: string, args: DockerModelServerArgs): DockerModelServerOutputs {
    const host = modelServerHost(args.model.name);
    const env = pulumi.output(args.trackingUpstream).apply(upstream => renderModelServerEnvironment({
        trackingUri: `http://${upstream}`, model: args.model, workers: args.workers, pollSeconds: args.pollSeconds,
    }));
    const container = new docker.Container(`${name}-server`, {
        name: `${name}-server`,
        image: args.image,
        entrypoints: SERVE_MODEL_COMMAND,
        envs: envList(env),
        networksAdvanced: [{ name: args.networkName, aliases: [host] }],
        healthcheck: healthcheck(MODEL_HEALTHCHECK_COMMAND),
        restart: RESTART_POLICY,
        labels: [...roleLabels("model-server"), { label: MODEL_LABEL, value: args.model.name }],
        // No `wait`: a model is usually registered after the platform exists, and until its alias
        // resolves the container is (correctly) unhealthy; `pulumi up` must not fail on that.
        // A fixed container name cannot exist twice (pulumi/pulumi-docker#1356).
    }, { parent, deleteBeforeReplace: true });
    return { route: { name: args.model.name, host }, containerId: container.id };
}
