// ProjectPrune args and outputs. Imported by the class and the target file.
import type * as pulumi from "@pulumi/pulumi";
import type { BackendEngine } from "../config";

export const PROJECT_PRUNE_TYPE = "mlflow:index:ProjectPrune";

/** Docker only: AWS is not covered (docs/projects.md, "Removing a project"). */
export interface LocalProjectPruneArgs {
    readonly target: "local";
    /** The names in `projects` now: everything project-named outside this list is removed. */
    readonly keep: readonly string[];
    readonly engine: BackendEngine;
    readonly networkName: pulumi.Input<string>;
    /** The database server's image, pinned: it brings the client (mysql / psql). */
    readonly databaseImage: pulumi.Input<string>;
    /** The database server as the containers reach it; resolves once it is healthy. */
    readonly databaseHost: pulumi.Input<string>;
    readonly databasePort: pulumi.Input<number>;
    readonly adminUsername: pulumi.Input<string>;
    /** Secret; reaches the container through its environment only. */
    readonly adminPassword: pulumi.Input<string>;
    /** Never dropped even if they had a project's shape: `/`'s database and user. */
    readonly protectedNames: pulumi.Input<string>[];
    /** The pinned mc image. */
    readonly mcImage: pulumi.Input<string>;
    readonly bucketName: pulumi.Input<string>;
    readonly endpointUrl: pulumi.Input<string>;
    readonly rootUser: pulumi.Input<string>;
    /** Secret; reaches the container through its environment only. */
    readonly rootPassword: pulumi.Input<string>;
}

export type ProjectPruneArgs = LocalProjectPruneArgs;

export interface ProjectPruneOutputs {
    /** The kept list once both one-shot containers exited 0. */
    readonly kept: pulumi.Output<string[]>;
}
