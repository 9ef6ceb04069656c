import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { buildAwsBackendStore } from "./aws/backendStore";
import type { BackendEngine } from "./config";
import { envList, healthcheck, pulledImage, RESTART_POLICY, roleLabels, WAIT_HEALTHY } from "./docker/common";
import { DATA_DIRS, DB_FILES, ENGINES, MYSQL_SERVER_ARGS, POSTGRES_APP_ENV, renderDatabaseFiles, renderDatabaseUri } from "./render/database";

export const DATABASE_HOSTNAME = "db";
export const POSTGRES_INIT_SCRIPT_PATH = DB_FILES.postgresInit;

/** Generated database passwords include the characters that break unencoded URIs. */
const DB_PASSWORD_SPECIALS = "-_.~@:%+=";

export interface DockerBackendStoreArgs {
    readonly platform: "docker";
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
    readonly platform: "aws";
    readonly engine: BackendEngine;
    readonly engineVersion: string;
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** Security group that admits the database port only from the tracking server. */
    readonly securityGroupId: pulumi.Input<string>;
    readonly minCapacity: number;
    readonly maxCapacity: number;
    readonly autoPauseSeconds: number;
    readonly backupRetentionDays: number;
    readonly deletionProtection: boolean;
    readonly databaseName?: string;
    /** Keep the cluster (and take a final snapshot) on `pulumi destroy` (default true). */
    readonly retainOnDelete?: boolean;
    readonly tags?: Record<string, string>;
}

export type BackendStoreArgs = DockerBackendStoreArgs | AwsBackendStoreArgs;

/**
 * MLflow's metadata database. Docker: MySQL 8 (utf8mb4) or PostgreSQL with a named volume,
 * an application user distinct from the admin user, generated passwords. AWS: Aurora
 * Serverless v2 with the master password kept in Secrets Manager.
 */
export class BackendStore extends pulumi.ComponentResource {
    readonly engine: BackendEngine;
    /** Host name as the tracking server reaches it (docker alias or cluster endpoint). */
    readonly host: pulumi.Output<string>;
    readonly port: pulumi.Output<number>;
    readonly databaseName: pulumi.Output<string>;
    readonly username: pulumi.Output<string>;
    /** Application user's password (docker flavour), secret. */
    readonly password?: pulumi.Output<string>;
    /** SQLAlchemy URI with URL-encoded credentials (docker flavour), secret. */
    readonly connectionUri?: pulumi.Output<string>;
    /** Secrets Manager secret holding the master credentials (aws flavour). */
    readonly secretArn?: pulumi.Output<string>;

    constructor(name: string, args: BackendStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlflow:index:BackendStore", name, {}, opts);
        this.engine = args.engine;
        const databaseName = args.databaseName ?? "mlflow";
        if (args.platform === "docker") {
            const username = args.username ?? "mlflow";
            const engine = ENGINES[args.engine];
            const retainOnDelete = args.retainOnDelete ?? true;
            const passwordArgs = { length: 32, special: true, overrideSpecial: DB_PASSWORD_SPECIALS, minSpecial: 2 };
            const adminPassword = new random.RandomPassword(`${name}-admin-password`, passwordArgs, { parent: this });
            const appPassword = new random.RandomPassword(`${name}-app-password`, passwordArgs, { parent: this });
            const image = pulledImage(`${name}-image`, args.image, this);
            const isMysql = args.engine === "mysql";
            const volume = new docker.Volume(`${name}-data`, { name: `${name}-data` }, { parent: this, retainOnDelete });
            const env: Record<string, pulumi.Input<string>> = isMysql
                ? {
                    MYSQL_ROOT_PASSWORD: pulumi.secret(adminPassword.result),
                    MYSQL_DATABASE: databaseName,
                    MYSQL_USER: username,
                    MYSQL_PASSWORD: pulumi.secret(appPassword.result),
                }
                : {
                    POSTGRES_USER: "postgres",
                    POSTGRES_PASSWORD: pulumi.secret(adminPassword.result),
                    [POSTGRES_APP_ENV.user]: username,
                    [POSTGRES_APP_ENV.password]: pulumi.secret(appPassword.result),
                    [POSTGRES_APP_ENV.database]: databaseName,
                };
            const container = new docker.Container(`${name}-db`, {
                name: `${name}-db`,
                image: image.imageId,
                // A wrapper that applies this deploy's passwords at every start, also on a kept volume.
                entrypoints: [DB_FILES.entrypoint],
                command: isMysql ? MYSQL_SERVER_ARGS : [],
                envs: envList(env),
                uploads: pulumi.secret(pulumi.all([adminPassword.result, appPassword.result]).apply(([adminPw, appPw]) =>
                    renderDatabaseFiles(args.engine, { database: databaseName, username, appPassword: appPw, adminPassword: adminPw }))),
                volumes: [{ volumeName: volume.name, containerPath: DATA_DIRS[args.engine] }],
                networksAdvanced: [{ name: args.networkName, aliases: [DATABASE_HOSTNAME] }],
                // Over TCP, so the entrypoint's socket-only bootstrap server does not count as ready.
                healthcheck: healthcheck(isMysql
                    ? ["CMD", "mysqladmin", "ping", "--host=127.0.0.1", "--silent"]
                    : ["CMD", "pg_isready", "--host=127.0.0.1", `--username=${username}`, `--dbname=${databaseName}`]),
                restart: RESTART_POLICY,
                labels: roleLabels("backend-store"),
                ...WAIT_HEALTHY,
            }, { parent: this });
            // Derived from the container so consumers start only once the database is healthy.
            this.host = container.id.apply(() => DATABASE_HOSTNAME);
            this.port = pulumi.output(engine.port);
            this.databaseName = pulumi.output(databaseName);
            this.username = pulumi.output(username);
            this.password = pulumi.secret(appPassword.result);
            this.connectionUri = pulumi.secret(pulumi.all([this.host, appPassword.result]).apply(([host, password]) =>
                renderDatabaseUri({ engine: args.engine, host, database: databaseName, username, password })));
        } else {
            const aws = buildAwsBackendStore(this, name, { ...args, databaseName });
            this.host = aws.host;
            this.port = aws.port;
            this.databaseName = aws.databaseName;
            this.username = aws.username;
            this.secretArn = aws.secretArn;
        }
        this.registerOutputs({
            engine: this.engine,
            host: this.host,
            port: this.port,
            databaseName: this.databaseName,
            username: this.username,
            secretArn: this.secretArn,
        });
    }
}
