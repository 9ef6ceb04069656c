// The AWS flavour's ECS task: its two container definitions (MLflow and the nginx sidecar)
// and the IAM policy documents of its roles. Pure: plain values in, plain documents out.
// Secrets reach the containers only as Secrets Manager references (`secrets`), never as values.
import type { BackendEngine, CpuArchitecture } from "../config";
import { renderDatabaseTlsQuery } from "./aurora";
import { HEALTHCHECK_COMMAND, MLFLOW_PORT, renderTrackingServerEnvironment } from "./mlflow";
import { proxyHealthcheckCommand } from "./nginx";

export const MLFLOW_CONTAINER = "mlflow";
export const PROXY_CONTAINER = "proxy";
/** How often the entrypoint checks whether the database secret was rotated. */
export const ROTATION_CHECK_SECONDS = 300;

/**
 * The sidecar writes its config and htpasswd from the environment, then becomes nginx. The
 * command names variables only: values arrive through `environment` (config) and `secrets`
 * (htpasswd), never on the command line.
 */
export const PROXY_COMMAND = [
    "/bin/sh", "-c",
    "printf '%s' \"$NGINX_CONF\" > /etc/nginx/conf.d/default.conf && printf '%s' \"$HTPASSWD\" > /etc/nginx/mlflow.htpasswd && exec nginx -g 'daemon off;'",
];

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
    };
    readonly proxy: {
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
    };
}

interface KeyValue { name: string; value: string }

/** ECS `environment` entries, sorted for stable diffs. */
export function keyValues(record: Record<string, string>): KeyValue[] {
    return Object.keys(record).sort().map(name => ({ name, value: record[name] }));
}

function logs(s: TaskContainersSettings, prefix: string) {
    return {
        logDriver: "awslogs",
        options: { "awslogs-group": s.logGroupName, "awslogs-region": s.region, "awslogs-stream-prefix": prefix },
    };
}

/** MLflow's environment on ECS: shared settings plus the non-secret parts of the database URI. */
export function renderEcsMlflowEnvironment(s: TaskContainersSettings): Record<string, string> {
    const db = s.database;
    return {
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
            aiGateway: s.mlflow.aiGatewayKekSecretArn !== undefined,
            // Clients reach S3 itself: large transfers bypass the tasks via presigned URLs.
            presignedTransfers: true,
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
    };
}

/** The task's container definitions, in the shape of the `containerDefinitions` JSON. */
export function renderContainerDefinitions(s: TaskContainersSettings): object[] {
    return [
        {
            name: MLFLOW_CONTAINER,
            image: s.mlflow.image,
            essential: true,
            // Reached by the sidecar over the task's localhost only; no port mapping needed.
            environment: keyValues(renderEcsMlflowEnvironment(s)),
            secrets: [
                { name: "MLFLOW_DB_USER", valueFrom: `${s.database.secretArn}:username::` },
                { name: "MLFLOW_DB_PASSWORD", valueFrom: `${s.database.secretArn}:password::` },
                ...(s.mlflow.aiGatewayKekSecretArn === undefined ? []
                    : [{ name: "MLFLOW_CRYPTO_KEK_PASSPHRASE", valueFrom: s.mlflow.aiGatewayKekSecretArn }]),
            ],
            healthCheck: {
                command: HEALTHCHECK_COMMAND,
                interval: 15,
                timeout: 5,
                retries: 5,
                // Schema upgrade on start, and an auto-paused Aurora takes ~15 s to resume.
                startPeriod: 180,
            },
            logConfiguration: logs(s, MLFLOW_CONTAINER),
        },
        {
            name: PROXY_CONTAINER,
            image: s.proxy.image,
            essential: true,
            portMappings: [{ containerPort: s.proxy.port, protocol: "tcp" }],
            command: PROXY_COMMAND,
            environment: keyValues({ NGINX_CONF: s.proxy.config }),
            // arn:json-key:version-stage:version-id (ECS developer guide, "Specifying sensitive data").
            secrets: [{ name: "HTPASSWD", valueFrom: `${s.proxy.htpasswdSecretArn}:::${s.proxy.htpasswdVersionId}` }],
            dependsOn: [{ containerName: MLFLOW_CONTAINER, condition: "HEALTHY" }],
            healthCheck: {
                command: proxyHealthcheckCommand(s.proxy.port),
                interval: 15,
                timeout: 5,
                retries: 3,
                startPeriod: 10,
            },
            logConfiguration: logs(s, PROXY_CONTAINER),
        },
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
