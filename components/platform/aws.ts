// The platform on the aws target: S3, Aurora Serverless v2, ECR and ECS Fargate behind a load
// balancer (CloudFront in front by default), with a service per project and per served model.
import * as pulumi from "@pulumi/pulumi";
import { ArtifactStore } from "../artifactStore";
import { AuthProxy } from "../authProxy";
import { HTPASSWD_PATH, PROXY_LISTEN_PORT } from "../authProxy/nginx";
import { REGISTRY_READER_PORT } from "../authProxy/registryReader";
import { BackendStore } from "../backendStore";
import { ENGINES } from "../backendStore/database";
import { auroraUsableConnections } from "../config/capacity";
import { BucketInit } from "../bucketInit";
import { GarbageCollection } from "../garbageCollection";
import { DEFAULT_GARBAGE_COLLECTION } from "../garbageCollection/gc";
import { ModelServer } from "../modelServer";
import { internalTrackingHost, internalTrackingUri, MODEL_PROXY_PORT, renderModelProxyConfig, trackingNamespaceName } from "../modelServer/ecs";
import { modelSlug } from "../modelServer/serving";
import { Monitoring, type AwsMonitoredService } from "../monitoring";
import { dashboardName } from "../monitoring/alarms";
import { Network } from "../network";
import { ProjectDatabase } from "../projectDatabase";
import { keepAliveChain } from "../shared/keepalive";
import { projectNames } from "../shared/projects";
import { AwsTrackingServerArgs, AwsTrackingServerAuth, TrackingServer } from "../trackingServer";
import { AUTH_DATABASE } from "../trackingServer/auth";
import { renderProxyTokenInclude } from "../authProxy/identity";
import { secretWithVersion } from "../shared/aws";
import { accountOutputs, PlatformAccounts, platformAccounts, ServerAccounts } from "./accounts";
import { MLFLOW_HOSTNAME, renderPublicOrigins } from "../trackingServer/mlflow";
import type { AwsPlatformArgs, ChildOptions, PlatformOutputs } from "./types";
import { clientOutputs, givenPassword, invocationUrls, kekPassphrase, projectLogins, projectTaskArgs } from "./wiring";

/** The AWS components the tracking server is wired to. */
interface AwsParts {
    readonly network: Network<"aws">;
    readonly store: ArtifactStore<"aws">;
    readonly bucketInit: BucketInit<"aws">;
    readonly backend: BackendStore<"aws">;
    readonly proxy: AuthProxy<"aws">;
    /** Team accounts of the server at `/` (none without users). */
    readonly auth?: AwsTrackingServerAuth;
}

/** What differs between the server at `/` and a project's service. */
interface AwsServerRole {
    readonly artifactAccessPolicyArn: pulumi.Input<string>;
    readonly database: { name: pulumi.Input<string>; secretArn: pulumi.Input<string> };
    readonly proxy: Omit<AwsTrackingServerArgs["proxy"], "image" | "port">;
    readonly targetGroupArn: pulumi.Input<string>;
    readonly project?: AwsTrackingServerArgs["project"];
    /** A project's team accounts (its tables in its own database); `/`'s come from parts.auth. */
    readonly auth?: AwsTrackingServerAuth;
}

