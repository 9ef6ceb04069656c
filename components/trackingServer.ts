import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { buildAwsTrackingServer } from "./aws/trackingServer";
import type { BackendEngine, CpuArchitecture } from "./config";
import { envList, healthcheck, RESTART_POLICY, roleLabels, WAIT_HEALTHY } from "./docker/common";
import { TRACKING_SERVER_CONTEXT, trackingServerImageTag } from "./image";
import { ENTRYPOINT_COMMAND, HEALTHCHECK_COMMAND, MLFLOW_PORT, renderTrackingServerEnvironment } from "./render/mlflow";

export const MLFLOW_HOSTNAME = "mlflow";

/** Settings both flavours hand to the shared environment renderer. */
export interface TrackingServerCommonArgs {
    readonly artifactBucket: pulumi.Input<string>;
    /** Host names (optionally with :port or wildcards) clients use; MLflow rejects others. */
    readonly allowedHosts: pulumi.Input<string[]>;
    /** Browser origins of the UI, for MLflow's cross-origin check. */
    readonly corsAllowedOrigins: pulumi.Input<string[]>;
    readonly workers?: number;
    /** Base image for the build (pinned). */
    readonly pythonImage: string;
}

export interface DockerTrackingServerArgs extends TrackingServerCommonArgs {
    readonly platform: "docker";
    readonly networkName: pulumi.Input<string>;
    readonly s3EndpointUrl: pulumi.Input<string>;
    /** SQLAlchemy URI with credentials, secret. */
    readonly backendStoreUri: pulumi.Input<string>;
    /** The bucket-limited identity from BucketInit; never the MinIO root. */
    readonly artifactAccessKeyId: pulumi.Input<string>;
    readonly artifactSecretAccessKey: pulumi.Input<string>;
}

export interface AwsTrackingServerArgs extends TrackingServerCommonArgs {
    readonly platform: "aws";
    readonly region: string;
    /** IAM policy (from BucketInit) attached to the task role: the task's only AWS access. */
    readonly artifactAccessPolicyArn: pulumi.Input<string>;
    readonly database: {
        readonly engine: BackendEngine;
        readonly host: pulumi.Input<string>;
        readonly port: pulumi.Input<number>;
        readonly name: pulumi.Input<string>;
        /** Secrets Manager secret with `username` and `password` keys (Aurora's managed master secret). */
        readonly secretArn: pulumi.Input<string>;
    };
    /** Let idle DB connections close so Aurora Serverless can pause (min capacity 0). */
    readonly releaseIdleConnections: boolean;
    /** The authenticating nginx sidecar: the only container the load balancer reaches. */
    readonly proxy: {
        readonly image: string;
        readonly port: number;
        /** Rendered conf.d snippet (renderProxyConfig). */
        readonly config: pulumi.Input<string>;
        /** Secrets Manager secret holding the htpasswd line. */
        readonly htpasswdSecretArn: pulumi.Input<string>;
    };
    readonly targetGroupArn: pulumi.Input<string>;
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly securityGroupId: pulumi.Input<string>;
    /** Tasks get public IPs so they reach ECR, logs and Secrets Manager without a NAT gateway. */
    readonly assignPublicIp: boolean;
    readonly cpu: number;
    readonly memory: number;
    readonly architecture: CpuArchitecture;
    readonly desiredCount: number;
    readonly minTasks: number;
    readonly maxTasks: number;
    readonly ecrKeepImages: number;
    readonly logRetentionDays: number;
    readonly forceDeleteRepository?: boolean;
    readonly tags?: Record<string, string>;
}

export type TrackingServerArgs = DockerTrackingServerArgs | AwsTrackingServerArgs;

/**
 * The MLflow tracking server and model registry, from the image in images/tracking-server,
 * serving artifacts by proxy so clients need no storage credentials. Every setting and
 * credential reaches it through the environment; the command line holds none.
 */
export class TrackingServer extends pulumi.ComponentResource {
    /** host:port the authenticating proxy forwards to. */
    readonly upstream: pulumi.Output<string>;
    readonly imageName: pulumi.Output<string>;
    /** Docker: the MLflow container's id, which changes whenever the container is replaced. */
    readonly containerId?: pulumi.Output<string>;
    readonly ecrRepositoryUrl?: pulumi.Output<string>;
    readonly clusterName?: pulumi.Output<string>;
    readonly serviceName?: pulumi.Output<string>;

    constructor(name: string, args: TrackingServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlflow:index:TrackingServer", name, {}, opts);
        const workers = args.workers ?? 4;
        if (args.platform === "docker") {
            const image = new docker.Image(`${name}-image`, {
                imageName: `mlflow-platform/tracking-server:${trackingServerImageTag(args.pythonImage)}`,
                build: {
                    context: TRACKING_SERVER_CONTEXT,
                    dockerfile: `${TRACKING_SERVER_CONTEXT}/Dockerfile`,
                    args: { PYTHON_IMAGE: args.pythonImage },
                },
                skipPush: true,
            }, { parent: this });
            const settings = pulumi.all([args.artifactBucket, args.allowedHosts, args.corsAllowedOrigins, args.s3EndpointUrl])
                .apply(([artifactBucket, allowedHosts, corsAllowedOrigins, s3EndpointUrl]) => renderTrackingServerEnvironment({
                    port: MLFLOW_PORT, workers, artifactBucket, allowedHosts, corsAllowedOrigins, s3EndpointUrl,
                    // Clients cannot resolve MinIO's name on the Docker network.
                    presignedTransfers: false,
                    // MinIO's default region; boto3 signs with it.
                    s3Region: "us-east-1",
                }));
            const env = pulumi.secret(pulumi.all([settings, args.backendStoreUri, args.artifactAccessKeyId, args.artifactSecretAccessKey])
                .apply(([plain, uri, keyId, secretKey]) => ({
                    ...plain,
                    MLFLOW_BACKEND_STORE_URI: uri,
                    AWS_ACCESS_KEY_ID: keyId,
                    AWS_SECRET_ACCESS_KEY: secretKey,
                })));
            const container = new docker.Container(`${name}-mlflow`, {
                name: `${name}-mlflow`,
                image: image.imageName,
                entrypoints: ENTRYPOINT_COMMAND,
                envs: envList(env),
                networksAdvanced: [{ name: args.networkName, aliases: [MLFLOW_HOSTNAME] }],
                healthcheck: healthcheck(HEALTHCHECK_COMMAND),
                restart: RESTART_POLICY,
                labels: roleLabels("tracking-server"),
                ...WAIT_HEALTHY,
                // A fixed container name cannot exist twice (pulumi/pulumi-docker#1356).
            }, { parent: this, deleteBeforeReplace: true });
            this.upstream = container.id.apply(() => `${MLFLOW_HOSTNAME}:${MLFLOW_PORT}`);
            this.containerId = container.id;
            this.imageName = image.imageName;
        } else {
            const aws = buildAwsTrackingServer(this, name, { ...args, workers });
            this.upstream = pulumi.output(`127.0.0.1:${MLFLOW_PORT}`);
            this.imageName = aws.imageName;
            this.ecrRepositoryUrl = aws.ecrRepositoryUrl;
            this.clusterName = aws.clusterName;
            this.serviceName = aws.serviceName;
        }
        this.registerOutputs({
            upstream: this.upstream,
            imageName: this.imageName,
            ecrRepositoryUrl: this.ecrRepositoryUrl,
            clusterName: this.clusterName,
            serviceName: this.serviceName,
        });
    }
}
