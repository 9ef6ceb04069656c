// Docker gc: one long-running container per server from the server's own MLflow image, on the
// platform network, with the server's database URI and storage identity as its only secrets.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { envList, healthcheck, LOG_ROTATION, RESTART_POLICY, roleLabels } from "../shared/docker";
import { GC_HEALTHCHECK_COMMAND, GC_LOOP_COMMAND, renderGcEnvironment, renderLocalServerEnvironment } from "./gc";
import type { LocalGarbageCollectionArgs } from "./types";

export function buildDockerGarbageCollection(parent: pulumi.Resource, name: string, args: LocalGarbageCollectionArgs): docker.Container {
    const settings = pulumi.all([args.artifactBucket, args.s3EndpointUrl]).apply(([artifactBucket, s3EndpointUrl]) =>
        renderGcEnvironment(renderLocalServerEnvironment({ artifactBucket, s3EndpointUrl, ...(args.project ? { project: args.project } : {}) }), { ...args, loop: true }));
    const env = pulumi.secret(pulumi.all([settings, args.backendStoreUri, args.artifactAccessKeyId, args.artifactSecretAccessKey])
        .apply(([plain, uri, keyId, secretKey]): Record<string, string> => ({
            ...plain, MLFLOW_BACKEND_STORE_URI: uri, AWS_ACCESS_KEY_ID: keyId, AWS_SECRET_ACCESS_KEY: secretKey,
        })));
    // `docker logs <name>`: the container is named as the component; the resource name differs from the component's.
    return new docker.Container(`${name}-container`, {
        name,
        image: args.image,
        entrypoints: GC_LOOP_COMMAND,
        envs: envList(env),
        networksAdvanced: [{ name: args.networkName }],
        healthcheck: healthcheck(GC_HEALTHCHECK_COMMAND),
        restart: RESTART_POLICY,
        ...LOG_ROTATION,
        labels: roleLabels("garbage-collection"),
        // A fixed container name cannot exist twice (pulumi/pulumi-docker#1356).
    }, { parent, deleteBeforeReplace: true });
}
