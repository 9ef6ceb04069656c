// ProjectDatabase args and outputs. Imported by the class and the target file.
import type * as pulumi from "@pulumi/pulumi";
import type { BackendEngine } from "../config";

export const PROJECT_DATABASE_TYPE = "mlflow:index:ProjectDatabase";

export interface LocalProjectDatabaseArgs {
    readonly target: "local";
    readonly engine: BackendEngine;
    readonly networkName: pulumi.Input<string>;
    /** The database server's image, pinned: it brings the client (mysql / psql) the init script runs. */
    readonly image: pulumi.Input<string>;
    /** The database server as the containers reach it; resolves once it is healthy. */
    readonly host: pulumi.Input<string>;
    readonly port: pulumi.Input<number>;
    readonly adminUsername: pulumi.Input<string>;
    /** Secret; reaches the init container through its environment only. */
    readonly adminPassword: pulumi.Input<string>;
    readonly databaseName: string;
    readonly username: string;
}

export interface AwsProjectDatabaseArgs {
    readonly target: "aws";
    readonly databaseName: string;
    readonly username: string;
    /** Keep the password's secret on destroy (it opens the project's kept database). */
    readonly retainOnDelete?: boolean;
    readonly tags?: Record<string, string>;
    /**
     * Where the database is: the secret then also holds `uri`, the SQLAlchemy URI with verified
     * TLS, for a container that takes a URI (the auth app's). Unset: `username` and `password` only.
     */
    readonly uriOf?: { readonly engine: BackendEngine; readonly host: pulumi.Input<string>; readonly port: pulumi.Input<number> };
}

export type ProjectDatabaseArgs = LocalProjectDatabaseArgs | AwsProjectDatabaseArgs;

/** AWS: the project user's credentials in Secrets Manager; the project task's init container creates the user. */
export interface AwsProjectDatabaseOutputs {
    readonly databaseName: pulumi.Output<string>;
    readonly username: pulumi.Output<string>;
    /** Secrets Manager secret with `username` and `password` keys (the master secret's shape). */
    readonly secretArn: pulumi.Output<string>;
}

export interface ProjectDatabaseOutputsByTarget {
    readonly local: ProjectDatabaseOutputs;
    readonly aws: AwsProjectDatabaseOutputs;
}

export interface ProjectDatabaseOutputs {
    readonly databaseName: pulumi.Output<string>;
    readonly username: pulumi.Output<string>;
    /** The project user's password, secret. */
    readonly password: pulumi.Output<string>;
    /** SQLAlchemy URI of the project's database as its user, secret; resolves after the init container exited 0. */
    readonly connectionUri: pulumi.Output<string>;
}
