// The aws target's ECS task: its two container definitions (MLflow and the nginx sidecar)
// and the IAM policy documents of its roles. Pure: plain values in, plain documents out.
// Secrets reach the containers only as Secrets Manager references (`secrets`), never as values.
import type { BackendEngine, CpuArchitecture, LogLevel } from "../config";
import type { PoolSettings } from "../config/capacity";
import { renderDatabaseTlsQuery } from "../backendStore/aurora";
import { healthcheckCommand, MLFLOW_PORT, renderTrackingServerEnvironment } from "../trackingServer/mlflow";
import { proxyHealthcheckCommand } from "../authProxy/nginx";
import { PROJECT_INIT_COMMAND, PROJECT_INIT_ENV, projectInitAdminDatabase, projectNames, renderDatabaseInitStatements, renderProjectInitStatements } from "./projects";
import { PROXY_TOKEN_INCLUDE_PATH } from "../authProxy/identity";
import { AUTH_ENV } from "../trackingServer/auth";
import { PROJECT_PRUNE_COMMAND, PROJECT_PRUNE_CONTAINER, PROJECT_PRUNE_SPEC_ENV, renderProjectPruneSpec } from "../projectPrune/awsSpec";
import { READER_HTPASSWD_PATH } from "../authProxy/registryReader";

export const MLFLOW_CONTAINER = "mlflow";
export const PROXY_CONTAINER = "proxy";
/** A project's one-shot database init container (essential: false; MLflow waits for its SUCCESS). */
export const PROJECT_INIT_CONTAINER = "project-db-init";
/** How often the entrypoint checks whether the database secret was rotated. */
export const ROTATION_CHECK_SECONDS = 300;

/**
 * The sidecar writes its config and htpasswd from the environment, then becomes nginx. The
 * command names variables only: values arrive through `environment` (config) and `secrets`
 * (htpasswd), never on the command line.
 */
export const PROXY_COMMAND = proxyCommand({ readers: false, identity: false });

/**
 * PROXY_COMMAND for a sidecar that also serves the model servers' read-only endpoint
 * (authProxy/registryReader.ts): it writes the readers' htpasswd, which arrives as a secret too.
 */
export const PROXY_COMMAND_WITH_READERS = proxyCommand({ readers: true, identity: false });

/**
 * The sidecar's command: each file from its variable, then nginx. With team accounts it also
 * writes the token's include file (authProxy/identity.ts), which arrives as a secret.
 */
export function proxyCommand(o: { readers: boolean; identity: boolean }): string[] {
    const writes = [
        `printf '%s' "$NGINX_CONF" > /etc/nginx/conf.d/default.conf`,
        `printf '%s' "$HTPASSWD" > /etc/nginx/mlflow.htpasswd`,
        ...(o.readers ? [`printf '%s' "$READERS_HTPASSWD" > ${READER_HTPASSWD_PATH}`] : []),
        ...(o.identity ? [`printf '%s' "$${PROXY_TOKEN_INCLUDE_ENV}" > ${PROXY_TOKEN_INCLUDE_PATH}`] : []),
    ];
    return ["/bin/sh", "-c", `${writes.join(" && ")} && exec nginx -g 'daemon off;'`];
}

/** The sidecar's variable holding the token's include file (the `include` key of the token secret). */
export const PROXY_TOKEN_INCLUDE_ENV = "PROXY_TOKEN_INCLUDE";
/** `/`'s one-shot init of the auth app's database (essential: false; MLflow waits for its SUCCESS). */
export const AUTH_INIT_CONTAINER = "auth-db-init";

/** The model servers' reader logins on the tracking sidecar (only with served models). */
export interface RegistryReaderSidecarSettings {
    /** REGISTRY_READER_PORT: the reader server of the rendered config listens there. */
    readonly port: number;
    /** Secret with one htpasswd line per model (readerUsername), pinned to its version as HTPASSWD is. */
    readonly htpasswdSecretArn: string;
    readonly htpasswdVersionId: string;
}

