// ProjectDatabase args and outputs. Imported by the class and the flavour file.
import type * as pulumi from "@pulumi/pulumi";
import type { BackendEngine } from "../config";

export const PROJECT_DATABASE_TYPE = "mlflow:index:ProjectDatabase";

export interface DockerProjectDatabaseArgs {
    readonly platform: "docker";
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

export type ProjectDatabaseArgs = DockerProjectDatabaseArgs;

export interface ProjectDatabaseOutputs {
    readonly databaseName: pulumi.Output<string>;
    readonly username: pulumi.Output<string>;
    /** The project user's password, secret. */
    readonly password: pulumi.Output<string>;
    /** SQLAlchemy URI of the project's database as its user, secret; resolves after the init container exited 0. */
    readonly connectionUri: pulumi.Output<string>;
}