/** ECS Fargate behind the proxy's load balancer, with access to exactly the parts it uses. */
function awsTrackingServer(config: AwsPlatformArgs, parts: AwsParts, name: string, tags: Record<string, string>, opts: ChildOptions, role?: AwsServerRole): TrackingServer<"aws"> {
    const aws = config.aws;
    const { network, store, bucketInit, backend, proxy } = parts;
    const readers = proxy.registryReaders;
    const r: AwsServerRole = role ?? {
        artifactAccessPolicyArn: bucketInit.policyArn,
        database: { name: backend.databaseName, secretArn: backend.secretArn },
        proxy: {
            config: proxy.nginxConfig, htpasswdSecretArn: proxy.htpasswdSecretArn, htpasswdVersionId: proxy.htpasswdVersionId,
            // The model servers' read-only endpoint is on the sidecar at `/` only.
            ...(readers === undefined ? {} : { readers: { port: REGISTRY_READER_PORT, htpasswdSecretArn: readers.htpasswdSecretArn, htpasswdVersionId: readers.htpasswdVersionId } }),
        },
        targetGroupArn: proxy.targetGroupArn,
    };
    const allowedHosts = pulumi.all([proxy.publicHosts]).apply(([hosts]) => [...new Set([...hosts, ...config.allowedHosts])]);
    // Model servers look the alias up at MLflow's Cloud Map name, which its Host check must admit
    // (not a browser origin: CORS stays with the public hosts).
    const internal = aws.serving && r.project === undefined ? [internalTrackingHost(trackingNamespaceName(name))] : [];
    const scheme = aws.plainHttp ? "http" : "https";
    const server = new TrackingServer(name, {
        target: "aws",
        region: aws.region,
        pythonImage: aws.pythonImage,
        aiGatewayKekPassphrase: kekPassphrase(config),
        workers: config.mlflowWorkers,
        logLevel: config.logLevel,
        artifactBucket: store.bucketName,
        artifactAccessPolicyArn: r.artifactAccessPolicyArn,
        database: {
            engine: config.backend,
            host: backend.host,
            port: backend.port,
            name: r.database.name,
            secretArn: r.database.secretArn,
            // Projects' databases are on the same cluster: each reads its own on the reader endpoint.
            ...(backend.readerHost === undefined ? {} : { readerHost: backend.readerHost }),
        },
        releaseIdleConnections: aws.dbMinCapacity === 0,
        proxy: { image: aws.nginxImage, port: PROXY_LISTEN_PORT, ...r.proxy },
        targetGroupArn: r.targetGroupArn,
        ...(r.project === undefined && parts.auth !== undefined ? { auth: parts.auth } : {}),
        ...(r.project !== undefined && r.auth !== undefined ? { auth: r.auth } : {}),
        subnetIds: aws.existingVpc ? network.privateSubnetIds : network.publicSubnetIds,
        securityGroupId: network.serviceSecurityGroupId,
        assignPublicIp: aws.existingVpc === undefined,
        allowedHosts: internal.length > 0 ? allowedHosts.apply(hosts => [...hosts, ...internal]) : allowedHosts,
        corsAllowedOrigins: allowedHosts.apply(hosts => renderPublicOrigins(hosts, scheme, scheme === "https" ? 443 : 80)),
        cpu: aws.taskCpu,
        memory: aws.taskMemory,
        architecture: aws.taskArchitecture,
        desiredCount: aws.desiredCount,
        minTasks: aws.minTasks,
        maxTasks: aws.maxTasks,
        // A project's own, smaller task (docs/aws.md, "Projects"); `/` keeps the settings above.
        ...(r.project === undefined ? {} : projectTaskArgs(aws.projectTasks)),
        ecrKeepImages: aws.ecrKeepImages,
        logRetentionDays: aws.logRetentionDays,
        tags,
        ...(r.project === undefined ? {} : { project: r.project }),
        // retainDataOnDestroy=false: a scheduled task deletes removed projects' data (docs/projects.md, "Removing a project").
        ...(r.project === undefined && !config.retainDataOnDestroy ? { projectPrune: { keep: config.projects.map(p => p.name) } } : {}),
        // Only the server at `/` is registered: the model servers read its registry.
        ...(aws.serving && r.project === undefined ? { serviceDiscovery: { vpcId: network.vpcId, namespace: trackingNamespaceName(name), serviceName: MLFLOW_HOSTNAME } } : {}),
    }, opts);
    awsGarbageCollection(config, `${name}-gc`, server, r, parts, tags, opts);
    return server;
}