/** The nginx sidecar in front of a task's server (the tracking task and a model task). */
export interface ProxySidecarSettings {
    readonly image: string;
    readonly port: number;
    /** Rendered conf.d snippet (renderProxyConfig). */
    readonly config: string;
    readonly htpasswdSecretArn: string;
    /**
     * The htpasswd secret's version. ECS reads secrets only when a task starts: naming the
     * version changes the task definition with the password, so the service rolls.
     */
    readonly htpasswdVersionId: string;
    /** The tracking task's sidecar with served models; absent, the sidecar is exactly as before. */
    readonly readers?: RegistryReaderSidecarSettings;
    /** Team accounts: the token secret (JSON: `token`, `include`), pinned to its version; absent, no include file. */
    readonly identity?: { readonly tokenSecretArn: string; readonly tokenVersionId: string };
}

/** Team accounts in `/`'s task (trackingServer/auth.ts): MLflow's auth app and its database's init. */
export interface EcsAuthSettings {
    /** renderAuthEnv: the ini and the accounts, not secret. */
    readonly environment: Record<string, string>;
    /**
     * The auth database and its user, created by the init container as the master user, and
     * the ProjectDatabase secret with `password` (for the init) and `uri` (for MLflow) keys.
     * Undefined in a project's task: the auth app's tables live in the project's own database.
     */
    readonly ownDatabase?: { readonly database: string; readonly databaseUser: string; readonly databaseSecretArn: string };
    /** JSON secret with `token` (MLflow) and `include` (the sidecar) keys, pinned to its version. */
    readonly tokenSecretArn: string;
    readonly tokenVersionId: string;
    /** Flask's session key, one for every task of the service, pinned to its version. */
    readonly flaskKeySecretArn: string;
    readonly flaskKeyVersionId: string;
}

export interface TaskContainersSettings {
    readonly region: string;
    readonly logGroupName: string;
    readonly mlflow: {
        readonly image: string;
        readonly workers: number;
        readonly artifactBucket: string;
        readonly allowedHosts: readonly string[];
        readonly corsAllowedOrigins: readonly string[];
        /** Let idle DB connections close so Aurora Serverless can pause. */
        readonly releaseIdleConnections: boolean;
        /** Most tasks that can run at once (autoscaling maxTasks): each is a replica. */
        readonly maxReplicas: number;
        /** Config logLevel; absent: MLflow's default. */
        readonly logLevel?: LogLevel;
        /** SQLAlchemy pool per engine; DEFAULT_POOL when unset. */
        readonly pool?: PoolSettings;
        /** MLflow's job execution; unset: on exactly where one replica can run. */
        readonly jobExecution?: boolean;
        /** Secrets Manager secret with the AI Gateway's KEK passphrase; the gateway is on only with it. */
        readonly aiGatewayKekSecretArn?: string;
    };
    readonly database: {
        readonly engine: BackendEngine;
        readonly host: string;
        readonly port: number;
        readonly name: string;
        /** Secrets Manager secret with `username` and `password` keys. */
        readonly secretArn: string;
        /** The cluster's reader endpoint; MLflow reads there with the same database and credentials. */
        readonly readerHost?: string;
    };
    readonly proxy: ProxySidecarSettings;
    /** Team accounts (only the task at `/`); absent, the task is exactly as before. */
    readonly auth?: EcsAuthSettings;
    /**
     * A project's task (shared/projects.ts): `database` is then the project's own database and
     * secret (`username`, `password` keys, not rotated), MLflow serves under the project's prefix
     * and waits for the init container, the only container that gets the master secret.
     */
    readonly project?: {
        readonly name: string;
        /** The database cluster's master secret (`username`, `password` keys). */
        readonly adminSecretArn: string;
        /** The database the cluster was created with (MySQL's init connects to it). */
        readonly clusterDatabase: string;
    };
}

