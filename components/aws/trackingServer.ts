// AWS tracking server: the MLflow image built and pushed to a private ECR repository, run on
// ECS Fargate next to the authenticating nginx sidecar, with CPU-based autoscaling.
// Secrets reach the containers only through ECS `secrets` (Secrets Manager references):
// neither the task definition nor Pulumi state holds a password.
import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { TRACKING_SERVER_CONTEXT, TRACKING_SERVER_CONTEXT_RELATIVE, trackingServerImageTag } from "../image";
import { HEALTHCHECK_COMMAND, MLFLOW_PORT, renderTrackingServerEnvironment } from "../render/mlflow";
import { renderDatabaseTlsQuery } from "../render/aurora";
import { proxyHealthcheckCommand } from "../render/nginx";
import type { AwsTrackingServerArgs } from "../trackingServer";

export interface AwsTrackingServerOutputs {
    imageName: pulumi.Output<string>;
    ecrRepositoryUrl: pulumi.Output<string>;
    clusterName: pulumi.Output<string>;
    serviceName: pulumi.Output<string>;
}

export const MLFLOW_CONTAINER = "mlflow";
export const PROXY_CONTAINER = "proxy";
/** Average task CPU the autoscaler aims for. */
export const CPU_TARGET_PERCENT = 60;
/** Time the load balancer's health checks are ignored after a task starts: schema upgrade and Aurora resume. */
export const HEALTH_CHECK_GRACE_SECONDS = 300;

/**
 * The sidecar writes its config and htpasswd from the environment, then becomes nginx. The
 * command names variables only: values arrive through `environment` (config) and `secrets`
 * (htpasswd), never on the command line.
 */
export const PROXY_COMMAND = [
    "/bin/sh", "-c",
    "printf '%s' \"$NGINX_CONF\" > /etc/nginx/conf.d/default.conf && printf '%s' \"$HTPASSWD\" > /etc/nginx/mlflow.htpasswd && exec nginx -g 'daemon off;'",
];

const ECS_TASKS_TRUST = JSON.stringify({
    Version: "2012-10-17",
    Statement: [{ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }],
});

interface KeyValue { name: string; value: string }

function keyValues(record: Record<string, string>): KeyValue[] {
    return Object.keys(record).sort().map(name => ({ name, value: record[name] }));
}

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

/** How often the entrypoint checks whether the database secret was rotated. */
export const ROTATION_CHECK_SECONDS = 300;