/** `mlflow gc` of one server on a schedule (components/garbageCollection): its database, secret, artifact policy and network. */
function awsGarbageCollection(
    config: AwsPlatformArgs, name: string, server: TrackingServer<"aws">, r: AwsServerRole, parts: AwsParts, tags: Record<string, string>, opts: ChildOptions,
): GarbageCollection | undefined {
    const gc = config.garbageCollection ?? DEFAULT_GARBAGE_COLLECTION;
    if (!gc.enabled) return undefined;
    const { aws } = config;
    const { network, store, backend } = parts;
    const project = r.project === undefined ? undefined : projectNames(r.project.name);
    return new GarbageCollection(name, {
        target: "aws",
        region: aws.region,
        olderThanDays: gc.olderThanDays,
        intervalHours: gc.intervalHours,
        artifactBucket: store.bucketName,
        ...(project === undefined ? {} : { project: { name: project.name, staticPrefix: project.urlPath, artifactPrefix: project.artifactPrefix } }),
        shared: r.project?.shared ?? server.shared,
        artifactAccessPolicyArn: r.artifactAccessPolicyArn,
        database: { engine: config.backend, host: backend.host, port: backend.port, name: r.database.name, secretArn: r.database.secretArn },
        subnetIds: aws.existingVpc ? network.privateSubnetIds : network.publicSubnetIds,
        securityGroupId: network.serviceSecurityGroupId,
        assignPublicIp: aws.existingVpc === undefined,
        architecture: aws.taskArchitecture,
        tags,
    }, opts);
}

/**
 * One ModelServer (an ECS service behind the load balancer) per servedModels entry; it reaches
 * MLflow at the Cloud Map name awsTrackingServer registered under `trackingName`.
 */
function awsModelServers(
    config: AwsPlatformArgs, parts: AwsParts, server: TrackingServer<"aws">, trackingName: string, name: string, tags: Record<string, string>, opts: ChildOptions,
): ModelServer<"aws">[] {
    const aws = config.aws;
    const serving = aws.serving;
    if (!serving) return [];
    const { network, proxy } = parts;
    const keepAlive = keepAliveChain({ proxyTimeoutSeconds: config.proxyTimeoutSeconds, loadBalancer: true });
    return serving.models.map(model => new ModelServer(`${name}-model-${modelSlug(model.name)}`, {
        target: "aws",
        region: aws.region,
        model,
        workers: serving.workers,
        pollSeconds: serving.pollSeconds,
        image: server.imageName,
        ecrRepositoryArn: server.ecrRepositoryArn,
        trackingUri: internalTrackingUri(trackingNamespaceName(trackingName)),
        reader: proxy.registryReaders!.logins[model.name],
        clusterName: server.clusterName,
        vpcId: network.vpcId,
        listenerArn: proxy.listenerArn,
        listenerConditions: proxy.originConditions,
        subnetIds: aws.existingVpc ? network.privateSubnetIds : network.publicSubnetIds,
        securityGroupId: network.modelSecurityGroupId!,
        assignPublicIp: aws.existingVpc === undefined,
        proxy: {
            image: aws.nginxImage,
            config: renderModelProxyConfig({
                listenPort: MODEL_PROXY_PORT, model, htpasswdPath: HTPASSWD_PATH,
                maxUploadSize: config.maxUploadSize, timeoutSeconds: config.proxyTimeoutSeconds, keepAlive,
            }),
            htpasswdSecretArn: proxy.htpasswdSecretArn,
            htpasswdVersionId: proxy.htpasswdVersionId,
        },
        cpu: aws.taskCpu,
        memory: aws.taskMemory,
        architecture: aws.taskArchitecture,
        minTasks: aws.minTasks,
        maxTasks: aws.maxTasks,
        logRetentionDays: aws.logRetentionDays,
        tags,
    }, opts));
}

/**
 * One ECS service per project beside the one at `/`, in the same cluster, behind the same load
 * balancer (its own target group and listener rule), on the same Aurora cluster (its own
 * database and user, created by its task's init container), with its own task role limited to
 * its prefix of the bucket. Every resource name derives from the project's name.
 */
