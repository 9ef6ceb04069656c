// The ProjectDatabase component: the class only; args and outputs are in ./types, the
// local target's children in ./docker.
import * as pulumi from "@pulumi/pulumi";
import type { Target, TargetedConstructor } from "../shared/target";
import { buildAwsProjectDatabase } from "./aws";
import { buildDockerProjectDatabase } from "./docker";
import { AwsProjectDatabaseOutputs, PROJECT_DATABASE_TYPE, ProjectDatabaseArgs, ProjectDatabaseOutputs, ProjectDatabaseOutputsByTarget } from "./types";

export * from "./types";

/**
 * One project's database and database user on the platform's database server, reaching only
 * that database (shared/projects.ts). Docker: a one-shot init container. The database lives
 * in the server's volume, so removing the project keeps it. AWS: the user's password in
 * Secrets Manager; the project task's init container creates the user and database.
 */
class ProjectDatabaseComponent extends pulumi.ComponentResource {
    constructor(name: string, args: ProjectDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super(PROJECT_DATABASE_TYPE, name, {}, opts);
        const o: Partial<ProjectDatabaseOutputs & AwsProjectDatabaseOutputs> & { databaseName: pulumi.Output<string>; username: pulumi.Output<string> } =
            args.target === "local" ? buildDockerProjectDatabase(this, name, args) : buildAwsProjectDatabase(this, name, args);
        Object.assign(this, o);
        this.registerOutputs({ databaseName: o.databaseName, username: o.username });
    }
}

/** A ProjectDatabase whose outputs are those of target F. */
export type ProjectDatabase<F extends Target = Target> = ProjectDatabaseComponent & ProjectDatabaseOutputsByTarget[F];
export const ProjectDatabase = ProjectDatabaseComponent as TargetedConstructor<ProjectDatabaseArgs, ProjectDatabaseComponent, ProjectDatabaseOutputsByTarget>;