export function buildAwsTrackingServer(parent: pulumi.Resource, name: string, args: AwsTrackingServerArgs & { workers: number }): AwsTrackingServerOutputs {
    const tags = args.tags ?? {};
    const opts = { parent };

    // --- image --------------------------------------------------------------------------
    const repository = new aws.ecr.Repository(`${name}-repo`, {
        imageScanningConfiguration: { scanOnPush: true },
        // Tags are content hashes (components/image.ts): a tag never needs to move.
        imageTagMutability: "IMMUTABLE",
        encryptionConfigurations: [{ encryptionType: "AES256" }],
        // Images are build outputs, rebuilt from images/tracking-server: deleting them with the
        // repository loses nothing, and a non-empty repository otherwise fails pulumi destroy.
        forceDelete: true,
        tags,
    }, opts);
    new aws.ecr.LifecyclePolicy(`${name}-repo-lifecycle`, {
        repository: repository.name,
        policy: JSON.stringify({
            rules: [{
                rulePriority: 1,
                description: `Keep the last ${args.ecrKeepImages} images`,
                selection: { tagStatus: "any", countType: "imageCountMoreThan", countNumber: args.ecrKeepImages },
                action: { type: "expire" },
            }],
        }),
    }, opts);
    const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repository.registryId }, { parent });
    const platform = args.architecture === "ARM64" ? "linux/arm64" : "linux/amd64";
    const image = new docker.Image(`${name}-image`, {
        // Tags are immutable: one per content and platform, and paths that are the same on every checkout.
        imageName: pulumi.interpolate`${repository.repositoryUrl}:${trackingServerImageTag(args.pythonImage, TRACKING_SERVER_CONTEXT, platform)}`,
        build: {
            context: TRACKING_SERVER_CONTEXT_RELATIVE,
            dockerfile: `${TRACKING_SERVER_CONTEXT_RELATIVE}/Dockerfile`,
            platform,
            args: { PYTHON_IMAGE: args.pythonImage },
        },
        registry: {
            server: repository.repositoryUrl,
            username: token.userName,
            password: pulumi.secret(token.password),
        },
    }, opts);

    // --- logs, cluster, roles -------------------------------------------------------------
    const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, {
        retentionInDays: args.logRetentionDays,
        tags,
    }, opts);
    const cluster = new aws.ecs.Cluster(`${name}-cluster`, {
        // Container Insights is billed per metric; the service's CPU metric for autoscaling is free.
        settings: [{ name: "containerInsights", value: "disabled" }],
        tags,
    }, opts);

    const executionRole = new aws.iam.Role(`${name}-execution`, {
        description: "ECS agent for the MLflow tasks: pull the image, write logs, inject secrets",
        assumeRolePolicy: ECS_TASKS_TRUST,
        tags,
    }, opts);
    // The AI Gateway's KEK passphrase (only when enabled): from stack config, injected by ECS.
    let kekSecretArn: pulumi.Output<string> | undefined;
    if (args.aiGatewayKekPassphrase !== undefined) {
        const kekSecret = new aws.secretsmanager.Secret(`${name}-gateway-kek`, {
            description: "MLflow AI Gateway KEK passphrase (MLFLOW_CRYPTO_KEK_PASSPHRASE), from stack config",
            tags,
        }, opts);
        new aws.secretsmanager.SecretVersion(`${name}-gateway-kek`, {
            secretId: kekSecret.id,
            secretString: pulumi.secret(args.aiGatewayKekPassphrase),
        }, opts);
        kekSecretArn = kekSecret.arn;
    }
    new aws.iam.RolePolicy(`${name}-execution`, {
        role: executionRole.name,
        policy: pulumi.all([repository.arn, logGroup.arn, args.database.secretArn, args.proxy.htpasswdSecretArn, kekSecretArn ?? ""])
            .apply(([repositoryArn, logGroupArn, dbSecretArn, htpasswdSecretArn, kekArn]) => JSON.stringify(executionRolePolicy({
                repositoryArn, logGroupArn, secretArns: [dbSecretArn, htpasswdSecretArn, ...(kekArn ? [kekArn] : [])],
            }))),
    }, opts);

    const taskRole = new aws.iam.Role(`${name}-task`, {
        description: "MLflow tasks: the artifact bucket and nothing else",
        assumeRolePolicy: ECS_TASKS_TRUST,
        tags,
    }, opts);
    const artifactAccess = new aws.iam.RolePolicyAttachment(`${name}-task-artifacts`, {
        role: taskRole.name,
        policyArn: args.artifactAccessPolicyArn,
    }, opts);
    // The entrypoint restarts the task when RDS rotates the master password (every 7 days):
    // it reads the secret's metadata, never its value.
    new aws.iam.RolePolicy(`${name}-task-rotation-watch`, {
        role: taskRole.name,
        policy: pulumi.output(args.database.secretArn).apply(secretArn => JSON.stringify(rotationWatchPolicy(secretArn))),
    }, opts);

    // --- task definition ----------------------------------------------------------------
    // pulumi.all keeps tuple types for up to eight inputs: group them.
    const database = pulumi.all([args.database.host, args.database.port, args.database.name, args.database.secretArn]);
    const proxy = pulumi.all([args.proxy.config, args.proxy.htpasswdSecretArn]);
    const containerDefinitions = pulumi.all([
        image.imageName, logGroup.name, args.artifactBucket, args.allowedHosts, args.corsAllowedOrigins, database, proxy, kekSecretArn ?? "",
    ]).apply(([
        imageName, logGroupName, artifactBucket, allowedHosts, corsAllowedOrigins,
        [dbHost, dbPort, dbName, dbSecretArn], [proxyConfig, htpasswdSecretArn], kekArn,
    ]) => {
        const environment = {
            ...renderTrackingServerEnvironment({
                port: MLFLOW_PORT,
                workers: args.workers,
                artifactBucket,
                allowedHosts,
                corsAllowedOrigins,
                s3Region: args.region,
                releaseIdleConnections: args.releaseIdleConnections,
                // Every task is a replica: background work only when there can be just one.
                maxReplicas: args.maxTasks,
                aiGateway: kekArn !== "",
                // Clients reach S3 itself: large transfers bypass the tasks via presigned URLs.
                presignedTransfers: true,
            }),
            // Non-secret parts of the database URI; entrypoint.py adds the credentials from `secrets`.
            MLFLOW_DB_ENGINE: args.database.engine,
            MLFLOW_DB_HOST: dbHost,
            MLFLOW_DB_PORT: String(dbPort),
            MLFLOW_DB_NAME: dbName,
            // Verified TLS against the RDS CA bundle the image carries.
            MLFLOW_DB_TLS_QUERY: renderDatabaseTlsQuery(args.database.engine),
            // An ARN, not a secret: the entrypoint watches it for rotations (images/tracking-server/entrypoint.py).
            MLFLOW_DB_ROTATION_WATCH_ARN: dbSecretArn,
            MLFLOW_DB_ROTATION_CHECK_SECONDS: String(ROTATION_CHECK_SECONDS),
        };
        const logs = (prefix: string) => ({
            logDriver: "awslogs",
            options: { "awslogs-group": logGroupName, "awslogs-region": args.region, "awslogs-stream-prefix": prefix },
        });
        return JSON.stringify([
            {
                name: MLFLOW_CONTAINER,
                image: imageName,
                essential: true,
                // Reached by the sidecar over the task's localhost only; no port mapping needed.
                environment: keyValues(environment),
                secrets: [
                    { name: "MLFLOW_DB_USER", valueFrom: `${dbSecretArn}:username::` },
                    { name: "MLFLOW_DB_PASSWORD", valueFrom: `${dbSecretArn}:password::` },
                    ...(kekArn ? [{ name: "MLFLOW_CRYPTO_KEK_PASSPHRASE", valueFrom: kekArn }] : []),
                ],
                healthCheck: {
                    command: HEALTHCHECK_COMMAND,
                    interval: 15,
                    timeout: 5,
                    retries: 5,
                    // Schema upgrade on start, and an auto-paused Aurora takes ~15 s to resume.
                    startPeriod: 180,
                },
                logConfiguration: logs(MLFLOW_CONTAINER),
            },
            {
                name: PROXY_CONTAINER,
                image: args.proxy.image,
                essential: true,
                portMappings: [{ containerPort: args.proxy.port, protocol: "tcp" }],
                command: PROXY_COMMAND,
                environment: keyValues({ NGINX_CONF: proxyConfig }),
                secrets: [{ name: "HTPASSWD", valueFrom: htpasswdSecretArn }],
                dependsOn: [{ containerName: MLFLOW_CONTAINER, condition: "HEALTHY" }],
                healthCheck: {
                    command: proxyHealthcheckCommand(args.proxy.port),
                    interval: 15,
                    timeout: 5,
                    retries: 3,
                    startPeriod: 10,
                },
                logConfiguration: logs(PROXY_CONTAINER),
            },
        ]);
    });

    const taskDefinition = new aws.ecs.TaskDefinition(`${name}-task`, {
        family: name,
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: String(args.cpu),
        memory: String(args.memory),
        runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: args.architecture },
        executionRoleArn: executionRole.arn,
        taskRoleArn: taskRole.arn,
        containerDefinitions,
        tags,
    }, opts);

    // --- service and autoscaling ----------------------------------------------------------
    const service = new aws.ecs.Service(`${name}-service`, {
        cluster: cluster.arn,
        taskDefinition: taskDefinition.arn,
        launchType: "FARGATE",
        desiredCount: args.desiredCount,
        networkConfiguration: {
            subnets: args.subnetIds,
            securityGroups: [args.securityGroupId],
            assignPublicIp: args.assignPublicIp,
        },
        loadBalancers: [{ targetGroupArn: args.targetGroupArn, containerName: PROXY_CONTAINER, containerPort: args.proxy.port }],
        deploymentCircuitBreaker: { enable: true, rollback: true },
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        healthCheckGracePeriodSeconds: HEALTH_CHECK_GRACE_SECONDS,
        enableEcsManagedTags: true,
        propagateTags: "SERVICE",
        tags,
    }, {
        parent,
        // The task role must hold its bucket access before the first task starts.
        dependsOn: [artifactAccess],
        // The autoscaler owns the running count after the first deployment.
        ignoreChanges: ["desiredCount"],
    });

    const resourceId = pulumi.interpolate`service/${cluster.name}/${service.name}`;
    const scalingTarget = new aws.appautoscaling.Target(`${name}-scaling`, {
        serviceNamespace: "ecs",
        scalableDimension: "ecs:service:DesiredCount",
        resourceId,
        minCapacity: args.minTasks,
        maxCapacity: args.maxTasks,
        tags,
    }, opts);
    new aws.appautoscaling.Policy(`${name}-cpu`, {
        policyType: "TargetTrackingScaling",
        serviceNamespace: scalingTarget.serviceNamespace,
        scalableDimension: scalingTarget.scalableDimension,
        resourceId: scalingTarget.resourceId,
        targetTrackingScalingPolicyConfiguration: {
            predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
            targetValue: CPU_TARGET_PERCENT,
            scaleOutCooldown: 60,
            scaleInCooldown: 300,
        },
    }, opts);

    return {
        imageName: image.imageName,
        ecrRepositoryUrl: repository.repositoryUrl,
        clusterName: cluster.name,
        serviceName: service.name,
    };
}