function deployAwsProjects(
    config: AwsPlatformArgs, name: string, parts: AwsParts, server: TrackingServer<"aws">, tags: Record<string, string>, accounts: PlatformAccounts | undefined, opts: ChildOptions,
): AwsMonitoredService[] {
    const { store, backend, proxy } = parts;
    return config.projects.map(project => {
        const n = projectNames(project.name);
        const base = `${name}-project-${project.name}`;
        const database = new ProjectDatabase(`${base}-database`, {
            target: "aws", databaseName: n.database, username: n.databaseUser, retainOnDelete: config.retainDataOnDestroy, tags,
        }, opts);
        const identity = new BucketInit(`${base}-bucket-init`, {
            target: "aws", bucketName: store.bucketName, bucketArn: store.bucketArn, prefix: n.artifactPrefix, tags,
        }, opts);
        const target = proxy.projectTargets[project.name];
        const projectServer = awsTrackingServer(config, parts, `${base}-tracking`, tags, opts, {
            artifactAccessPolicyArn: identity.policyArn,
            database: { name: database.databaseName, secretArn: database.secretArn },
            proxy: { config: target.nginxConfig, htpasswdSecretArn: target.htpasswdSecretArn, htpasswdVersionId: target.htpasswdVersionId },
            targetGroupArn: target.targetGroupArn,
            ...(accounts === undefined ? {} : { auth: awsServerSecrets(base, accounts.projects[project.name], tags, opts) }),
            project: {
                name: project.name, shared: server.shared, adminSecretArn: backend.secretArn, clusterDatabase: backend.databaseName,
                // retainDataOnDestroy=false: the prune's list names the project before its task can create data.
                ...(server.projectList === undefined ? {} : { startAfter: [server.projectList] }),
            },
        });
        return {
            key: `project-${project.name}`, title: `project ${project.name}`,
            clusterName: projectServer.clusterName, serviceName: projectServer.serviceName, targetGroupArnSuffix: target.targetGroupArnSuffix,
        };
    });
}

/**
 * Alarms on the load balancer, every service and the database, to one SNS topic, and their
 * dashboard (components/monitoring); none with monitoring false. The connections alarm fires
 * near the budget the config check fits every fleet into (config/capacity.ts).
 */
function awsMonitoring(config: AwsPlatformArgs, name: string, parts: AwsParts, services: AwsMonitoredService[], tags: Record<string, string>, opts: ChildOptions): Monitoring | undefined {
    const aws = config.aws;
    if (aws.monitoring === undefined) return undefined;
    return new Monitoring(`${name}-monitoring`, {
        target: "aws",
        region: aws.region,
        loadBalancerArnSuffix: parts.proxy.loadBalancerArnSuffix,
        services,
        database: {
            clusterIdentifier: parts.backend.clusterIdentifier,
            maxCapacity: aws.dbMaxCapacity,
            usableConnections: auroraUsableConnections(config.backend, aws.dbMinCapacity, aws.dbMaxCapacity),
        },
        thresholds: aws.monitoring.thresholds,
        ...(aws.monitoring.alarmEmail === undefined ? {} : { alarmEmail: aws.monitoring.alarmEmail }),
        dashboardName: dashboardName(name),
        tags,
    }, opts);
}

