// AWS model server: one ECS Fargate service per served model, in the tracking server's cluster,
// behind the tracking server's load balancer at /models/<name>/*. Each task runs the supervisor
// from the tracking-server image next to an nginx sidecar with the same htpasswd secret (pinned
// to its version, as the tracking task). The supervisor reads the registry through the tracking
// sidecar's read-only endpoint at its Cloud Map name, with the model's own reader login (its
// password in the model's own secret); the container definitions come from
// components/modelServer/ecs.ts.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ECS_TASKS_TRUST, executionRolePolicy, PROXY_CONTAINER } from "../shared/ecs";
import { modelPath } from "./serving";
import { MODEL_PROXY_PORT, modelPathPatterns, modelRulePriority, renderModelTaskContainers } from "./ecs";
import type { AwsModelServerArgs, AwsModelServerOutputs } from "./types";

/** Average task CPU the autoscaler aims for (as the tracking service). */
export const MODEL_CPU_TARGET_PERCENT = 60;

interface Piece {
    readonly name: string;
    readonly args: AwsModelServerArgs;
    readonly opts: pulumi.CustomResourceOptions & { parent: pulumi.Resource };
    readonly tags: Record<string, string>;
}

/** The model's reader password in its own secret; the task definition names the version. */
function buildReaderSecret(p: Piece): { arn: pulumi.Output<string>; versionId: pulumi.Output<string> } {
    const { name, args, opts, tags } = p;
    const secret = new aws.secretsmanager.Secret(`${name}-reader`, {
        description: `Read-only registry password of the model server ${args.model.name} (MLFLOW_TRACKING_PASSWORD)`,
        recoveryWindowInDays: 7,
        tags,
    }, opts);
    const version = new aws.secretsmanager.SecretVersion(`${name}-reader`, {
        secretId: secret.id,
        secretString: pulumi.secret(args.reader.password),
    }, opts);
    return { arn: secret.arn, versionId: version.versionId };
}

/** The task definition and what it names: log group, execution role (image, logs, the htpasswd and reader secrets). */
function buildTask(p: Piece): aws.ecs.TaskDefinition {
    const { name, args, opts, tags } = p;
    const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, { retentionInDays: args.logRetentionDays, tags }, opts);
    const readerSecret = buildReaderSecret(p);
    const executionRole = new aws.iam.Role(`${name}-execution`, {
        description: `ECS agent for the model server ${args.model.name}: pull the image, write logs, inject the htpasswd secret and its reader password`,
        assumeRolePolicy: ECS_TASKS_TRUST,
        tags,
    }, opts);
    const executionPolicy = new aws.iam.RolePolicy(`${name}-execution`, {
        role: executionRole.name,
        // This model's reader secret only: no other model's password.
        policy: pulumi.all([args.ecrRepositoryArn, logGroup.arn, args.proxy.htpasswdSecretArn, readerSecret.arn])
            .apply(([repositoryArn, logGroupArn, htpasswdArn, readerArn]) => JSON.stringify(executionRolePolicy({ repositoryArn, logGroupArn, secretArns: [htpasswdArn, readerArn] }))),
    }, opts);
    const reader = pulumi.all([readerSecret.arn, readerSecret.versionId])
        .apply(([passwordSecretArn, passwordVersionId]) => ({ username: args.reader.username, passwordSecretArn, passwordVersionId }));
    const containerDefinitions = pulumi.all([logGroup.name, args.image, args.trackingUri, args.proxy.config, args.proxy.htpasswdSecretArn, args.proxy.htpasswdVersionId, reader])
        .apply(([logGroupName, image, trackingUri, config, htpasswdSecretArn, htpasswdVersionId, rd]) => JSON.stringify(renderModelTaskContainers({
            region: args.region, logGroupName, model: args.model, image, trackingUri, workers: args.workers, pollSeconds: args.pollSeconds,
            proxy: { image: args.proxy.image, port: MODEL_PROXY_PORT, config, htpasswdSecretArn, htpasswdVersionId },
            reader: rd,
        })));
    // No task role: the supervisor calls no AWS API (registry and artifacts come through MLflow).
    // The service waits, through this task definition, for the policy its tasks start with.
    return new aws.ecs.TaskDefinition(`${name}-task`, {
        family: name,
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: String(args.cpu),
        memory: String(args.memory),
        runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: args.architecture },
        executionRoleArn: executionRole.arn,
        containerDefinitions,
        tags,
    }, { ...opts, dependsOn: [executionPolicy] });
}

