// AWS gc: a Fargate task definition of its own (the server's image, cluster, log group and
// network), started by an EventBridge Scheduler schedule. Three roles, each with only its part:
// the ECS agent (image, logs, the server's database secret), the task (the server's artifact
// policy, nothing else) and the scheduler (RunTask of this family, PassRole of these two roles).
import { createHash } from "crypto";
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { pruneSchedulerPolicy, pruneSchedulerTrust } from "../projectPrune/awsSpec";
import { fargateTaskDefinition, roleWithPolicy } from "../shared/aws";
import { ECS_TASKS_TRUST, executionRolePolicy } from "../shared/ecs";
import { GC_TASK_SIZE, renderAwsServerEnvironment, renderGcContainer, renderGcEnvironment, renderGcScheduleExpression } from "./gc";
import type { AwsGarbageCollectionArgs } from "./types";

type Opts = pulumi.CustomResourceOptions & { parent: pulumi.Resource };

/**
 * The task role is a role of its own with the server's artifact policy attached, not the server's
 * role: that one also watches the database secret's rotation, and the scheduler may pass only
 * the gc's roles. What the gc reaches in the bucket is exactly what its server reaches.
 */
function buildGcRoles(name: string, args: AwsGarbageCollectionArgs, opts: Opts, tags: Record<string, string>) {
    const execution = roleWithPolicy(opts.parent, `${name}-exec`, {
        description: "ECS agent for MLflow gc: pull the image, write logs, inject the server's database secret",
        assumeRolePolicy: ECS_TASKS_TRUST, tags,
        policy: pulumi.all([args.shared.repositoryArn, args.shared.logGroupArn, args.database.secretArn]).apply(([repositoryArn, logGroupArn, secretArn]) =>
            JSON.stringify(executionRolePolicy({ repositoryArn, logGroupArn, secretArns: [secretArn] }))),
    });
    const taskRole = new aws.iam.Role(`${name}-task`, {
        description: args.project === undefined ? "MLflow gc: the artifact access of the server at /, nothing else"
            : `MLflow gc of project ${args.project.name}: its prefix of the artifact bucket, nothing else`,
        assumeRolePolicy: ECS_TASKS_TRUST,
        tags,
    }, opts);
    const artifactAccess = new aws.iam.RolePolicyAttachment(`${name}-task-artifacts`, { role: taskRole.name, policyArn: args.artifactAccessPolicyArn }, opts);
    return { executionRole: execution.role, taskRole, permissions: [execution.policy, artifactAccess] };
}

function buildGcTaskDefinition(name: string, args: AwsGarbageCollectionArgs, roles: ReturnType<typeof buildGcRoles>, tags: Record<string, string>, opts: Opts): aws.ecs.TaskDefinition {
    const db = args.database;
    const containerDefinitions = pulumi.all([args.shared.imageName, args.shared.logGroupName, args.artifactBucket, db.host, db.port, db.name, db.secretArn])
        .apply(([image, logGroupName, artifactBucket, host, port, dbName, secretArn]) => {
            const server = renderAwsServerEnvironment({
                region: args.region, artifactBucket, database: { engine: db.engine, host, port, name: dbName },
                ...(args.project === undefined ? {} : { project: args.project }),
            });
            const environment = renderGcEnvironment(server, { olderThanDays: args.olderThanDays, intervalHours: args.intervalHours, loop: false });
            return JSON.stringify([renderGcContainer({ region: args.region, logGroupName, image, environment, databaseSecretArn: secretArn })]);
        });
    return fargateTaskDefinition(opts.parent, `${name}-task-def`, {
        family: name,
        cpu: GC_TASK_SIZE.cpu,
        memory: GC_TASK_SIZE.memory,
        architecture: args.architecture,
        executionRoleArn: roles.executionRole.arn,
        taskRoleArn: roles.taskRole.arn,
        containerDefinitions,
        tags,
    });
}

export function buildAwsGarbageCollection(parent: pulumi.Resource, name: string, args: AwsGarbageCollectionArgs): aws.scheduler.Schedule {
    const opts: Opts = { parent };
    const tags = args.tags ?? {};
    const roles = buildGcRoles(name, args, opts, tags);
    const taskDefinition = buildGcTaskDefinition(name, args, roles, tags, opts);
    const clusterArn = args.shared.clusterArn;
    const scheduler = roleWithPolicy(parent, `${name}-sched`, {
        description: "EventBridge Scheduler: start the MLflow gc task, nothing else",
        assumeRolePolicy: pulumi.output(clusterArn).apply(pruneSchedulerTrust),
        policy: pulumi.all([clusterArn, roles.taskRole.arn, roles.executionRole.arn]).apply(([cluster, taskRoleArn, executionRoleArn]) =>
            JSON.stringify(pruneSchedulerPolicy({ clusterArn: cluster, family: name, roleArns: [taskRoleArn, executionRoleArn], task: "Gc" }))),
        tags,
    });
    return new aws.scheduler.Schedule(`${name}-schedule`, {
        name: gcScheduleName(name),
        description: `mlflow gc --older-than ${args.olderThanDays}d of ${args.project === undefined ? "the server at /" : `project ${args.project.name}`}`,
        scheduleExpression: renderGcScheduleExpression(args.intervalHours),
        flexibleTimeWindow: { mode: "OFF" },
        target: {
            arn: clusterArn,
            roleArn: scheduler.role.arn,
            ecsParameters: {
                taskDefinitionArn: taskDefinition.arn,
                launchType: "FARGATE",
                taskCount: 1,
                networkConfiguration: { subnets: args.subnetIds, securityGroups: [args.securityGroupId], assignPublicIp: args.assignPublicIp },
            },
            // A start that fails (ECS throttling, capacity) is retried for up to an hour; the next run covers the rest.
            retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
        },
    }, { parent, dependsOn: [scheduler.policy, ...roles.permissions] });
}

/**
 * The schedule's own name: the provider's `<server>-gc-schedule-<7 hex>` is longer than the
 * server's execution role, so it would cap stack and project names below what stacks already
 * deployed use (both limits are 64). `<server>-gc-<7 hex>` is shorter; the hex is derived
 * from project, stack and name so it stays the same on every `pulumi up`.
 */
export function gcScheduleName(name: string): string {
    const hex = createHash("sha256").update(`${pulumi.getProject()}/${pulumi.getStack()}/${name}`).digest("hex").slice(0, 7);
    return `${name}-${hex}`;
}