/** The VPC's pieces, the bucket with the identity of `/`, and the Aurora cluster. */
function awsStores(config: AwsPlatformArgs, name: string, tags: Record<string, string>, cloudFront: boolean, opts: ChildOptions): Omit<AwsParts, "proxy"> {
    const aws = config.aws;
    const retainOnDelete = config.retainDataOnDestroy;
    const network = new Network(`${name}-network`, {
        target: "aws",
        existingVpc: aws.existingVpc,
        ingressCidrs: aws.ingressCidrs,
        ...(cloudFront ? { cloudFrontOnly: true } : {}),
        listenerPorts: aws.certificateArn ? [80, 443] : [80],
        proxyPort: PROXY_LISTEN_PORT,
        databasePort: ENGINES[config.backend].port,
        retainDatabaseNetwork: retainOnDelete,
        tags,
        ...(aws.serving ? { servingPorts: { modelProxy: MODEL_PROXY_PORT, registryReader: REGISTRY_READER_PORT } } : {}),
    }, opts);
    const store = new ArtifactStore(`${name}-artifacts`, {
        target: "aws",
        bucketName: config.bucketName,
        noncurrentVersionExpirationDays: aws.noncurrentVersionExpirationDays,
        retainOnDelete,
        tags,
    }, opts);
    const bucketInit = new BucketInit(`${name}-bucket-init`, {
        target: "aws", bucketName: store.bucketName, bucketArn: store.bucketArn, tags,
    }, opts);
    const backend = new BackendStore(`${name}-backend`, {
        target: "aws",
        engine: config.backend,
        engineVersion: aws.dbEngineVersion,
        subnetIds: network.privateSubnetIds,
        securityGroupId: network.databaseSecurityGroupId,
        minCapacity: aws.dbMinCapacity,
        maxCapacity: aws.dbMaxCapacity,
        autoPauseSeconds: aws.dbAutoPauseSeconds,
        backupRetentionDays: aws.dbBackupRetentionDays,
        backupWindow: aws.dbBackupWindow,
        deletionProtection: aws.dbDeletionProtection,
        readerInstances: aws.dbReaderInstances ?? 0,
        retainOnDelete,
        tags,
    }, opts);
    return { network, store, bucketInit, backend };
}

/**
 * Team accounts on AWS: the auth app's database on Aurora (its user created by `/`'s init
 * container, its secret holding the URI), and the token and Flask key in Secrets Manager, which
 * every task of the service reads at start.
 */
function awsAuth(config: AwsPlatformArgs, name: string, accounts: PlatformAccounts, backend: BackendStore<"aws">, tags: Record<string, string>, opts: ChildOptions): AwsTrackingServerAuth {
    const database = new ProjectDatabase(`${name}-auth`, {
        target: "aws", databaseName: AUTH_DATABASE.database, username: AUTH_DATABASE.username, retainOnDelete: config.retainDataOnDestroy, tags,
        uriOf: { engine: config.backend, host: backend.host, port: backend.port },
    }, opts);
    return { ...awsServerSecrets(name, accounts, tags, opts), databaseSecretArn: database.secretArn };
}

/**
 * One server's token and Flask key in Secrets Manager (`/`'s, or a project's own), which every
 * task of its service reads at start; without databaseSecretArn (a project: its auth tables
 * are in its own database).
 */
function awsServerSecrets(name: string, accounts: ServerAccounts, tags: Record<string, string>, opts: ChildOptions): AwsTrackingServerAuth {
    const token = secretWithVersion(opts.parent, `${name}-proxy-token`, {
        description: "The token the nginx sidecar sends MLflow with the authenticated user (token for MLflow, include for nginx)",
        value: accounts.proxyToken.apply(t => JSON.stringify({ token: t, include: renderProxyTokenInclude(t) })),
        recoveryWindowInDays: 7, tags,
    });
    const flaskKey = secretWithVersion(opts.parent, `${name}-flask-secret-key`, {
        description: "MLflow's Flask secret key, shared by every task and worker of the server",
        value: accounts.flaskSecretKey, recoveryWindowInDays: 7, tags,
    });
    return {
        users: accounts.authUsers,
        tokenSecretArn: token.secret.arn, tokenVersionId: token.version.versionId,
        flaskKeySecretArn: flaskKey.secret.arn, flaskKeyVersionId: flaskKey.version.versionId,
    };
}

