// Docker artifact store: MinIO with a named volume and generated root credentials (used
// only by BucketInit).
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { envList, healthcheck, pulledImage, LOG_ROTATION, RESTART_POLICY, roleLabels, WAIT_HEALTHY } from "../shared/docker";
import type { LocalArtifactStoreArgs, LocalArtifactStoreOutputs } from "./types";

export const MINIO_HOSTNAME = "minio";
export const MINIO_API_PORT = 9000;
export const MINIO_CONSOLE_PORT = 9001;

export function buildDockerArtifactStore(parent: pulumi.Resource, name: string, args: LocalArtifactStoreArgs): LocalArtifactStoreOutputs {
    const retainOnDelete = args.retainOnDelete ?? true;
    const image = pulledImage(`${name}-image`, args.image, parent);
    const volume = new docker.Volume(`${name}-data`, { name: `${name}-data` }, { parent, retainOnDelete });
    const rootUser = "minio-root";
    // Alphanumeric: the bucket-init script embeds it in an MC_HOST_ URL.
    const rootPassword = new random.RandomPassword(`${name}-root-password`, { length: 40, special: false }, { parent });
    const consolePort = args.consolePort ?? 9001;
    const bindAddress = args.consoleBindAddress ?? "127.0.0.1";
    const container = new docker.Container(`${name}-minio`, {
        name: `${name}-minio`,
        image: image.imageId,
        command: ["server", "/data", "--console-address", `:${MINIO_CONSOLE_PORT}`],
        envs: envList({
            MINIO_ROOT_USER: rootUser,
            MINIO_ROOT_PASSWORD: pulumi.secret(rootPassword.result),
            MINIO_BROWSER: args.exposeConsole ? "on" : "off",
        }),
        volumes: [{ volumeName: volume.name, containerPath: "/data" }],
        networksAdvanced: [{ name: args.networkName, aliases: [MINIO_HOSTNAME] }],
        ports: args.exposeConsole ? [{ internal: MINIO_CONSOLE_PORT, external: consolePort, ip: bindAddress, protocol: "tcp" }] : [],
        healthcheck: healthcheck(["CMD", "mc", "ready", "local"]),
        restart: RESTART_POLICY,
        ...LOG_ROTATION,
        labels: roleLabels("artifact-store"),
        ...WAIT_HEALTHY,
        // A fixed name cannot exist twice, and two MinIO servers must not share the data volume
        // (pulumi/pulumi-docker#1356: the provider creates the replacement first by default).
    }, { parent, deleteBeforeReplace: true });
    const bucketName = pulumi.output(args.bucketName);
    const consoleHost = bindAddress === "0.0.0.0" ? "localhost" : bindAddress;
    return {
        // Derived from the container so consumers start only once MinIO is healthy.
        s3EndpointUrl: container.id.apply(() => `http://${MINIO_HOSTNAME}:${MINIO_API_PORT}`),
        bucketName,
        bucketArn: bucketName.apply(b => `arn:aws:s3:::${b}`),
        rootUser: container.id.apply(() => rootUser),
        rootPassword: pulumi.secret(rootPassword.result),
        consoleUrl: args.exposeConsole ? pulumi.output(`http://${consoleHost}:${consolePort}`) : undefined,
    };
}
