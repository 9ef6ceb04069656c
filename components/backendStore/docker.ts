// Docker backend store: MySQL 8 (utf8mb4) or PostgreSQL with a named volume, an application
// user distinct from the admin user, generated passwords.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { envList, healthcheck, pulledImage, LOG_ROTATION, RESTART_POLICY, roleLabels, WAIT_HEALTHY } from "../shared/docker";
import { DATA_DIRS, DB_FILES, ENGINES, MYSQL_SERVER_ARGS, POSTGRES_APP_ENV, renderDatabaseFiles, renderDatabaseUri } from "./database";
import type { LocalBackendStoreArgs, LocalBackendStoreOutputs } from "./types";

export const DATABASE_HOSTNAME = "db";

/** Generated database passwords include the characters that break unencoded URIs. */
const DB_PASSWORD_SPECIALS = "-_.~@:%+=";

type Passwords = { admin: random.RandomPassword; app: random.RandomPassword };

/** The official images' environment: admin and application credentials, database name. */
function databaseEnv(isMysql: boolean, databaseName: string, username: string, p: Passwords): Record<string, pulumi.Input<string>> {
    return isMysql
        ? {
            MYSQL_ROOT_PASSWORD: pulumi.secret(p.admin.result),
            MYSQL_DATABASE: databaseName,
            MYSQL_USER: username,
            MYSQL_PASSWORD: pulumi.secret(p.app.result),
        }
        : {
            POSTGRES_USER: "postgres",
            POSTGRES_PASSWORD: pulumi.secret(p.admin.result),
            [POSTGRES_APP_ENV.user]: username,
            [POSTGRES_APP_ENV.password]: pulumi.secret(p.app.result),
            [POSTGRES_APP_ENV.database]: databaseName,
        };
}

export function buildDockerBackendStore(
    parent: pulumi.Resource, name: string, args: LocalBackendStoreArgs & { databaseName: string },
): LocalBackendStoreOutputs {
    const { databaseName } = args;
    const username = args.username ?? "mlflow";
    const engine = ENGINES[args.engine];
    const retainOnDelete = args.retainOnDelete ?? true;
    const passwordArgs = { length: 32, special: true, overrideSpecial: DB_PASSWORD_SPECIALS, minSpecial: 2 };
    const admin = new random.RandomPassword(`${name}-admin-password`, passwordArgs, { parent });
    const app = new random.RandomPassword(`${name}-app-password`, passwordArgs, { parent });
    const image = pulledImage(`${name}-image`, args.image, parent);
    const isMysql = args.engine === "mysql";
    const volume = new docker.Volume(`${name}-data`, { name: `${name}-data` }, { parent, retainOnDelete });
    const container = new docker.Container(`${name}-db`, {
        name: `${name}-db`,
        image: image.imageId,
        // A wrapper that applies this deploy's passwords at every start, also on a kept volume.
        entrypoints: [DB_FILES.entrypoint],
        command: isMysql ? MYSQL_SERVER_ARGS : [],
        envs: envList(databaseEnv(isMysql, databaseName, username, { admin, app })),
        // Secret: the MySQL reconcile SQL holds both passwords.
        uploads: pulumi.secret(pulumi.all([admin.result, app.result]).apply(([adminPw, appPw]) =>
            renderDatabaseFiles(args.engine, { database: databaseName, username, appPassword: appPw, adminPassword: adminPw }))),
        volumes: [{ volumeName: volume.name, containerPath: DATA_DIRS[args.engine] }],
        networksAdvanced: [{ name: args.networkName, aliases: [DATABASE_HOSTNAME] }],
        // Over TCP, so the entrypoint's socket-only bootstrap server does not count as ready.
        healthcheck: healthcheck(isMysql
            ? ["CMD", "mysqladmin", "ping", "--host=127.0.0.1", "--silent"]
            : ["CMD", "pg_isready", "--host=127.0.0.1", `--username=${username}`, `--dbname=${databaseName}`]),
        restart: RESTART_POLICY,
        ...LOG_ROTATION,
        labels: roleLabels("backend-store"),
        ...WAIT_HEALTHY,
        // A fixed name cannot exist twice, and two database servers must not share the data
        // volume (pulumi/pulumi-docker#1356: the provider creates the replacement first by default).
    }, { parent, deleteBeforeReplace: true });
    // Derived from the container so consumers start only once the database is healthy.
    const host = container.id.apply(() => DATABASE_HOSTNAME);
    return {
        engine: args.engine,
        host,
        port: pulumi.output(engine.port),
        databaseName: pulumi.output(databaseName),
        username: pulumi.output(username),
        password: pulumi.secret(app.result),
        adminUsername: pulumi.output(isMysql ? "root" : "postgres"),
        adminPassword: pulumi.secret(admin.result),
        connectionUri: pulumi.secret(pulumi.all([host, app.result]).apply(([h, password]) =>
            renderDatabaseUri({ engine: args.engine, host: h, database: databaseName, username, password }))),
    };
}
