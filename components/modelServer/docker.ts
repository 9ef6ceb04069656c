// Docker model server: one container per served model, from the tracking-server image, on the
// serving network only. Its one credential is its own reader account: it reads the registry and
// downloads artifacts through the proxy's read-only registry endpoint (GET only, API paths only;
// artifacts by MLflow's proxy, so no bucket keys either), and cannot reach MLflow, MinIO or the DB.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { basicAuthCredentials } from "../shared/credentials";
import { envList, healthcheck, LOG_ROTATION, RESTART_POLICY, roleLabels } from "../shared/docker";
import { readerUsername } from "../authProxy/registryReader";
import {
    MODEL_HEALTHCHECK_COMMAND, modelServerHost, renderModelServerEnvironment, renderModelServerSecretEnvironment, SERVE_MODEL_COMMAND,
} from "./serving";
import type { LocalModelServerArgs, LocalModelServerOutputs } from "./types";

/** Label naming the registered model a container serves (docker ps --filter label=...). */
export const MODEL_LABEL = "mlflow-platform/model";

export function buildDockerModelServer(parent: pulumi.Resource, name: string, args: LocalModelServerArgs): LocalModelServerOutputs {
    const host = modelServerHost(args.model.name);
    const username = readerUsername(args.model.name);
    // A generated password and a salt kept in state, as the proxy's own login (credentials.ts).
    const reader = basicAuthCredentials(parent, `${name}-reader`, username);
    const plain = renderModelServerEnvironment({
        trackingUri: args.registryUri, model: args.model, workers: args.workers, pollSeconds: args.pollSeconds, readerUsername: username,
    });
    // The whole list is secret because one entry is (a preview shows it as [secret]).
    const env = pulumi.secret(reader.password.apply(p => ({ ...plain, ...renderModelServerSecretEnvironment(p) })));
    const container = new docker.Container(`${name}-server`, {
        name: `${name}-server`,
        image: args.image,
        entrypoints: SERVE_MODEL_COMMAND,
        envs: envList(env),
        networksAdvanced: [{ name: args.networkName, aliases: [host] }],
        // A model that grows is killed (and restarted) at its own limit, not the host's other
        // containers; memorySwap equal to memory: no swap on top of it.
        memory: args.memoryMb,
        memorySwap: args.memoryMb,
        healthcheck: healthcheck(MODEL_HEALTHCHECK_COMMAND),
        restart: RESTART_POLICY,
        ...LOG_ROTATION,
        labels: [...roleLabels("model-server"), { label: MODEL_LABEL, value: args.model.name }],
        // No `wait`: a model is usually registered after the platform exists, and until its alias
        // resolves the container is (correctly) unhealthy; `pulumi up` must not fail on that.
        // A fixed container name cannot exist twice (pulumi/pulumi-docker#1356).
    }, { parent, deleteBeforeReplace: true });
    return { route: { name: args.model.name, host }, containerId: container.id, readerHtpasswdLine: reader.htpasswd };
}