/** The load balancer (CloudFront in front unless a certificate or plain HTTP), its logins and routes. */
function awsProxy(
    config: AwsPlatformArgs, name: string, network: Network<"aws">, tags: Record<string, string>, cloudFront: boolean, opts: ChildOptions, accounts?: PlatformAccounts,
): AuthProxy<"aws"> {
    const aws = config.aws;
    return new AuthProxy(`${name}-proxy`, {
        target: "aws",
        image: aws.nginxImage,
        vpcId: network.vpcId,
        publicSubnetIds: network.publicSubnetIds,
        securityGroupId: network.loadBalancerSecurityGroupId,
        certificateArn: aws.certificateArn,
        domainName: aws.domainName,
        cloudFront,
        username: config.username,
        password: givenPassword(config),
        maxUploadSize: config.maxUploadSize,
        timeoutSeconds: config.proxyTimeoutSeconds,
        tags,
        ...(config.projects.length === 0 ? {} : { projects: config.projects.map(p => ({ name: p.name, username: p.username })) }),
        ...(aws.serving ? { registryReaders: aws.serving.models.map(m => m.name) } : {}),
        ...(accounts === undefined ? {} : { accounts: accounts.proxyAccounts, identityToken: accounts.proxyToken }),
    }, opts);
}

/** The aws target: S3, Aurora, ECS Fargate behind a load balancer, children of `opts.parent`. */
export function deployAws(config: AwsPlatformArgs, name: string, opts: ChildOptions): PlatformOutputs {
    const aws = config.aws;
    const tags = { "mlflow-platform:stack": pulumi.getStack() };
    // No certificate: CloudFront's HTTPS in front, unless plain HTTP was chosen for a private network.
    const cloudFront = !aws.certificateArn && !aws.plainHttp;
    if (aws.plainHttp) {
        void pulumi.log.warn("plainHttp is true: the load balancer serves plain HTTP and basic-auth passwords cross the network unencrypted. "
            + "Fix: pulumi config set plainHttp false (HTTPS through CloudFront), or set certificateArn");
    }
    const stores = awsStores(config, name, tags, cloudFront, opts);
    const accounts = platformAccounts(config, name, opts.parent, (aws.serving?.models ?? []).map(m => m.name));
    const proxy = awsProxy(config, name, stores.network, tags, cloudFront, opts, accounts);
    const auth = accounts === undefined ? undefined : awsAuth(config, name, accounts, stores.backend, tags, opts);
    const parts: AwsParts = { ...stores, proxy, ...(auth === undefined ? {} : { auth }) };
    const trackingName = `${name}-tracking`;
    const server = awsTrackingServer(config, parts, trackingName, tags, opts);
    const models = awsModelServers(config, parts, server, trackingName, name, tags, opts);
    const projectServices = deployAwsProjects(config, name, parts, server, tags, accounts, opts);
    const monitoring = awsMonitoring(config, name, parts, [
        { key: "tracking", title: "MLflow at /", clusterName: server.clusterName, serviceName: server.serviceName, targetGroupArnSuffix: proxy.targetGroupArnSuffix },
        ...projectServices,
        ...models.map((m, i) => ({
            key: `model-${modelSlug(aws.serving!.models[i].name)}`, title: `model ${aws.serving!.models[i].name}`,
            clusterName: server.clusterName, serviceName: m.serviceName, targetGroupArnSuffix: m.targetGroupArnSuffix,
        })),
    ], tags, opts);
    return {
        ...clientOutputs(proxy, stores.store, stores.backend),
        ecrRepositoryUrl: server.ecrRepositoryUrl,
        databaseEndpoint: stores.backend.host,
        databaseSecretArn: stores.backend.secretArn,
        projects: projectLogins(proxy.projects),
        servedModels: aws.serving ? invocationUrls(proxy.url, models) : undefined,
        ...accountOutputs(accounts),
        ...(monitoring === undefined ? {} : { alarmTopicArn: monitoring.alarmTopicArn, dashboardName: monitoring.dashboardName }),
    };
}
