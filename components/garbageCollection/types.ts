// GarbageCollection args per target. Imported by the class and both target files.
import type * as pulumi from "@pulumi/pulumi";
import type { BackendEngine, CpuArchitecture } from "../config";
import type { GcSchedule } from "./gc";

export const GARBAGE_COLLECTION_TYPE = "mlflow:index:GarbageCollection";

/** The server a gc belongs to: `/` or a project (artifacts under its prefix, its database). */
export interface GcServer {
    /** Unset: the server at `/`. */
    readonly project?: { readonly name: string; readonly staticPrefix: string; readonly artifactPrefix: string };
    readonly artifactBucket: pulumi.Input<string>;
}

export interface LocalGarbageCollectionArgs extends GcSchedule, GcServer {
    readonly target: "local";
    /** The server's MLflow image (the one tag the tracking server runs). */
    readonly image: pulumi.Input<string>;
    readonly networkName: pulumi.Input<string>;
    readonly s3EndpointUrl: pulumi.Input<string>;
    /** The server's SQLAlchemy URI with its credentials; secret. */
    readonly backendStoreUri: pulumi.Input<string>;
    /** The server's storage identity (its bucket or prefix only); the secret key is secret. */
    readonly artifactAccessKeyId: pulumi.Input<string>;
    readonly artifactSecretAccessKey: pulumi.Input<string>;
}

export interface AwsGarbageCollectionArgs extends GcSchedule, GcServer {
    readonly target: "aws";
    readonly region: string;
    /** The server's image, cluster and log group (its TrackingServer's `shared`). */
    readonly shared: {
        readonly imageName: pulumi.Input<string>;
        readonly repositoryArn: pulumi.Input<string>;
        readonly clusterArn: pulumi.Input<string>;
        readonly logGroupName: pulumi.Input<string>;
        readonly logGroupArn: pulumi.Input<string>;
    };
    /** The IAM policy of the server's task role (from BucketInit): the gc task role's only access. */
    readonly artifactAccessPolicyArn: pulumi.Input<string>;
    /** The server's database and its secret (`username`, `password`): the gc's only secret. */
    readonly database: {
        readonly engine: BackendEngine;
        readonly host: pulumi.Input<string>;
        readonly port: pulumi.Input<number>;
        readonly name: pulumi.Input<string>;
        readonly secretArn: pulumi.Input<string>;
    };
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly securityGroupId: pulumi.Input<string>;
    readonly assignPublicIp: boolean;
    readonly architecture: CpuArchitecture;
    readonly tags?: Record<string, string>;
}

export type GarbageCollectionArgs = LocalGarbageCollectionArgs | AwsGarbageCollectionArgs;