/** The prune task's container (retainDataOnDestroy=false): where it connects, what it reads. */
export interface PruneContainerSettings {
    readonly region: string;
    readonly logGroupName: string;
    /** The tracking-server image (its Python, SQLAlchemy, drivers, boto3 and entrypoint.py). */
    readonly image: string;
    /** `/`'s database: the cluster's master secret, the database MLflow at `/` uses. */
    readonly database: TaskContainersSettings["database"];
    readonly artifactBucket: string;
    /** The SSM parameter holding the current project list. */
    readonly listParameter: string;
    /** More names never dropped beside `/`'s database (the auth app's, with team accounts). */
    readonly protectedNames?: readonly string[];
}

interface KeyValue { name: string; value: string }

/** ECS `environment` entries, sorted for stable diffs. */
export function keyValues(record: Record<string, string>): KeyValue[] {
    return Object.keys(record).sort().map(name => ({ name, value: record[name] }));
}

/** awslogs into the task's log group, one stream prefix per container. */
export function logs(s: { readonly logGroupName: string; readonly region: string }, prefix: string) {
    return {
        logDriver: "awslogs",
        options: { "awslogs-group": s.logGroupName, "awslogs-region": s.region, "awslogs-stream-prefix": prefix },
    };
}

/**
 * The nginx sidecar: the rendered config in its environment, the htpasswd secret named with its
 * version (arn:json-key:version-stage:version-id, ECS developer guide, "Specifying sensitive
 * data"), started after `after`, checked on its own /health.
 */
export function renderProxySidecar(
    proxy: ProxySidecarSettings, after: { readonly containerName: string; readonly condition: string }, logConfiguration: object,
): object {
    const r = proxy.readers;
    return {
        name: PROXY_CONTAINER,
        image: proxy.image,
        essential: true,
        portMappings: [{ containerPort: proxy.port, protocol: "tcp" }, ...(r === undefined ? [] : [{ containerPort: r.port, protocol: "tcp" }])],
        command: proxy.identity !== undefined ? proxyCommand({ readers: r !== undefined, identity: true }) : r === undefined ? PROXY_COMMAND : PROXY_COMMAND_WITH_READERS,
        environment: keyValues({ NGINX_CONF: proxy.config }),
        secrets: [
            { name: "HTPASSWD", valueFrom: `${proxy.htpasswdSecretArn}:::${proxy.htpasswdVersionId}` },
            ...(r === undefined ? [] : [{ name: "READERS_HTPASSWD", valueFrom: `${r.htpasswdSecretArn}:::${r.htpasswdVersionId}` }]),
            ...(proxy.identity === undefined ? [] : [{ name: PROXY_TOKEN_INCLUDE_ENV, valueFrom: `${proxy.identity.tokenSecretArn}:include::${proxy.identity.tokenVersionId}` }]),
        ],
        dependsOn: [after],
        healthCheck: {
            command: proxyHealthcheckCommand(proxy.port),
            interval: 15,
            timeout: 5,
            retries: 3,
            startPeriod: 10,
        },
        logConfiguration,
    };
}

