// Docker project database: a one-shot container from the database server's own image that
// creates (or reconciles) the project's database, user, password and grants, and must exit 0
// before the project's tracking server starts.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { envList, exitedZero, ONE_SHOT, pulledImage, roleLabels } from "../shared/docker";
import { renderDatabaseUri } from "../backendStore/database";
import { PROJECT_DB_ENV, PROJECT_DB_FILES, projectDatabaseFailureMessage, renderProjectDatabaseScript, renderProjectMysqlSql } from "../shared/projects";
import type { LocalProjectDatabaseArgs, ProjectDatabaseOutputs } from "./types";

/** The same characters as the backend store's generated passwords: they exercise URI encoding. */
const PASSWORD_SPECIALS = "-_.~@:%+=";

function uploads(args: LocalProjectDatabaseArgs, password: pulumi.Output<string>): pulumi.Output<docker.types.input.ContainerUpload[]> {
    const script = { file: PROJECT_DB_FILES.script, content: renderProjectDatabaseScript(args.engine), executable: true };
    if (args.engine !== "mysql") return pulumi.output([script]);
    // Secret: the SQL holds the project user's password.
    return pulumi.secret(password.apply(p => [script,
        { file: PROJECT_DB_FILES.mysqlSql, content: renderProjectMysqlSql(args.databaseName, args.username, p) }]));
}

export function buildDockerProjectDatabase(parent: pulumi.Resource, name: string, args: LocalProjectDatabaseArgs): ProjectDatabaseOutputs {
    const password = new random.RandomPassword(`${name}-password`, { length: 32, special: true, overrideSpecial: PASSWORD_SPECIALS, minSpecial: 2 }, { parent });
    const image = pulledImage(`${name}-image`, args.image, parent);
    const e = PROJECT_DB_ENV;
    const container = new docker.Container(`${name}-init`, {
        name: `${name}-init`,
        image: image.imageId,
        entrypoints: ["/bin/sh"],
        command: [PROJECT_DB_FILES.script],
        envs: envList({
            [e.host]: args.host,
            [e.port]: pulumi.output(args.port).apply(String),
            [e.adminUser]: args.adminUsername,
            [e.adminPassword]: pulumi.secret(args.adminPassword),
            [e.user]: args.username,
            [e.password]: pulumi.secret(password.result),
            [e.database]: args.databaseName,
        }),
        uploads: uploads(args, password.result),
        networksAdvanced: [{ name: args.networkName }],
        labels: roleLabels("project-database"),
        ...ONE_SHOT,
    }, { parent, deleteBeforeReplace: true });
    const succeeded = exitedZero(container, (code, urn) => projectDatabaseFailureMessage(code, `${name}-init`, urn));
    return {
        databaseName: pulumi.output(args.databaseName),
        username: pulumi.output(args.username),
        password: pulumi.secret(password.result),
        connectionUri: pulumi.secret(pulumi.all([succeeded, args.host, args.port, password.result]).apply(([, host, port, p]) =>
            renderDatabaseUri({ engine: args.engine, host, port, database: args.databaseName, username: args.username, password: p }))),
    };
}
