// Docker tracking server: the MLflow image built locally from images/tracking-server, one
// container on the platform network; every credential reaches it through the environment.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { envList, healthcheck, LOG_ROTATION, RESTART_POLICY, roleLabels, WAIT_HEALTHY } from "../shared/docker";
import { TRACKING_SERVER_CONTEXT, trackingServerImageTag } from "./image";
import { ENTRYPOINT_COMMAND, healthcheckCommand, MLFLOW_HOSTNAME, MLFLOW_PORT, renderTrackingServerEnvironment } from "./mlflow";
import type { LocalTrackingServerArgs, LocalTrackingServerAuth, LocalTrackingServerOutputs } from "./types";
import { AUTH_ENV, renderAuthEnv } from "./auth";

export { MLFLOW_HOSTNAME };

/** The container's environment: rendered settings plus the credentials, all secret. */
function trackingServerEnv(args: LocalTrackingServerArgs & { workers: number }): pulumi.Output<Record<string, string>> {
    const settings = pulumi.all([args.artifactBucket, args.allowedHosts, args.corsAllowedOrigins, args.s3EndpointUrl])
        .apply(([artifactBucket, allowedHosts, corsAllowedOrigins, s3EndpointUrl]) => renderTrackingServerEnvironment({
            port: MLFLOW_PORT, workers: args.workers, artifactBucket, allowedHosts, corsAllowedOrigins, s3EndpointUrl,
            // Clients cannot resolve MinIO's name on the Docker network.
            presignedTransfers: false,
            // MinIO's default region; boto3 signs with it.
            s3Region: "us-east-1",
            aiGateway: args.aiGatewayKekPassphrase !== undefined,
            project: args.project,
            ...(args.logLevel === undefined ? {} : { logLevel: args.logLevel }),
            ...(args.jobExecution === undefined ? {} : { jobExecution: args.jobExecution }),
        }));
    // "" only while the gateway is off; then the key is not set at all.
    const kek = args.aiGatewayKekPassphrase ?? "";
    return pulumi.secret(pulumi.all([settings, args.backendStoreUri, args.artifactAccessKeyId, args.artifactSecretAccessKey, kek, authEnv(args.auth)])
        .apply(([plain, uri, keyId, secretKey, kekPassphrase, auth]): Record<string, string> => ({
            ...plain,
            MLFLOW_BACKEND_STORE_URI: uri,
            AWS_ACCESS_KEY_ID: keyId,
            AWS_SECRET_ACCESS_KEY: secretKey,
            ...(args.aiGatewayKekPassphrase === undefined ? {} : { MLFLOW_CRYPTO_KEK_PASSPHRASE: kekPassphrase }),
            ...auth,
        })));
}

/** The auth app's variables (trackingServer/auth.ts AUTH_ENV); none without accounts. */
function authEnv(auth: LocalTrackingServerAuth | undefined): pulumi.Output<Record<string, string>> {
    if (auth === undefined) return pulumi.output<Record<string, string>>({});
    const inBackendStore = auth.databaseUri === undefined;
    return pulumi.all([auth.databaseUri ?? "", auth.proxyToken, auth.flaskSecretKey]).apply(([databaseUri, token, key]): Record<string, string> => ({
        ...renderAuthEnv(auth.users, { inBackendStore }),
        ...(inBackendStore ? {} : { [AUTH_ENV.databaseUri]: databaseUri }),
        [AUTH_ENV.proxyToken]: token,
        [AUTH_ENV.flaskSecretKey]: key,
    }));
}

/** The MLflow image, built here from images/tracking-server. */
function trackingServerImage(parent: pulumi.Resource, name: string, pythonImage: string): pulumi.Output<string> {
    return new docker.Image(`${name}-image`, {
        imageName: `mlflow-platform/tracking-server:${trackingServerImageTag(pythonImage)}`,
        build: {
            context: TRACKING_SERVER_CONTEXT,
            dockerfile: `${TRACKING_SERVER_CONTEXT}/Dockerfile`,
            args: { PYTHON_IMAGE: pythonImage },
        },
        skipPush: true,
    }, { parent }).imageName;
}

export function buildDockerTrackingServer(
    parent: pulumi.Resource, name: string, args: LocalTrackingServerArgs & { workers: number },
): LocalTrackingServerOutputs {
    const imageName = args.project === undefined ? trackingServerImage(parent, name, args.pythonImage) : pulumi.output(args.project.image);
    const hostname = args.project?.hostname ?? MLFLOW_HOSTNAME;
    const container = new docker.Container(`${name}-mlflow`, {
        name: `${name}-mlflow`,
        image: imageName,
        entrypoints: ENTRYPOINT_COMMAND,
        envs: envList(trackingServerEnv(args)),
        networksAdvanced: [{ name: args.networkName, aliases: [hostname] }],
        healthcheck: healthcheck(healthcheckCommand(args.project?.staticPrefix ?? "")),
        restart: RESTART_POLICY,
        ...LOG_ROTATION,
        labels: roleLabels("tracking-server"),
        ...WAIT_HEALTHY,
        // A fixed container name cannot exist twice (pulumi/pulumi-docker#1356).
    }, { parent, deleteBeforeReplace: true });
    return {
        upstream: container.id.apply(() => `${hostname}:${MLFLOW_PORT}`),
        imageName,
        containerId: container.id,
    };
}
