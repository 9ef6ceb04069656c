// AWS model server: one ECS Fargate service per served model, in the tracking server's cluster,
// behind the tracking server's load balancer at /models/<name>/*. Each task runs the supervisor
// from the tracking-server image next to an nginx sidecar with the same htpasswd secret (pinned
// to its version, as the tracking task). The supervisor reads the registry through the tracking
// sidecar's read-only endpoint at its Cloud Map name, with the model's own reader login (its
// password in the model's own secret); the container definitions come from
// components/modelServer/ecs.ts.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ECS_TASKS_TRUST, executionRolePolicy } from "../shared/ecs";
import { autoscaledFargateService, fargateTaskDefinition, pathRoute, roleWithPolicy, secretWithVersion } from "../shared/aws";
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
    const { secret, version } = secretWithVersion(opts.parent, `${name}-reader`, {
        description: `Read-only registry password of the model server ${args.model.name} (MLFLOW_TRACKING_PASSWORD)`,
        value: args.reader.password,
        recoveryWindowInDays: 7,
        tags,
    });
    return { arn: secret.arn, versionId: version.versionId };
}

/** The task definition and what it names: log group, execution role (image, logs, the htpasswd and reader secrets). */
function buildTask(p: Piece): aws.ecs.TaskDefinition {
    const { name, args, opts, tags } = p;
    const logGroup = new aws.cloudwatch.LogGroup(`${name}-logs`, { retentionInDays: args.logRetentionDays, tags }, opts);
    const readerSecret = buildReaderSecret(p);
    const { role: executionRole, policy: executionPolicy } = roleWithPolicy(opts.parent, `${name}-execution`, {
        description: `ECS agent for the model server ${args.model.name}: pull the image, write logs, inject the htpasswd secret and its reader password`,
        assumeRolePolicy: ECS_TASKS_TRUST,
        // This model's reader secret only: no other model's password.
        policy: pulumi.all([args.ecrRepositoryArn, logGroup.arn, args.proxy.htpasswdSecretArn, readerSecret.arn])
            .apply(([repositoryArn, logGroupArn, htpasswdArn, readerArn]) => JSON.stringify(executionRolePolicy({ repositoryArn, logGroupArn, secretArns: [htpasswdArn, readerArn] }))),
        tags,
    });
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
    return fargateTaskDefinition(opts.parent, `${name}-task`, {
        family: name,
        cpu: args.cpu,
        memory: args.memory,
        architecture: args.architecture,
        executionRoleArn: executionRole.arn,
        containerDefinitions,
        tags,
        dependsOn: [executionPolicy],
    });
}

/** The model's target group and its listener rule on the tracking server's forwarding listener. */
function buildRoute(p: Piece): { targetGroup: aws.lb.TargetGroup; rule: aws.lb.ListenerRule } {
    const { name, args, tags } = p;
    return pathRoute(p.opts.parent, name, {
        namePrefix: "model",
        vpcId: args.vpcId,
        port: MODEL_PROXY_PORT,
        listenerArn: args.listenerArn,
        priority: modelRulePriority(args.model.name),
        pathPatterns: modelPathPatterns(args.model.name),
        extraConditions: args.listenerConditions ?? [],
        tags,
    });
}

function buildService(p: Piece, task: aws.ecs.TaskDefinition, route: { targetGroup: aws.lb.TargetGroup; rule: aws.lb.ListenerRule }): aws.ecs.Service {
    const { name, args, tags } = p;
    return autoscaledFargateService(p.opts.parent, name, {
        cluster: args.clusterName,
        clusterName: args.clusterName,
        taskDefinitionArn: task.arn,
        desiredCount: args.minTasks,
        minTasks: args.minTasks,
        maxTasks: args.maxTasks,
        cpuTargetPercent: MODEL_CPU_TARGET_PERCENT,
        subnetIds: args.subnetIds,
        securityGroupId: args.securityGroupId,
        assignPublicIp: args.assignPublicIp,
        targetGroupArn: route.targetGroup.arn,
        proxyPort: MODEL_PROXY_PORT,
        tags,
        // ECS rejects a target group that no listener (rule) uses yet.
        dependsOn: [route.rule],
    });
}

export function buildAwsModelServer(parent: pulumi.Resource, name: string, args: AwsModelServerArgs): AwsModelServerOutputs {
    const piece: Piece = { name, args, opts: { parent }, tags: args.tags ?? {} };
    const task = buildTask(piece);
    const route = buildRoute(piece);
    const service = buildService(piece, task, route);
    return { route: { name: args.model.name, path: modelPath(args.model.name) }, serviceName: service.name, targetGroupArnSuffix: route.targetGroup.arnSuffix };
}
