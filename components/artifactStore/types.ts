// ArtifactStore args and outputs per target. Imported by the class and both target files.
import type * as pulumi from "@pulumi/pulumi";

export const ARTIFACT_STORE_TYPE = "mlflow:index:ArtifactStore";

export interface LocalArtifactStoreArgs {
    readonly target: "local";
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
    readonly target: "aws";
    /** Explicit bucket name; otherwise Pulumi auto-names it from the component name (globally unique). */
    readonly bucketName?: pulumi.Input<string>;
    /** Days after which noncurrent object versions are expired (default 30). */
    readonly noncurrentVersionExpirationDays?: pulumi.Input<number>;
    /** Keep the bucket and its objects on `pulumi destroy` (default true); false also allows force-destroy. */
    readonly retainOnDelete?: boolean;
    readonly tags?: Record<string, string>;
}

export type ArtifactStoreArgs = LocalArtifactStoreArgs | AwsArtifactStoreArgs;

export interface AwsArtifactStoreOutputs {
    readonly bucketName: pulumi.Output<string>;
    readonly bucketArn: pulumi.Output<string>;
}

export interface LocalArtifactStoreOutputs extends AwsArtifactStoreOutputs {
    /** S3 API endpoint as other containers reach it. */
    readonly s3EndpointUrl: pulumi.Output<string>;
    /** MinIO root identity. Only BucketInit receives it, never MLflow. */
    readonly rootUser: pulumi.Output<string>;
    readonly rootPassword: pulumi.Output<string>;
    /** Set only when the console is published. */
    readonly consoleUrl?: pulumi.Output<string>;
}

export interface ArtifactStoreOutputs {
    readonly local: LocalArtifactStoreOutputs;
    readonly aws: AwsArtifactStoreOutputs;
}