/** MLflow's environment on ECS: shared settings plus the non-secret parts of the database URI. */
export function renderEcsMlflowEnvironment(s: TaskContainersSettings): Record<string, string> {
    const db = s.database;
    const project = s.project === undefined ? undefined : projectNames(s.project.name);
    const env: Record<string, string> = {
        ...renderTrackingServerEnvironment({
            port: MLFLOW_PORT,
            workers: s.mlflow.workers,
            artifactBucket: s.mlflow.artifactBucket,
            allowedHosts: s.mlflow.allowedHosts,
            corsAllowedOrigins: s.mlflow.corsAllowedOrigins,
            s3Region: s.region,
            releaseIdleConnections: s.mlflow.releaseIdleConnections,
            // Every task is a replica: background work only when there can be just one.
            maxReplicas: s.mlflow.maxReplicas,
            ...(s.mlflow.logLevel === undefined ? {} : { logLevel: s.mlflow.logLevel }),
            ...(s.mlflow.pool === undefined ? {} : { pool: s.mlflow.pool }),
            ...(s.mlflow.jobExecution === undefined ? {} : { jobExecution: s.mlflow.jobExecution }),
            aiGateway: s.mlflow.aiGatewayKekSecretArn !== undefined,
            // Clients reach S3 itself: large transfers bypass the tasks via presigned URLs.
            presignedTransfers: true,
            ...(project === undefined ? {} : { project: { staticPrefix: project.urlPath, artifactPrefix: project.artifactPrefix } }),
        }),
        // Non-secret parts of the database URI; entrypoint.py adds the credentials from `secrets`.
        MLFLOW_DB_ENGINE: db.engine,
        MLFLOW_DB_HOST: db.host,
        MLFLOW_DB_PORT: String(db.port),
        MLFLOW_DB_NAME: db.name,
        // Verified TLS against the RDS CA bundle the image carries.
        MLFLOW_DB_TLS_QUERY: renderDatabaseTlsQuery(db.engine),
        // An ARN, not a secret: the entrypoint watches it for rotations (images/tracking-server/entrypoint.py).
        MLFLOW_DB_ROTATION_WATCH_ARN: db.secretArn,
        MLFLOW_DB_ROTATION_CHECK_SECONDS: String(ROTATION_CHECK_SECONDS),
        // Aurora readers: the entrypoint composes --read-replica-backend-store-uri with this host.
        ...(db.readerHost === undefined ? {} : { MLFLOW_DB_READER_HOST: db.readerHost }),
    };
    if (project !== undefined) {
        // A project's password is its own and is never rotated: nothing to watch (and the task
        // role gets no DescribeSecret). The master's rotation reaches the init container at the next task start.
        delete env.MLFLOW_DB_ROTATION_WATCH_ARN;
        delete env.MLFLOW_DB_ROTATION_CHECK_SECONDS;
    }
    return env;
}

/**
 * A project's init container: the tracking-server image's runner (images/tracking-server/
 * project_db_init.py) with the rendered statements, connecting as the master user with the
 * same URI composition and TLS as the tracking server. It alone gets the master secret; the
 * project's password it sets comes from the project's secret.
 */
export function renderProjectInitContainer(s: TaskContainersSettings): object {
    if (s.project === undefined) throw new Error("renderProjectInitContainer needs a project");
    const db = s.database;
    const admin = s.project.adminSecretArn;
    return {
        name: PROJECT_INIT_CONTAINER,
        image: s.mlflow.image,
        essential: false,
        entryPoint: PROJECT_INIT_COMMAND,
        environment: keyValues({
            MLFLOW_DB_ENGINE: db.engine,
            MLFLOW_DB_HOST: db.host,
            MLFLOW_DB_PORT: String(db.port),
            MLFLOW_DB_NAME: projectInitAdminDatabase(db.engine, s.project.clusterDatabase),
            MLFLOW_DB_TLS_QUERY: renderDatabaseTlsQuery(db.engine),
            [PROJECT_INIT_ENV.statements]: JSON.stringify(renderProjectInitStatements(db.engine, s.project.name)),
        }),
        secrets: [
            { name: "MLFLOW_DB_USER", valueFrom: `${admin}:username::` },
            { name: "MLFLOW_DB_PASSWORD", valueFrom: `${admin}:password::` },
            { name: PROJECT_INIT_ENV.password, valueFrom: `${db.secretArn}:password::` },
        ],
        logConfiguration: logs(s, PROJECT_INIT_CONTAINER),
    };
}

/**
 * `/`'s init of the auth app's database: project_db_init.py with the statements for that
 * database and user, as the master user (the secret `/`'s MLflow already has); the password
 * it sets comes from the auth database's own secret.
 */
