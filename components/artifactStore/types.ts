// ArtifactStore args and outputs per flavour. Imported by the class and both flavour files.
import type * as pulumi from "@pulumi/pulumi";

export const ARTIFACT_STORE_TYPE = "mlflow:index:ArtifactStore";

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

export interface AwsArtifactStoreOutputs {
    readonly bucketName: pulumi.Output<string>;
    readonly bucketArn: pulumi.Output<string>;
}

export interface DockerArtifactStoreOutputs extends AwsArtifactStoreOutputs {
    /** S3 API endpoint as other containers reach it. */
    readonly s3EndpointUrl: pulumi.Output<string>;
    /** MinIO root identity. Only BucketInit receives it, never MLflow. */
    readonly rootUser: pulumi.Output<string>;
    readonly rootPassword: pulumi.Output<string>;
    /** Set only when the console is published. */
    readonly consoleUrl?: pulumi.Output<string>;
}

export interface ArtifactStoreOutputs {
    readonly docker: DockerArtifactStoreOutputs;
    readonly aws: AwsArtifactStoreOutputs;
}
