// AWS tracking server: the MLflow image built and pushed to a private ECR repository, run on
// ECS Fargate next to the authenticating nginx sidecar, with CPU-based autoscaling.
// Secrets reach the containers only through ECS `secrets` (Secrets Manager references):
// neither the task definition nor Pulumi state holds a password.
// One small builder per piece: image, logs and cluster, roles, task definition, service with
// autoscaling (the last two through shared/aws.ts). The container definitions are rendered by
// components/shared/ecs.ts.
import * as aws from "@pulumi/aws";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { TRACKING_SERVER_CONTEXT, TRACKING_SERVER_CONTEXT_RELATIVE, trackingServerImageTag } from "./image";
import {
    buildPlatform, ECS_TASKS_TRUST, EcsAuthSettings, executionRolePolicy, renderContainerDefinitions, rotationWatchPolicy,
} from "../shared/ecs";
import { AUTH_DATABASE, renderAuthEnv } from "./auth";
import { autoscaledFargateService, fargateTaskDefinition, roleWithPolicy, secretWithVersion } from "../shared/aws";
import { MLFLOW_PORT } from "./mlflow";
import { buildAwsProjectPrune } from "./awsPrune";
import type { AwsSharedServerParts, AwsTrackingServerArgs, AwsTrackingServerOutputs } from "./types";

/** Average task CPU the autoscaler aims for. */
export const CPU_TARGET_PERCENT = 60;
/** Time the load balancer's health checks are ignored after a task starts: schema upgrade and Aurora resume. */
export const HEALTH_CHECK_GRACE_SECONDS = 300;

type Args = AwsTrackingServerArgs & { workers: number };

interface Piece {
    readonly name: string;
    readonly args: Args;
    readonly opts: pulumi.CustomResourceOptions & { parent: pulumi.Resource };
    readonly tags: Record<string, string>;
}