/** The model's target group and its listener rule on the tracking server's forwarding listener. */
function buildRoute(p: Piece): { targetGroup: aws.lb.TargetGroup; rule: aws.lb.ListenerRule } {
    const { name, args, opts, tags } = p;
    const targetGroup = new aws.lb.TargetGroup(`${name}-tg`, {
        // Target group name prefixes are at most 6 characters; AWS appends a unique suffix.
        namePrefix: "model",
        vpcId: args.vpcId,
        targetType: "ip",
        port: MODEL_PROXY_PORT,
        protocol: "HTTP",
        deregistrationDelay: 30,
        // The sidecar's own /health (modelServer/ecs.ts): whether a version is served yet is the
        // supervisor's 503 to callers, not a reason to take the task out of service.
        healthCheck: { enabled: true, path: "/health", protocol: "HTTP", matcher: "200", interval: 15, timeout: 5, healthyThreshold: 2, unhealthyThreshold: 3 },
        tags,
    }, opts);
    const rule = new aws.lb.ListenerRule(`${name}-rule`, {
        listenerArn: args.listenerArn,
        // From the name alone: adding or removing another model never moves this rule.
        priority: modelRulePriority(args.model.name),
        actions: [{ type: "forward", targetGroupArn: targetGroup.arn }],
        conditions: pulumi.output(args.listenerConditions ?? []).apply(extra => [{ pathPattern: { values: modelPathPatterns(args.model.name) } }, ...extra]),
        tags,
    }, opts);
    return { targetGroup, rule };
}

function buildService(p: Piece, task: aws.ecs.TaskDefinition, route: { targetGroup: aws.lb.TargetGroup; rule: aws.lb.ListenerRule }): aws.ecs.Service {
    const { name, args, tags } = p;
    return new aws.ecs.Service(`${name}-service`, {
        cluster: args.clusterName,
        taskDefinition: task.arn,
        launchType: "FARGATE",
        desiredCount: args.minTasks,
        networkConfiguration: { subnets: args.subnetIds, securityGroups: [args.securityGroupId], assignPublicIp: args.assignPublicIp },
        loadBalancers: [{ targetGroupArn: route.targetGroup.arn, containerName: PROXY_CONTAINER, containerPort: MODEL_PROXY_PORT }],
        deploymentCircuitBreaker: { enable: true, rollback: true },
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        enableEcsManagedTags: true,
        propagateTags: "SERVICE",
        tags,
    }, {
        parent: p.opts.parent,
        // ECS rejects a target group that no listener (rule) uses yet.
        dependsOn: [route.rule],
        ignoreChanges: ["desiredCount"],
    });
}

function buildAutoscaling(p: Piece, service: aws.ecs.Service): void {
    const { name, args, opts } = p;
    const target = new aws.appautoscaling.Target(`${name}-scaling`, {
        serviceNamespace: "ecs",
        scalableDimension: "ecs:service:DesiredCount",
        resourceId: pulumi.interpolate`service/${args.clusterName}/${service.name}`,
        minCapacity: args.minTasks,
        maxCapacity: args.maxTasks,
        tags: p.tags,
    }, opts);
    new aws.appautoscaling.Policy(`${name}-cpu`, {
        policyType: "TargetTrackingScaling",
        serviceNamespace: target.serviceNamespace,
        scalableDimension: target.scalableDimension,
        resourceId: target.resourceId,
        targetTrackingScalingPolicyConfiguration: {
            predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
            targetValue: MODEL_CPU_TARGET_PERCENT,
            scaleOutCooldown: 60,
            scaleInCooldown: 300,
        },
    }, opts);
}

export function buildAwsModelServer(parent: pulumi.Resource, name: string, args: AwsModelServerArgs): AwsModelServerOutputs {
    const piece: Piece = { name, args, opts: { parent }, tags: args.tags ?? {} };
    const task = buildTask(piece);
    const route = buildRoute(piece);
    const service = buildService(piece, task, route);
    buildAutoscaling(piece, service);
    return { route: { name: args.model.name, path: modelPath(args.model.name) }, serviceName: service.name };
}
