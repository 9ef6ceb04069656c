// retainDataOnDestroy=false on AWS: the project prune as its own scheduled ECS task, beside the
// server at `/` (its image, cluster, log group, network). The current project list lives in one
// SSM parameter that `pulumi up` writes and the task reads at run time (projectPrune/awsSpec.ts);
// projects' services start only after it (platform/aws.ts), so the list names a project before its data
// exists. Not an object in the bucket: `/`'s users can write keys there through MLflow's proxy.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { ECS_TASKS_TRUST, executionRolePolicy, renderProjectPruneContainer } from "../shared/ecs";
import { fargateTaskDefinition, roleWithPolicy } from "../shared/aws";
import {
    PRUNE_SCHEDULE, PRUNE_TASK_SIZE, pruneSchedulerPolicy, pruneSchedulerTrust, pruneTaskRolePolicy, renderProjectListValue,
} from "../projectPrune/awsSpec";
import type { AwsTrackingServerArgs } from "./types";
import { AUTH_DATABASE } from "./auth";

interface PruneShared {
    readonly imageName: pulumi.Input<string>;
    readonly repositoryArn: pulumi.Input<string>;
    readonly clusterArn: pulumi.Input<string>;
    readonly logGroupName: pulumi.Input<string>;
    readonly logGroupArn: pulumi.Input<string>;
}

type Opts = pulumi.CustomResourceOptions & { parent: pulumi.Resource };

/** The parameter `pulumi up` writes: the projects' names, sorted (a plain String: names are not secret). */
function buildProjectList(name: string, keep: readonly string[], opts: Opts, tags: Record<string, string>): aws.ssm.Parameter {
    return new aws.ssm.Parameter(`${name}-prune-projects`, {
        description: "MLflow projects kept by the scheduled project prune (JSON list of names); written by pulumi up",
        type: "String",
        tier: "Standard",
        insecureValue: renderProjectListValue(keep),
        tags,
    }, opts);
}

/** The task's roles: ECS agent (image, logs, master secret) and the script (its prefix deletes, the list). */
function buildPruneRoles(name: string, args: AwsTrackingServerArgs, shared: PruneShared, list: aws.ssm.Parameter, opts: Opts, tags: Record<string, string>) {
    const execution = roleWithPolicy(opts.parent, `${name}-prune-execution`, {
        description: "ECS agent for the MLflow project prune: pull the image, write logs, inject the database master secret",
        assumeRolePolicy: ECS_TASKS_TRUST, tags,
        policy: pulumi.all([shared.repositoryArn, shared.logGroupArn, args.database.secretArn]).apply(([repositoryArn, logGroupArn, secretArn]) =>
            JSON.stringify(executionRolePolicy({ repositoryArn, logGroupArn, secretArns: [secretArn] }))),
    });
    const task = roleWithPolicy(opts.parent, `${name}-prune-task`, {
        description: "MLflow project prune: delete under projects/ of the artifact bucket, read the project list",
        assumeRolePolicy: ECS_TASKS_TRUST, tags,
        policy: pulumi.all([args.artifactBucket, shared.clusterArn, list.arn]).apply(([bucket, clusterArn, parameterArn]) =>
            JSON.stringify(pruneTaskRolePolicy({ bucketArn: `arn:${clusterArn.split(":")[1]}:s3:::${bucket}`, parameterArn }))),
    });
    return { executionRole: execution.role, executionPolicy: execution.policy, taskRole: task.role, taskPolicy: task.policy };
}

/**
 * The prune: the list parameter, a task definition of its own (never in `/`'s task), its roles,
 * and a schedule that starts it once a day. Returns the parameter: projects' services wait for it.
 */
export function buildAwsProjectPrune(name: string, args: AwsTrackingServerArgs, shared: PruneShared, opts: Opts): aws.ssm.Parameter {
    const tags = args.tags ?? {};
    const keep = args.projectPrune!.keep;
    const list = buildProjectList(name, keep, opts, tags);
    const roles = buildPruneRoles(name, args, shared, list, opts, tags);
    const db = args.database;
    const family = `${name}-prune`;
    const containerDefinitions = pulumi.all([shared.imageName, shared.logGroupName, db.host, db.port, db.name, db.secretArn, args.artifactBucket, list.name])
        .apply(([image, logGroupName, host, port, dbName, secretArn, artifactBucket, listParameter]) => JSON.stringify([renderProjectPruneContainer({
            region: args.region, logGroupName, image, artifactBucket, listParameter,
            database: { engine: db.engine, host, port, name: dbName, secretArn },
            // The auth app's database is named like a project's (mlflow_<name>).
            ...(args.auth === undefined ? {} : { protectedNames: [AUTH_DATABASE.database] }),
        })]));
    const taskDefinition = fargateTaskDefinition(opts.parent, family, {
        family,
        cpu: PRUNE_TASK_SIZE.cpu,
        memory: PRUNE_TASK_SIZE.memory,
        architecture: args.architecture,
        executionRoleArn: roles.executionRole.arn,
        taskRoleArn: roles.taskRole.arn,
        containerDefinitions,
        tags,
    });
    buildPruneSchedule(name, args, { clusterArn: shared.clusterArn, family, taskDefinition, roles }, opts);
    return list;
}

function buildPruneSchedule(
    name: string, args: AwsTrackingServerArgs,
    p: { clusterArn: pulumi.Input<string>; family: string; taskDefinition: aws.ecs.TaskDefinition; roles: ReturnType<typeof buildPruneRoles> },
    opts: Opts,
): void {
    const { roles } = p;
    const { role: schedulerRole, policy: schedulerPolicy } = roleWithPolicy(opts.parent, `${name}-prune-scheduler`, {
        description: "EventBridge Scheduler: start the MLflow project prune task, nothing else",
        assumeRolePolicy: pulumi.output(p.clusterArn).apply(pruneSchedulerTrust),
        policy: pulumi.all([p.clusterArn, roles.taskRole.arn, roles.executionRole.arn]).apply(([clusterArn, taskRoleArn, executionRoleArn]) =>
            JSON.stringify(pruneSchedulerPolicy({ clusterArn, family: p.family, roleArns: [taskRoleArn, executionRoleArn] }))),
        tags: args.tags ?? {},
    });
    new aws.scheduler.Schedule(`${name}-prune`, {
        description: "Deletes the data of MLflow projects removed from the stack (retainDataOnDestroy=false)",
        scheduleExpression: PRUNE_SCHEDULE,
        flexibleTimeWindow: { mode: "OFF" },
        target: {
            arn: p.clusterArn,
            roleArn: schedulerRole.arn,
            ecsParameters: {
                taskDefinitionArn: p.taskDefinition.arn,
                launchType: "FARGATE",
                taskCount: 1,
                networkConfiguration: { subnets: args.subnetIds, securityGroups: [args.securityGroupId], assignPublicIp: args.assignPublicIp },
            },
            // A start that fails (ECS throttling, capacity) is retried for up to an hour; the next day covers the rest.
            retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
        },
    }, { ...opts, dependsOn: [schedulerPolicy, roles.taskPolicy, roles.executionPolicy] });
}
