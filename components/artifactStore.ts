import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { buildAwsArtifactStore } from "./aws/artifactStore";
import { healthcheck, pulledImage, RESTART_POLICY, roleLabels, WAIT_HEALTHY, envList } from "./docker/common";

export const MINIO_HOSTNAME = "minio";
export const MINIO_API_PORT = 9000;
export const MINIO_CONSOLE_PORT = 9001;

export interface DockerArtifactStoreArgs {
    readonly platform: "docker";
    readonly bucketName: pulumi.Input<string>;
    readonly networkName: pulumi.Input<string>;
    /** Pinned MinIO server image. */
    readonly image: pulumi.Input<string>;
    /** Publish the MinIO console on the host (off by default). */
    readonly exposeConsole?: boolean;
    readonly consolePort?: number;
    readonly consoleBindAddress?: string;
    /** Keep the data volume on `pulumi destroy` (default true). */
    readonly retainOnDelete?: boolean;
}

export interface AwsArtifactStoreArgs {
    readonly platform: "aws";
    /** Explicit bucket name; otherwise Pulumi auto-names it from the component name (globally unique). */
    readonly bucketName?: pulumi.Input<string>;
    /** Days after which noncurrent object versions are expired (default 30). */
    readonly noncurrentVersionExpirationDays?: pulumi.Input<number>;
    /** Keep the bucket and its objects on `pulumi destroy` (default true); false also allows force-destroy. */
    readonly retainOnDelete?: boolean;
    readonly tags?: Record<string, string>;
}

export type ArtifactStoreArgs = DockerArtifactStoreArgs | AwsArtifactStoreArgs;

/**
 * Object storage for MLflow artifacts. Docker: MinIO with a named volume and generated root
 * credentials (used only by BucketInit). AWS: an encrypted, versioned, private S3 bucket.
 */
export class ArtifactStore extends pulumi.ComponentResource {
    readonly bucketName: pulumi.Output<string>;
    readonly bucketArn: pulumi.Output<string>;
    /** S3 API endpoint as other containers reach it (docker flavour); undefined on AWS. */
    readonly s3EndpointUrl?: pulumi.Output<string>;
    /** MinIO root identity (docker flavour). Only BucketInit receives it, never MLflow. */
    readonly rootUser?: pulumi.Output<string>;
    readonly rootPassword?: pulumi.Output<string>;
    readonly consoleUrl?: pulumi.Output<string>;

    constructor(name: string, args: ArtifactStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlflow:index:ArtifactStore", name, {}, opts);
        if (args.platform === "docker") {
            const retainOnDelete = args.retainOnDelete ?? true;
            const image = pulledImage(`${name}-image`, args.image, this);
            const volume = new docker.Volume(`${name}-data`, { name: `${name}-data` }, { parent: this, retainOnDelete });
            const rootUser = "minio-root";
            // Alphanumeric: the bucket-init script embeds it in an MC_HOST_ URL.
            const rootPassword = new random.RandomPassword(`${name}-root-password`, { length: 40, special: false }, { parent: this });
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
                labels: roleLabels("artifact-store"),
                ...WAIT_HEALTHY,
            }, { parent: this });
            // Derived from the container so consumers start only once MinIO is healthy.
            this.s3EndpointUrl = container.id.apply(() => `http://${MINIO_HOSTNAME}:${MINIO_API_PORT}`);
            this.bucketName = pulumi.output(args.bucketName);
            this.bucketArn = this.bucketName.apply(b => `arn:aws:s3:::${b}`);
            this.rootUser = container.id.apply(() => rootUser);
            this.rootPassword = pulumi.secret(rootPassword.result);
            if (args.exposeConsole) {
                const host = bindAddress === "0.0.0.0" ? "localhost" : bindAddress;
                this.consoleUrl = pulumi.output(`http://${host}:${consolePort}`);
            }
        } else {
            const aws = buildAwsArtifactStore(this, name, args);
            this.bucketName = aws.bucketName;
            this.bucketArn = aws.bucketArn;
        }
        this.registerOutputs({
            bucketName: this.bucketName,
            bucketArn: this.bucketArn,
            s3EndpointUrl: this.s3EndpointUrl,
            consoleUrl: this.consoleUrl,
        });
    }
}