export function renderAuthInitContainer(s: TaskContainersSettings): object {
    const auth = s.auth?.ownDatabase;
    if (auth === undefined || s.project !== undefined) throw new Error("renderAuthInitContainer needs the auth settings of the task at /");
    const db = s.database;
    return {
        name: AUTH_INIT_CONTAINER,
        image: s.mlflow.image,
        essential: false,
        entryPoint: PROJECT_INIT_COMMAND,
        environment: keyValues({
            MLFLOW_DB_ENGINE: db.engine,
            MLFLOW_DB_HOST: db.host,
            MLFLOW_DB_PORT: String(db.port),
            MLFLOW_DB_NAME: projectInitAdminDatabase(db.engine, db.name),
            MLFLOW_DB_TLS_QUERY: renderDatabaseTlsQuery(db.engine),
            [PROJECT_INIT_ENV.statements]: JSON.stringify(renderDatabaseInitStatements(db.engine, auth.database, auth.databaseUser)),
        }),
        secrets: [
            { name: "MLFLOW_DB_USER", valueFrom: `${db.secretArn}:username::` },
            { name: "MLFLOW_DB_PASSWORD", valueFrom: `${db.secretArn}:password::` },
            { name: PROJECT_INIT_ENV.password, valueFrom: `${auth.databaseSecretArn}:password::` },
        ],
        logConfiguration: logs(s, AUTH_INIT_CONTAINER),
    };
}

/** MLflow's auth secrets: the auth database's URI (none in a project's task), the proxy token, the Flask key. */
function authSecrets(auth: EcsAuthSettings): Array<{ name: string; valueFrom: string }> {
    return [
        ...(auth.ownDatabase === undefined ? [] : [{ name: AUTH_ENV.databaseUri, valueFrom: `${auth.ownDatabase.databaseSecretArn}:uri::` }]),
        { name: AUTH_ENV.proxyToken, valueFrom: `${auth.tokenSecretArn}:token::${auth.tokenVersionId}` },
        { name: AUTH_ENV.flaskSecretKey, valueFrom: `${auth.flaskKeySecretArn}:::${auth.flaskKeyVersionId}` },
    ];
}

/**
 * The prune task's one container: the tracking-server image's Python with the rendered script and
 * the master secret (the prune's own execution role injects it). Essential: it is the task.
 */
export function renderProjectPruneContainer(s: PruneContainerSettings): object {
    const db = s.database;
    const spec = renderProjectPruneSpec(db.engine, { names: [db.name, ...(s.protectedNames ?? [])] }, s.artifactBucket, s.listParameter);
    return {
        name: PROJECT_PRUNE_CONTAINER,
        image: s.image,
        essential: true,
        entryPoint: PROJECT_PRUNE_COMMAND,
        environment: keyValues({
            AWS_DEFAULT_REGION: s.region,
            MLFLOW_DB_ENGINE: db.engine,
            MLFLOW_DB_HOST: db.host,
            MLFLOW_DB_PORT: String(db.port),
            MLFLOW_DB_NAME: projectInitAdminDatabase(db.engine, db.name),
            MLFLOW_DB_TLS_QUERY: renderDatabaseTlsQuery(db.engine),
            [PROJECT_PRUNE_SPEC_ENV]: JSON.stringify(spec),
        }),
        secrets: [
            { name: "MLFLOW_DB_USER", valueFrom: `${db.secretArn}:username::` },
            { name: "MLFLOW_DB_PASSWORD", valueFrom: `${db.secretArn}:password::` },
        ],
        logConfiguration: logs(s, PROJECT_PRUNE_CONTAINER),
    };
}

