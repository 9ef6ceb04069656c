// AWS resources several components create alike: a secret with its one version, a role with its
// inline policy, a target group of nginx sidecars with its path rule, a Fargate task definition,
// and a Fargate service behind the load balancer with CPU autoscaling. Plain functions, not
// components: each resource gets the caller's parent and name, so code moving here moves no URN
// (tests/urnAliases.test.ts).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { CpuArchitecture } from "../config";
import { PROXY_CONTAINER } from "./ecs";

type Tags = Record<string, string>;

/** The nginx sidecars answer this path without authentication (their own exact-match location). */
export const SIDECAR_HEALTH_PATH = "/health";

export interface SecretValueArgs {
    readonly description: pulumi.Input<string>;
    /** The version's secretString; marked secret here, whatever the caller passes. */
    readonly value: pulumi.Input<string>;
    /** Days a deleted secret stays restorable; absent, Secrets Manager's default. */
    readonly recoveryWindowInDays?: number;
    readonly tags: Tags;
    /** Keep both in AWS when they leave the stack; absent, Pulumi's default. */
    readonly retainOnDelete?: boolean;
}

/** A Secrets Manager secret and the version holding its value, both named `name`. */
export function secretWithVersion(
    parent: pulumi.Resource, name: string, args: SecretValueArgs,
): { secret: aws.secretsmanager.Secret; version: aws.secretsmanager.SecretVersion } {
    const opts = { parent, ...(args.retainOnDelete === undefined ? {} : { retainOnDelete: args.retainOnDelete }) };
    const secret = new aws.secretsmanager.Secret(name, {
        description: args.description,
        ...(args.recoveryWindowInDays === undefined ? {} : { recoveryWindowInDays: args.recoveryWindowInDays }),
        tags: args.tags,
    }, opts);
    const version = new aws.secretsmanager.SecretVersion(name, {
        secretId: secret.id,
        secretString: pulumi.secret(args.value),
    }, opts);
    return { secret, version };
}

export interface RoleWithPolicyArgs {
    readonly description: string;
    /** Trust policy JSON: who may assume the role. */
    readonly assumeRolePolicy: pulumi.Input<string>;
    /** Inline policy JSON: all the role may do. */
    readonly policy: pulumi.Input<string>;
    readonly tags: Tags;
}

/** An IAM role and its one inline policy, both named `name`. */
export function roleWithPolicy(parent: pulumi.Resource, name: string, args: RoleWithPolicyArgs): { role: aws.iam.Role; policy: aws.iam.RolePolicy } {
    const role = new aws.iam.Role(name, { description: args.description, assumeRolePolicy: args.assumeRolePolicy, tags: args.tags }, { parent });
    const policy = new aws.iam.RolePolicy(name, { role: role.name, policy: args.policy }, { parent });
    return { role, policy };
}

export interface SidecarTargetGroupArgs {
    /** At most 6 characters: AWS appends a unique suffix (names are limited to 32). */
    readonly namePrefix: string;
    readonly vpcId: pulumi.Input<string>;
    /** The sidecar's listen port. */
    readonly port: number;
    readonly tags: Tags;
}

/**
 * A target group of nginx sidecars by task IP, checked on the sidecar's open /health: whether
 * the server behind it is ready is the server's answer to callers, not a reason to drop the task.
 */
export function sidecarTargetGroup(parent: pulumi.Resource, name: string, args: SidecarTargetGroupArgs): aws.lb.TargetGroup {
    return new aws.lb.TargetGroup(name, {
        namePrefix: args.namePrefix,
        vpcId: args.vpcId,
        targetType: "ip",
        port: args.port,
        protocol: "HTTP",
        deregistrationDelay: 30,
        healthCheck: {
            enabled: true,
            path: SIDECAR_HEALTH_PATH,
            protocol: "HTTP",
            matcher: "200",
            interval: 15,
            timeout: 5,
            healthyThreshold: 2,
            unhealthyThreshold: 3,
        },
        tags: args.tags,
    }, { parent });
}

export interface PathRouteArgs extends SidecarTargetGroupArgs {
    readonly listenerArn: pulumi.Input<string>;
    /** From the routed name alone, so adding or removing another route never moves this rule. */
    readonly priority: number;
    readonly pathPatterns: string[];
    /** Conditions a request must also meet (CloudFront's origin header); empty for none. */
    readonly extraConditions: pulumi.Input<pulumi.Input<aws.types.input.lb.ListenerRuleCondition>[]>;
}

/** `${name}-tg`, a sidecar target group, and `${name}-rule` forwarding the path patterns to it. */
export function pathRoute(parent: pulumi.Resource, name: string, args: PathRouteArgs): { targetGroup: aws.lb.TargetGroup; rule: aws.lb.ListenerRule } {
    const targetGroup = sidecarTargetGroup(parent, `${name}-tg`, args);
    const rule = new aws.lb.ListenerRule(`${name}-rule`, {
        listenerArn: args.listenerArn,
        priority: args.priority,
        conditions: pulumi.output(args.extraConditions).apply(extra => [{ pathPattern: { values: args.pathPatterns } }, ...extra]),
        actions: [{ type: "forward", targetGroupArn: targetGroup.arn }],
        tags: args.tags,
    }, { parent });
    return { targetGroup, rule };
}

