// BucketInit args and outputs per target. Imported by the class and both target files.
import type * as pulumi from "@pulumi/pulumi";

export const BUCKET_INIT_TYPE = "mlflow:index:BucketInit";

export interface LocalBucketInitArgs {
    readonly target: "local";
    readonly bucketName: pulumi.Input<string>;
    readonly networkName: pulumi.Input<string>;
    /** Pinned MinIO client (mc) image. */
    readonly image: pulumi.Input<string>;
    readonly endpointUrl: pulumi.Input<string>;
    readonly rootUser: pulumi.Input<string>;
    readonly rootPassword: pulumi.Input<string>;
    /** Access key of the identity MLflow uses (default "mlflow-tracking"). */
    readonly accessKeyId?: string;
    /** Limit the identity to keys under this prefix (a project's `projects/<name>/`); default the whole bucket except `projects/` (the server at `/`). */
    readonly prefix?: string;
    /** Read-only on the whole bucket (the backup's identity); `prefix` is then ignored. */
    readonly readOnly?: boolean;
    /** The container's role label; default "bucket-init". */
    readonly role?: "bucket-init" | "backup-init";
}

export interface AwsBucketInitArgs {
    readonly target: "aws";
    readonly bucketName: pulumi.Input<string>;
    readonly bucketArn: pulumi.Input<string>;
    readonly tags?: Record<string, string>;
    /** Limit the policy to keys under this prefix (a project's `projects/<name>/`); default the whole bucket except `projects/` (the server at `/`). */
    readonly prefix?: string;
}

export type BucketInitArgs = LocalBucketInitArgs | AwsBucketInitArgs;

export interface LocalBucketInitOutputs {
    /** Identity for MLflow; resolves only after the init container exited 0. */
    readonly accessKeyId: pulumi.Output<string>;
    readonly secretAccessKey: pulumi.Output<string>;
}

export interface AwsBucketInitOutputs {
    /** IAM policy granting object access to the bucket only. */
    readonly policyArn: pulumi.Output<string>;
}

export interface BucketInitOutputs {
    readonly local: LocalBucketInitOutputs;
    readonly aws: AwsBucketInitOutputs;
}
