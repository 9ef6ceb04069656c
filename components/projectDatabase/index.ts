// The ProjectDatabase component: the class only; args and outputs are in ./types, the
// Docker flavour's children in ./docker.
import * as pulumi from "@pulumi/pulumi";
import { buildDockerProjectDatabase } from "./docker";
import { PROJECT_DATABASE_TYPE, ProjectDatabaseArgs, ProjectDatabaseOutputs } from "./types";

export * from "./types";

/**
 * One project's database and database user on the platform's database server, reaching only
 * that database (render/projects.ts). Docker: a one-shot init container. The database lives
 * in the server's volume, so removing the project keeps it.
 */
export class ProjectDatabase extends pulumi.ComponentResource implements ProjectDatabaseOutputs {
    readonly databaseName!: pulumi.Output<string>;
    readonly username!: pulumi.Output<string>;
    readonly password!: pulumi.Output<string>;
    readonly connectionUri!: pulumi.Output<string>;

    constructor(name: string, args: ProjectDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super(PROJECT_DATABASE_TYPE, name, {}, opts);
        const o = buildDockerProjectDatabase(this, name, args);
        Object.assign(this, o);
        this.registerOutputs({ databaseName: o.databaseName, username: o.username });
    }
}