export interface FargateTaskArgs {
    readonly family: string;
    readonly cpu: number;
    readonly memory: number;
    readonly architecture: CpuArchitecture;
    readonly executionRoleArn: pulumi.Input<string>;
    /** Absent: the task's containers call no AWS API. */
    readonly taskRoleArn?: pulumi.Input<string>;
    /** Rendered JSON (shared/ecs.ts, modelServer/ecs.ts). */
    readonly containerDefinitions: pulumi.Input<string>;
    readonly tags: Tags;
    /** What must exist before a task can start, beyond what the inputs already name. */
    readonly dependsOn?: pulumi.Resource[];
}

/** A Linux Fargate task definition in awsvpc mode. */
export function fargateTaskDefinition(parent: pulumi.Resource, name: string, args: FargateTaskArgs): aws.ecs.TaskDefinition {
    return new aws.ecs.TaskDefinition(name, {
        family: args.family,
        requiresCompatibilities: ["FARGATE"],
        networkMode: "awsvpc",
        cpu: String(args.cpu),
        memory: String(args.memory),
        runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: args.architecture },
        executionRoleArn: args.executionRoleArn,
        ...(args.taskRoleArn === undefined ? {} : { taskRoleArn: args.taskRoleArn }),
        containerDefinitions: args.containerDefinitions,
        tags: args.tags,
    }, { parent, ...(args.dependsOn === undefined ? {} : { dependsOn: args.dependsOn }) });
}

export interface AutoscaledServiceArgs {
    /** The cluster's ARN or name, as the service's `cluster` input. */
    readonly cluster: pulumi.Input<string>;
    /** The cluster's name, for the scaling target's resource ID. */
    readonly clusterName: pulumi.Input<string>;
    readonly taskDefinitionArn: pulumi.Input<string>;
    /** Tasks at the first deployment; the autoscaler owns the count after it. */
    readonly desiredCount: number;
    readonly minTasks: number;
    readonly maxTasks: number;
    /** Average task CPU the autoscaler aims for. */
    readonly cpuTargetPercent: number;
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly securityGroupId: pulumi.Input<string>;
    readonly assignPublicIp: boolean;
    /** The load balancer reaches the task's nginx sidecar (PROXY_CONTAINER) on this port. */
    readonly targetGroupArn: pulumi.Input<string>;
    readonly proxyPort: number;
    /** Cloud Map service the tasks register in (A records: no port). */
    readonly serviceRegistryArn?: pulumi.Input<string>;
    readonly healthCheckGracePeriodSeconds?: number;
    readonly tags: Tags;
    /** What must exist before the first task starts: its roles' policies, the listener rule using the target group. */
    readonly dependsOn: pulumi.Resource[];
}

/** `${name}-service` on Fargate behind the load balancer, with `${name}-scaling` and `${name}-cpu` target tracking on its CPU. */
export function autoscaledFargateService(parent: pulumi.Resource, name: string, args: AutoscaledServiceArgs): aws.ecs.Service {
    const service = new aws.ecs.Service(`${name}-service`, {
        cluster: args.cluster,
        taskDefinition: args.taskDefinitionArn,
        launchType: "FARGATE",
        desiredCount: args.desiredCount,
        networkConfiguration: { subnets: args.subnetIds, securityGroups: [args.securityGroupId], assignPublicIp: args.assignPublicIp },
        loadBalancers: [{ targetGroupArn: args.targetGroupArn, containerName: PROXY_CONTAINER, containerPort: args.proxyPort }],
        ...(args.serviceRegistryArn === undefined ? {} : { serviceRegistries: { registryArn: args.serviceRegistryArn } }),
        deploymentCircuitBreaker: { enable: true, rollback: true },
        deploymentMinimumHealthyPercent: 100,
        deploymentMaximumPercent: 200,
        ...(args.healthCheckGracePeriodSeconds === undefined ? {} : { healthCheckGracePeriodSeconds: args.healthCheckGracePeriodSeconds }),
        enableEcsManagedTags: true,
        propagateTags: "SERVICE",
        tags: args.tags,
    }, {
        parent,
        dependsOn: args.dependsOn,
        // The autoscaler owns the running count after the first deployment.
        ignoreChanges: ["desiredCount"],
    });
    cpuAutoscaling(parent, name, args, service);
    return service;
}

/** Target tracking on the service's average CPU, between minTasks and maxTasks. */
function cpuAutoscaling(parent: pulumi.Resource, name: string, args: AutoscaledServiceArgs, service: aws.ecs.Service): void {
    const target = new aws.appautoscaling.Target(`${name}-scaling`, {
        serviceNamespace: "ecs",
        scalableDimension: "ecs:service:DesiredCount",
        resourceId: pulumi.interpolate`service/${args.clusterName}/${service.name}`,
        minCapacity: args.minTasks,
        maxCapacity: args.maxTasks,
        tags: args.tags,
    }, { parent });
    new aws.appautoscaling.Policy(`${name}-cpu`, {
        policyType: "TargetTrackingScaling",
        serviceNamespace: target.serviceNamespace,
        scalableDimension: target.scalableDimension,
        resourceId: target.resourceId,
        targetTrackingScalingPolicyConfiguration: {
            predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" },
            targetValue: args.cpuTargetPercent,
            scaleOutCooldown: 60,
            scaleInCooldown: 300,
        },
    }, { parent });
}
