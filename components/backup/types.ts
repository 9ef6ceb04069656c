// Backup args. Imported by the class and the target file.
import type * as pulumi from "@pulumi/pulumi";
import type { BackendEngine } from "../config";
import type { BackupSchedule } from "./backup";

export const BACKUP_TYPE = "mlflow:index:Backup";

export interface LocalBackupArgs extends BackupSchedule {
    readonly target: "local";
    readonly engine: BackendEngine;
    readonly networkName: pulumi.Input<string>;
    /** The database server's image, pinned: its mysqldump / pg_dump match the server. */
    readonly databaseImage: pulumi.Input<string>;
    /** The MLflow image (Python and boto3) for the artifact copy. */
    readonly mlflowImage: pulumi.Input<string>;
    /** The database server as the containers reach it; resolves once it is healthy. */
    readonly host: pulumi.Input<string>;
    readonly port: pulumi.Input<number>;
    /** The server's administrator; secret. Only the one-shot container creating the backup user gets it. */
    readonly adminUsername: pulumi.Input<string>;
    readonly adminPassword: pulumi.Input<string>;
    /** Every database the platform holds: `/`'s, each project's, the auth app's. */
    readonly databases: readonly string[];
    /** MinIO: the bucket, the mc image and the root login that creates the backup's read-only identity. */
    readonly minio: {
        readonly bucketName: pulumi.Input<string>;
        readonly image: pulumi.Input<string>;
        readonly endpointUrl: pulumi.Input<string>;
        readonly rootUser: pulumi.Input<string>;
        readonly rootPassword: pulumi.Input<string>;
    };
}

export type BackupArgs = LocalBackupArgs;