/** The private repository (immutable tags, scanned, lifecycle-limited) and the image pushed to it. */
function buildImage(p: Piece): { repository: aws.ecr.Repository; image: docker.Image } {
    const { name, args, opts, tags } = p;
    const repository = new aws.ecr.Repository(`${name}-repo`, {
        imageScanningConfiguration: { scanOnPush: true },
        // Tags are content hashes (components/trackingServer/image.ts): a tag never needs to move.
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
    const token = aws.ecr.getAuthorizationTokenOutput({ registryId: repository.registryId }, { parent: opts.parent });
    const platform = buildPlatform(args.architecture);
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
    return { repository, image };
}

function buildLogsAndCluster(p: Piece): { logGroup: aws.cloudwatch.LogGroup; cluster: aws.ecs.Cluster } {
    const logGroup = new aws.cloudwatch.LogGroup(`${p.name}-logs`, {
        retentionInDays: p.args.logRetentionDays,
        tags: p.tags,
    }, p.opts);
    const cluster = new aws.ecs.Cluster(`${p.name}-cluster`, {
        // Container Insights is billed per metric; the service's CPU metric for autoscaling is free.
        settings: [{ name: "containerInsights", value: "disabled" }],
        tags: p.tags,
    }, p.opts);
    return { logGroup, cluster };
}

/** The AI Gateway's KEK passphrase (only when enabled): from stack config, injected by ECS. */
function buildGatewayKek(p: Piece): pulumi.Output<string> | undefined {
    const passphrase = p.args.aiGatewayKekPassphrase;
    if (passphrase === undefined) return undefined;
    const { secret } = secretWithVersion(p.opts.parent, `${p.name}-gateway-kek`, {
        description: "MLflow AI Gateway KEK passphrase (MLFLOW_CRYPTO_KEK_PASSPHRASE), from stack config",
        value: passphrase,
        tags: p.tags,
    });
    return secret.arn;
}

interface Roles {
    readonly executionRole: aws.iam.Role;
    readonly taskRole: aws.iam.Role;
    /** The task role's bucket access. */
    readonly artifactAccess: aws.iam.RolePolicyAttachment;
    /** Every policy of both roles: the service waits for them before its first task starts. */
    readonly permissions: pulumi.Resource[];
}

/**
 * The execution role (ECS agent) and the task role (MLflow), each with only what it needs. A
 * project's execution role also injects the master secret (its init container's only); its task
 * role has its prefix of the bucket and no rotation watch (its own secret is never rotated).
 */
function buildRoles(p: Piece, shared: { repositoryArn: pulumi.Input<string>; logGroupArn: pulumi.Input<string> }, kekSecretArn?: pulumi.Input<string>): Roles {
    const { name, args, opts, tags } = p;
    const { role: executionRole, policy: executionPolicy } = roleWithPolicy(opts.parent, `${name}-execution`, {
        description: "ECS agent for the MLflow tasks: pull the image, write logs, inject secrets",
        assumeRolePolicy: ECS_TASKS_TRUST,
        policy: pulumi.all([
            shared.repositoryArn, shared.logGroupArn, args.database.secretArn, args.proxy.htpasswdSecretArn, kekSecretArn ?? "", args.project?.adminSecretArn ?? "",
            args.proxy.readers?.htpasswdSecretArn ?? "", authSecretArns(args),
        ]).apply(([repositoryArn, logGroupArn, dbSecretArn, htpasswdSecretArn, kekArn, adminArn, readersArn, authArns]) => JSON.stringify(executionRolePolicy({
            repositoryArn, logGroupArn,
            secretArns: [dbSecretArn, htpasswdSecretArn, ...(kekArn ? [kekArn] : []), ...(adminArn ? [adminArn] : []), ...(readersArn ? [readersArn] : []), ...authArns],
        }))),
        tags,
    });
    const taskRole = new aws.iam.Role(`${name}-task`, {
        description: args.project === undefined ? "MLflow tasks: the artifact bucket and nothing else" : `MLflow project ${args.project.name} tasks: its prefix of the artifact bucket and nothing else`,
        assumeRolePolicy: ECS_TASKS_TRUST,
        tags,
    }, opts);
    const artifactAccess = new aws.iam.RolePolicyAttachment(`${name}-task-artifacts`, {
        role: taskRole.name,
        policyArn: args.artifactAccessPolicyArn,
    }, opts);
    if (args.project !== undefined) return { executionRole, taskRole, artifactAccess, permissions: [executionPolicy, artifactAccess] };
    // The entrypoint restarts the task when RDS rotates the master password (every 7 days):
    // it reads the secret's metadata, never its value.
    const rotationWatch = new aws.iam.RolePolicy(`${name}-task-rotation-watch`, {
        role: taskRole.name,
        policy: pulumi.output(args.database.secretArn).apply(secretArn => JSON.stringify(rotationWatchPolicy(secretArn))),
    }, opts);
    return { executionRole, taskRole, artifactAccess, permissions: [executionPolicy, artifactAccess, rotationWatch] };
}

/** The team accounts' secrets the ECS agent injects (none without accounts). */
function authSecretArns(args: Args): pulumi.Output<string[]> {
    const a = args.auth;
    return a === undefined ? pulumi.output([] as string[])
        : pulumi.all([...(a.databaseSecretArn === undefined ? [] : [a.databaseSecretArn]), a.tokenSecretArn, a.flaskKeySecretArn]);
}

/** The accounts' part of the task (shared/ecs.ts EcsAuthSettings), once its ARNs are known. */
function ecsAuth(args: Args): pulumi.Output<EcsAuthSettings | undefined> {
    const a = args.auth;
    if (a === undefined) return pulumi.output(undefined);
    const own = a.databaseSecretArn !== undefined;
    return pulumi.all([a.databaseSecretArn ?? "", a.tokenSecretArn, a.tokenVersionId, a.flaskKeySecretArn, a.flaskKeyVersionId])
        .apply(([databaseSecretArn, tokenSecretArn, tokenVersionId, flaskKeySecretArn, flaskKeyVersionId]) => ({
            environment: renderAuthEnv(a.users, { inBackendStore: !own }),
            ...(own ? { ownDatabase: { database: AUTH_DATABASE.database, databaseUser: AUTH_DATABASE.username, databaseSecretArn } } : {}),
            tokenSecretArn, tokenVersionId, flaskKeySecretArn, flaskKeyVersionId,
        }));
}

/** The Fargate task: rendered container definitions, once every input they name is known. */
function buildTaskDefinition(
    p: Piece, shared: { imageName: pulumi.Input<string>; logGroupName: pulumi.Input<string> }, roles: Roles, kekSecretArn?: pulumi.Input<string>,
): aws.ecs.TaskDefinition {
    const { name, args } = p;
    const db = args.database;
    const database = pulumi.all([db.host, db.port, db.name, db.secretArn, db.readerHost])
        .apply(([host, port, dbName, secretArn, readerHost]) => ({ engine: db.engine, host, port, name: dbName, secretArn, ...(readerHost === undefined ? {} : { readerHost }) }));
    const r = args.proxy.readers;
    const readers = r === undefined ? pulumi.output(undefined)
        : pulumi.all([r.htpasswdSecretArn, r.htpasswdVersionId]).apply(([htpasswdSecretArn, htpasswdVersionId]) => ({ port: r.port, htpasswdSecretArn, htpasswdVersionId }));
    const auth = ecsAuth(args);
    const proxy = pulumi.all([args.proxy.config, args.proxy.htpasswdSecretArn, args.proxy.htpasswdVersionId, readers, auth])
        .apply(([config, htpasswdSecretArn, htpasswdVersionId, rd, au]) => ({
            image: args.proxy.image, port: args.proxy.port, config, htpasswdSecretArn, htpasswdVersionId, ...(rd === undefined ? {} : { readers: rd }),
            ...(au === undefined ? {} : { identity: { tokenSecretArn: au.tokenSecretArn, tokenVersionId: au.tokenVersionId } }),
        }));
    const mlflow = pulumi.all([shared.imageName, args.artifactBucket, args.allowedHosts, args.corsAllowedOrigins, kekSecretArn ?? ""])
        .apply(([imageName, artifactBucket, allowedHosts, corsAllowedOrigins, kekArn]) => ({
            image: imageName, workers: args.workers, artifactBucket, allowedHosts, corsAllowedOrigins,
            releaseIdleConnections: args.releaseIdleConnections,
            maxReplicas: args.maxTasks,
            ...(args.logLevel === undefined ? {} : { logLevel: args.logLevel }),
            ...(args.pool === undefined ? {} : { pool: args.pool }),
            ...(args.jobExecution === undefined ? {} : { jobExecution: args.jobExecution }),
            ...(kekArn ? { aiGatewayKekSecretArn: kekArn } : {}),
        }));
    const project = args.project === undefined ? pulumi.output(undefined)
        : pulumi.all([args.project.adminSecretArn, args.project.clusterDatabase]).apply(([adminSecretArn, clusterDatabase]) =>
            ({ name: args.project!.name, adminSecretArn, clusterDatabase }));
    const containerDefinitions = pulumi.all([shared.logGroupName, mlflow, database, proxy, project, auth])
        .apply(([logGroupName, m, d, x, pr, au]) => JSON.stringify(renderContainerDefinitions({
            region: args.region, logGroupName, mlflow: m, database: d, proxy: x, ...(pr === undefined ? {} : { project: pr }), ...(au === undefined ? {} : { auth: au }),
        })));
    return fargateTaskDefinition(p.opts.parent, `${name}-task`, {
        family: name,
        cpu: args.cpu,
        memory: args.memory,
        architecture: args.architecture,
        executionRoleArn: roles.executionRole.arn,
        taskRoleArn: roles.taskRole.arn,
        containerDefinitions,
        tags: p.tags,
    });
}

/** Cloud Map: a private DNS namespace and an A-record service the ECS service registers its tasks in. */
function buildServiceDiscovery(p: Piece): pulumi.Output<string> | undefined {
    const sd = p.args.serviceDiscovery;
    if (sd === undefined) return undefined;
    const namespace = new aws.servicediscovery.PrivateDnsNamespace(`${p.name}-namespace`, {
        name: sd.namespace,
        vpc: sd.vpcId,
        description: "MLflow's internal name for the model servers",
        tags: p.tags,
    }, p.opts);
    const registry = new aws.servicediscovery.Service(`${p.name}-discovery`, {
        name: sd.serviceName,
        namespaceId: namespace.id,
        dnsConfig: { namespaceId: namespace.id, routingPolicy: "MULTIVALUE", dnsRecords: [{ type: "A", ttl: 10 }] },
        // ECS deregisters a task's address when the task stops; the instances are ECS's to manage.
        forceDestroy: true,
        tags: p.tags,
    }, p.opts);
    return registry.arn;
}

/** The service behind the `/` (or project's) target group, autoscaled on CPU between minTasks and maxTasks. */
function buildService(p: Piece, cluster: { arn: pulumi.Input<string>; name: pulumi.Input<string> }, taskDefinition: aws.ecs.TaskDefinition, roles: Roles, registryArn?: pulumi.Output<string>): aws.ecs.Service {
    const { name, args } = p;
    return autoscaledFargateService(p.opts.parent, name, {
        cluster: cluster.arn,
        clusterName: cluster.name,
        taskDefinitionArn: taskDefinition.arn,
        desiredCount: args.desiredCount,
        minTasks: args.minTasks,
        maxTasks: args.maxTasks,
        cpuTargetPercent: CPU_TARGET_PERCENT,
        subnetIds: args.subnetIds,
        securityGroupId: args.securityGroupId,
        assignPublicIp: args.assignPublicIp,
        targetGroupArn: args.targetGroupArn,
        proxyPort: args.proxy.port,
        // awsvpc with A records: the registry needs no port (ECS API, ServiceRegistry); clients
        // take it from their URI (the model servers: the sidecar's reader port 8082).
        ...(registryArn === undefined ? {} : { serviceRegistryArn: registryArn }),
        healthCheckGracePeriodSeconds: HEALTH_CHECK_GRACE_SECONDS,
        tags: p.tags,
        // The ECS agent needs the execution role's policy to pull and inject secrets, the entrypoint
        // the task role's to read the secret's metadata at start and MLflow its bucket access; a
        // project's service also waits until the prune's project list names it (project.startAfter).
        dependsOn: [...roles.permissions, ...(args.project?.startAfter ?? [])],
    });
}

export function buildAwsTrackingServer(parent: pulumi.Resource, name: string, args: Args): AwsTrackingServerOutputs {
    const piece: Piece = { name, args, opts: { parent }, tags: args.tags ?? {} };
    if (args.project !== undefined) return buildAwsProjectServer(piece, args.project.shared);
    const { repository, image } = buildImage(piece);
    const { logGroup, cluster } = buildLogsAndCluster(piece);
    const kekSecretArn = buildGatewayKek(piece);
    const roles = buildRoles(piece, { repositoryArn: repository.arn, logGroupArn: logGroup.arn }, kekSecretArn);
    const taskDefinition = buildTaskDefinition(piece, { imageName: image.imageName, logGroupName: logGroup.name }, roles, kekSecretArn);
    const registryArn = buildServiceDiscovery(piece);
    const service = buildService(piece, cluster, taskDefinition, roles, registryArn);
    // retainDataOnDestroy=false: the scheduled prune, its own task beside `/`'s (not in it).
    const projectList = args.projectPrune === undefined ? undefined : buildAwsProjectPrune(name, args, {
        imageName: image.imageName, repositoryArn: repository.arn, clusterArn: cluster.arn, logGroupName: logGroup.name, logGroupArn: logGroup.arn,
    }, piece.opts);
    return {
        ...(projectList === undefined ? {} : { projectList }),
        // nginx and MLflow share the task's network namespace (awsvpc).
        upstream: pulumi.output(`127.0.0.1:${MLFLOW_PORT}`),
        imageName: image.imageName,
        ecrRepositoryUrl: repository.repositoryUrl,
        ecrRepositoryArn: repository.arn,
        clusterName: cluster.name,
        serviceName: service.name,
        shared: {
            imageName: image.imageName,
            repositoryArn: repository.arn,
            clusterArn: cluster.arn,
            clusterName: cluster.name,
            logGroupName: logGroup.name,
            logGroupArn: logGroup.arn,
            aiGatewayKekSecretArn: kekSecretArn ?? pulumi.output(""),
        },
    };
}

/** A project's service: the shared image, cluster and log group; its own roles, task, service and autoscaling. */
function buildAwsProjectServer(piece: Piece, shared: AwsSharedServerParts): AwsTrackingServerOutputs {
    // "" when the AI Gateway is off: both builders then leave the KEK out.
    const roles = buildRoles(piece, shared, shared.aiGatewayKekSecretArn);
    const taskDefinition = buildTaskDefinition(piece, shared, roles, shared.aiGatewayKekSecretArn);
    const service = buildService(piece, { arn: shared.clusterArn, name: shared.clusterName }, taskDefinition, roles);
    return {
        upstream: pulumi.output(`127.0.0.1:${MLFLOW_PORT}`),
        imageName: pulumi.output(shared.imageName),
        ecrRepositoryUrl: pulumi.output(""),
        ecrRepositoryArn: pulumi.output(shared.repositoryArn),
        clusterName: pulumi.output(shared.clusterName),
        serviceName: service.name,
        shared,
    };
}
