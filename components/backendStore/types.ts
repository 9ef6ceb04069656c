// BackendStore args and outputs per target. Imported by the class and both target files.
import type * as pulumi from "@pulumi/pulumi";
import type { BackendEngine } from "../config";

export const BACKEND_STORE_TYPE = "mlflow:index:BackendStore";

/** The database of the server at `/` when databaseName is unset. */
export const DEFAULT_DATABASE_NAME = "mlflow";

export interface LocalBackendStoreArgs {
    readonly target: "local";
    readonly engine: BackendEngine;
    readonly networkName: pulumi.Input<string>;
    /** Pinned MySQL or PostgreSQL image, matching `engine`. */
    readonly image: pulumi.Input<string>;
    readonly databaseName?: string;
    readonly username?: string;
    /** Keep the data volume on `pulumi destroy` (default true). */
    readonly retainOnDelete?: boolean;
}

export interface AwsBackendStoreArgs {
    readonly target: "aws";
    readonly engine: BackendEngine;
    readonly engineVersion: string;
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Security group that admits the database port only from the tracking server. */
    readonly securityGroupId: pulumi.Input<string>;
    readonly minCapacity: number;
    readonly maxCapacity: number;
    readonly autoPauseSeconds: number;
    readonly backupRetentionDays: number;
    /** Daily backup window, UTC "hh24:mi-hh24:mi"; undefined lets AWS choose (and leaves the input unset). */
    readonly backupWindow?: string;
    readonly deletionProtection: boolean;
    /** Aurora reader instances beside the writer (default 0); with 1 or more, `readerHost` is the reader endpoint. */
    readonly readerInstances?: number;
    readonly databaseName?: string;
    /** Keep the cluster (and take a final snapshot) on `pulumi destroy` (default true). */
    readonly retainOnDelete?: boolean;
    readonly tags?: Record<string, string>;
}

export type BackendStoreArgs = LocalBackendStoreArgs | AwsBackendStoreArgs;

/** What both targets give the tracking server. */
export interface BackendStoreCommonOutputs {
    readonly engine: BackendEngine;
    /** Host name as the tracking server reaches it (docker alias or cluster endpoint). */
    readonly host: pulumi.Output<string>;
    readonly port: pulumi.Output<number>;
    readonly databaseName: pulumi.Output<string>;
    readonly username: pulumi.Output<string>;
}

export interface LocalBackendStoreOutputs extends BackendStoreCommonOutputs {
    /** The server's administrator (root / postgres) and its password, secret: for project databases only. */
    readonly adminUsername: pulumi.Output<string>;
    readonly adminPassword: pulumi.Output<string>;
    /** Application user's password, secret. */
    readonly password: pulumi.Output<string>;
    /** SQLAlchemy URI with URL-encoded credentials, secret. */
    readonly connectionUri: pulumi.Output<string>;
}

export interface AwsBackendStoreOutputs extends BackendStoreCommonOutputs {
    /** Secrets Manager secret holding the master credentials. */
    readonly secretArn: pulumi.Output<string>;
    /** The cluster's identifier: CloudWatch's DBClusterIdentifier dimension, for the alarms. */
    readonly clusterIdentifier: pulumi.Output<string>;
    /** The cluster's reader endpoint, only with readerInstances >= 1 (MLflow's read-replica host). */
    readonly readerHost?: pulumi.Output<string>;
}

export interface BackendStoreOutputs {
    readonly local: LocalBackendStoreOutputs;
    readonly aws: AwsBackendStoreOutputs;
}