/** The task's container definitions, in the shape of the `containerDefinitions` JSON. */
export function renderContainerDefinitions(s: TaskContainersSettings): object[] {
    if (s.project !== undefined && s.project.adminSecretArn === s.database.secretArn) {
        throw new Error(`project ${s.project.name}: its MLflow container must get the project's own database secret, not the master secret`);
    }
    const prefix = s.project === undefined ? "" : projectNames(s.project.name).urlPath;
    const mlflow = {
        name: MLFLOW_CONTAINER,
        image: s.mlflow.image,
        essential: true,
        // Reached by the sidecar over the task's localhost only; no port mapping needed.
        environment: keyValues({ ...renderEcsMlflowEnvironment(s), ...(s.auth?.environment ?? {}) }),
        secrets: [
            { name: "MLFLOW_DB_USER", valueFrom: `${s.database.secretArn}:username::` },
            { name: "MLFLOW_DB_PASSWORD", valueFrom: `${s.database.secretArn}:password::` },
            ...(s.mlflow.aiGatewayKekSecretArn === undefined ? []
                : [{ name: "MLFLOW_CRYPTO_KEK_PASSPHRASE", valueFrom: s.mlflow.aiGatewayKekSecretArn }]),
            ...(s.auth === undefined ? [] : authSecrets(s.auth)),
        ],
        healthCheck: {
            command: healthcheckCommand(prefix),
            interval: 15,
            timeout: 5,
            retries: 5,
            // Schema upgrade on start, and an auto-paused Aurora takes ~15 s to resume.
            startPeriod: 180,
        },
        logConfiguration: logs(s, MLFLOW_CONTAINER),
        // A project's MLflow starts only once its database and user exist. SUCCESS = exited 0, and
        // may only name a non-essential container (ECS API reference, ContainerDependency).
        ...(s.project === undefined ? {} : { dependsOn: [{ containerName: PROJECT_INIT_CONTAINER, condition: "SUCCESS" }] }),
        // With accounts, MLflow at `/` starts once its auth database and user exist (a project's
        // auth tables are in its own database: the project's init above covers them).
        ...(s.auth?.ownDatabase === undefined ? {} : { dependsOn: [{ containerName: AUTH_INIT_CONTAINER, condition: "SUCCESS" }] }),
    };
    return [
        mlflow,
        renderProxySidecar(s.proxy, { containerName: MLFLOW_CONTAINER, condition: "HEALTHY" }, logs(s, PROXY_CONTAINER)),
        ...(s.project === undefined ? [] : [renderProjectInitContainer(s)]),
        ...(s.auth?.ownDatabase === undefined ? [] : [renderAuthInitContainer(s)]),
    ];
}

/** Docker build platform of the task's CPU architecture. */
export function buildPlatform(architecture: CpuArchitecture): string {
    return architecture === "ARM64" ? "linux/arm64" : "linux/amd64";
}

export const ECS_TASKS_TRUST = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

/** What the execution role (ECS agent: image pull, logs, secret injection) may do, and nothing more. */
export function executionRolePolicy(p: {
    repositoryArn: string; logGroupArn: string; secretArns: string[];
}) {
    return {
        Version: "2012-10-17",
        Statement: [
            // GetAuthorizationToken is account-wide and supports no resource scoping.
            { Sid: "EcrAuth", Effect: "Allow", Action: ["ecr:GetAuthorizationToken"], Resource: "*" },
            {
                Sid: "EcrPull", Effect: "Allow",
                Action: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
                Resource: [p.repositoryArn],
            },
            {
                Sid: "Logs", Effect: "Allow",
                Action: ["logs:CreateLogStream", "logs:PutLogEvents"],
                Resource: [p.logGroupArn, `${p.logGroupArn}:*`],
            },
            // The secrets use the AWS-managed aws/secretsmanager key, whose key policy already lets
            // Secrets Manager decrypt for principals of this account: no kms:Decrypt needed here.
            { Sid: "Secrets", Effect: "Allow", Action: ["secretsmanager:GetSecretValue"], Resource: p.secretArns },
        ],
    };
}

/** DescribeSecret on the one database secret: enough to see a rotation, not to read the password. */
export function rotationWatchPolicy(secretArn: string) {
    return {
        Version: "2012-10-17",
        Statement: [{ Sid: "WatchDatabaseSecretRotation", Effect: "Allow", Action: ["secretsmanager:DescribeSecret"], Resource: [secretArn] }],
    };
}
