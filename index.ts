// Entry point: read the validated stack config, build the components for the chosen
// target, wire them together, export what clients need. Components never read config.
import * as pulumi from "@pulumi/pulumi";
import { ArtifactStore } from "./components/artifactStore";
import { AuthProxy } from "./components/authProxy";
import { BackendStore } from "./components/backendStore";
import { BucketInit } from "./components/bucketInit";
import { AwsPlatformConfig, loadConfig, LocalPlatformConfig, LocalServingSettings, PlatformConfig } from "./components/config";
import { Network } from "./components/network";
import { ENGINES } from "./components/render/database";
import { MLFLOW_HOSTNAME, renderLocalPublicHost, renderPublicOrigins } from "./components/render/mlflow";
import { PROXY_LISTEN_PORT } from "./components/render/nginx";
import { REGISTRY_READER_HOST, REGISTRY_READER_PORT } from "./components/render/registryReader";
import { ProjectDatabase } from "./components/projectDatabase";
import { ProjectPrune } from "./components/projectPrune";
import { projectNames } from "./components/render/projects";
import { ModelServer } from "./components/modelServer";
import { modelInvocationUrl, modelSlug } from "./components/render/serving";
import { internalTrackingHost, internalTrackingUri, MODEL_PROXY_PORT, renderModelProxyConfig, trackingNamespaceName } from "./components/render/servingEcs";
import { keepAliveChain } from "./components/render/keepalive";
import { HTPASSWD_PATH } from "./components/render/nginx";
import { AwsTrackingServerArgs, TrackingServer } from "./components/trackingServer";
import type { ProjectEndpoint, ProxyProject } from "./components/authProxy";

interface Deployment {
    trackingUri: pulumi.Output<string>;
    username: pulumi.Output<string>;
    password: pulumi.Output<string>;
    artifactBucket: pulumi.Output<string>;
    backendEngine: string;
    minioConsoleUrl?: pulumi.Output<string>;
    ecrRepositoryUrl?: pulumi.Output<string>;
    databaseEndpoint?: pulumi.Output<string>;
    databaseSecretArn?: pulumi.Output<string>;
    projects?: Record<string, ProjectEndpoint>;
    /** Served model name -> invocation URL; only with servedModels. */
    servedModels?: pulumi.Output<Record<string, string>>;
}

/** What every target exports for MLflow clients. */
function clientOutputs(proxy: AuthProxy, store: ArtifactStore, backend: BackendStore): Deployment {
    return {
        trackingUri: proxy.url,
        username: proxy.username,
        password: proxy.password,
        artifactBucket: store.bucketName,
        backendEngine: backend.engine,
    };
}

/** The configured basic-auth password as a secret; undefined lets AuthProxy generate one. */
function givenPassword(config: PlatformConfig): pulumi.Output<string> | undefined {
    return config.password === undefined ? undefined : pulumi.secret(config.password);
}

/** The AI Gateway's passphrase from stack config, secret; undefined keeps the gateway off. */
function kekPassphrase(config: PlatformConfig): pulumi.Output<string> | undefined {
    return config.aiGateway === undefined ? undefined : pulumi.secret(config.aiGateway.kekPassphrase);
}

/** The local components every project's server shares with the one at `/`. */
interface LocalParts {
    readonly networkName: pulumi.Output<string>;
    readonly store: ArtifactStore<"docker">;
    readonly backend: BackendStore<"docker">;
    readonly server: TrackingServer<"docker">;
}

/**
 * One MLflow server per project beside the one at `/`, each with its own database and user,
 * its own prefix-limited storage identity, under /projects/<name>/ (render/projects.ts).
 * Every resource name is derived from the project's name: adding one renames nothing.
 */
function deployLocalProjects(config: LocalPlatformConfig, name: string, parts: LocalParts, hosts: { allowedHosts: string[]; cors: string[] }): ProxyProject[] {
    const local = config.local;
    const { networkName, store, backend, server } = parts;
    // With retainDataOnDestroy=false, what belongs to projects no longer listed goes too.
    localProjectPrune(config, name, parts);
    return config.projects.map(project => {
        const n = projectNames(project.name);
        const base = `${name}-project-${project.name}`;
        const database = new ProjectDatabase(`${base}-database`, {
            platform: "docker",
            engine: config.backend,
            networkName,
            image: config.backend === "mysql" ? local.images.mysql : local.images.postgres,
            host: backend.host,
            port: backend.port,
            adminUsername: backend.adminUsername,
            adminPassword: backend.adminPassword,
            databaseName: n.database,
            username: n.databaseUser,
        });
        const identity = new BucketInit(`${base}-bucket-init`, {
            platform: "docker",
            bucketName: store.bucketName,
            networkName,
            image: local.images.mc,
            endpointUrl: store.s3EndpointUrl,
            rootUser: store.rootUser,
            rootPassword: store.rootPassword,
            accessKeyId: n.accessKeyId,
            prefix: n.artifactPrefix,
        });
        const tracking = new TrackingServer(`${base}-tracking`, {
            platform: "docker",
            networkName,
            pythonImage: local.images.python,
            workers: config.mlflowWorkers,
            artifactBucket: store.bucketName,
            s3EndpointUrl: store.s3EndpointUrl,
            backendStoreUri: database.connectionUri,
            artifactAccessKeyId: identity.accessKeyId,
            artifactSecretAccessKey: identity.secretAccessKey,
            allowedHosts: hosts.allowedHosts,
            corsAllowedOrigins: hosts.cors,
            aiGatewayKekPassphrase: kekPassphrase(config),
            project: { staticPrefix: n.urlPath, artifactPrefix: n.artifactPrefix, hostname: n.hostname, image: server.imageName },
        });
        return { name: project.name, username: project.username, upstream: tracking.upstream, upstreamContainerId: tracking.containerId };
    });
}

/**
 * retainDataOnDestroy=false: the reconciler that removes the data and identities of projects
 * no longer listed (docs/projects.md, "Removing a project"). It exists whenever retain is false, with or
 * without projects, so removing the last project is covered too; with the default (true) the
 * graph has no such resource.
 */
function localProjectPrune(config: LocalPlatformConfig, name: string, parts: LocalParts): ProjectPrune | undefined {
    if (config.retainDataOnDestroy) return undefined;
    const { networkName, store, backend } = parts;
    return new ProjectPrune(`${name}-prune`, {
        platform: "docker",
        keep: config.projects.map(p => p.name),
        engine: config.backend,
        networkName,
        databaseImage: config.backend === "mysql" ? config.local.images.mysql : config.local.images.postgres,
        databaseHost: backend.host,
        databasePort: backend.port,
        adminUsername: backend.adminUsername,
        adminPassword: backend.adminPassword,
        protectedNames: [backend.databaseName, backend.username],
        mcImage: config.local.images.mc,
        bucketName: store.bucketName,
        endpointUrl: store.s3EndpointUrl,
        rootUser: store.rootUser,
        rootPassword: store.rootPassword,
    });
}

/**
 * One ModelServer per servedModels entry, on the serving network; it reads the registry with its
 * own reader account through the proxy's read-only endpoint (render/registryReader.ts).
 */
function localModelServers(serving: LocalServingSettings | undefined, server: TrackingServer<"docker">, network: Network<"docker">, name: string): ModelServer<"docker">[] {
    return (serving?.models ?? []).map((model, i) => new ModelServer(`${name}-model-${modelSlug(model.name)}`, {
        platform: "docker",
        networkName: network.servingNetworkNames![i],
        memoryMb: serving!.memoryMb,
        image: server.imageName,
        registryUri: `http://${REGISTRY_READER_HOST}:${REGISTRY_READER_PORT}`,
        model,
        workers: serving!.workers,
        pollSeconds: serving!.pollSeconds,
    }));
}

function deployLocal(config: LocalPlatformConfig, name: string): Deployment {
    const local = config.local;
    const retainOnDelete = config.retainDataOnDestroy;
    // The exported trackingUri's host must be one MLflow accepts.
    const publicHost = renderLocalPublicHost(local.bindAddress, config.allowedHosts);
    const network = new Network(`${name}-network`, { platform: "docker", ...(local.serving ? { servedModels: local.serving.models.map(m => m.name) } : {}) });
    const networkName = network.dockerNetworkName;

    const store = new ArtifactStore(`${name}-artifacts`, {
        platform: "docker",
        bucketName: config.bucketName,
        networkName,
        image: local.images.minio,
        exposeConsole: local.exposeMinioConsole,
        consolePort: local.minioConsolePort,
        consoleBindAddress: local.bindAddress,
        retainOnDelete,
    });
    const bucketInit = new BucketInit(`${name}-bucket-init`, {
        platform: "docker",
        bucketName: store.bucketName,
        networkName,
        image: local.images.mc,
        endpointUrl: store.s3EndpointUrl,
        rootUser: store.rootUser,
        rootPassword: store.rootPassword,
    });
    const backend = new BackendStore(`${name}-backend`, {
        platform: "docker",
        engine: config.backend,
        networkName,
        image: config.backend === "mysql" ? local.images.mysql : local.images.postgres,
        retainOnDelete,
    });
    const server = new TrackingServer(`${name}-tracking`, {
        platform: "docker",
        networkName,
        pythonImage: local.images.python,
        workers: config.mlflowWorkers,
        artifactBucket: store.bucketName,
        s3EndpointUrl: store.s3EndpointUrl,
        backendStoreUri: backend.connectionUri,
        artifactAccessKeyId: bucketInit.accessKeyId,
        artifactSecretAccessKey: bucketInit.secretAccessKey,
        // Model servers look the alias up at the proxy's reader port, which passes on their Host
        // (REGISTRY_READER_HOST): MLflow's Host check must admit it.
        allowedHosts: local.serving ? [...publicHost.allowedHosts, REGISTRY_READER_HOST] : publicHost.allowedHosts,
        corsAllowedOrigins: renderPublicOrigins(publicHost.allowedHosts, "http", local.hostPort),
        aiGatewayKekPassphrase: kekPassphrase(config),
    });
    const projects = deployLocalProjects(config, name, { networkName, store, backend, server }, {
        allowedHosts: publicHost.allowedHosts, cors: renderPublicOrigins(publicHost.allowedHosts, "http", local.hostPort),
    });
    const models = localModelServers(local.serving, server, network, name);
    const proxy = new AuthProxy(`${name}-proxy`, {
        platform: "docker",
        networkName,
        image: local.images.nginx,
        upstream: server.upstream,
        upstreamContainerId: server.containerId,
        hostPort: local.hostPort,
        bindAddress: local.bindAddress,
        publicHost: publicHost.host,
        username: config.username,
        password: givenPassword(config),
        maxUploadSize: config.maxUploadSize,
        timeoutSeconds: config.proxyTimeoutSeconds,
        ...(projects.length === 0 ? {} : { projects }),
        ...(local.serving ? { models: {
            routes: models.map(m => m.route), containerIds: models.map(m => m.containerId),
            readerHtpasswdLines: models.map(m => m.readerHtpasswdLine), networkNames: network.servingNetworkNames!,
        } } : {}),
    });
    return {
        ...clientOutputs(proxy, store, backend),
        minioConsoleUrl: store.consoleUrl,
        ...(projects.length === 0 ? {} : { projects: proxy.projects }),
        servedModels: local.serving ? proxy.url.apply(url => Object.fromEntries(models.map(m => [m.route.name, modelInvocationUrl(url, m.route.name)]))) : undefined,
    };
}

/** The AWS components the tracking server is wired to. */
interface AwsParts {
    readonly network: Network<"aws">;
    readonly store: ArtifactStore<"aws">;
    readonly bucketInit: BucketInit<"aws">;
    readonly backend: BackendStore<"aws">;
    readonly proxy: AuthProxy<"aws">;
}

/** What differs between the server at `/` and a project's service. */
interface AwsServerRole {
    readonly artifactAccessPolicyArn: pulumi.Input<string>;
    readonly database: { name: pulumi.Input<string>; secretArn: pulumi.Input<string> };
    readonly proxy: Omit<AwsTrackingServerArgs["proxy"], "image" | "port">;
    readonly targetGroupArn: pulumi.Input<string>;
    readonly project?: AwsTrackingServerArgs["project"];
}

/** ECS Fargate behind the proxy's load balancer, with access to exactly the parts it uses. */
function awsTrackingServer(config: AwsPlatformConfig, parts: AwsParts, name: string, tags: Record<string, string>, role?: AwsServerRole): TrackingServer<"aws"> {
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
    return new TrackingServer(name, {
        platform: "aws",
        region: aws.region,
        pythonImage: aws.pythonImage,
        aiGatewayKekPassphrase: kekPassphrase(config),
        workers: config.mlflowWorkers,
        artifactBucket: store.bucketName,
        artifactAccessPolicyArn: r.artifactAccessPolicyArn,
        database: {
            engine: config.backend,
            host: backend.host,
            port: backend.port,
            name: r.database.name,
            secretArn: r.database.secretArn,
        },
        releaseIdleConnections: aws.dbMinCapacity === 0,
        proxy: { image: aws.nginxImage, port: PROXY_LISTEN_PORT, ...r.proxy },
        targetGroupArn: r.targetGroupArn,
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
        ecrKeepImages: aws.ecrKeepImages,
        logRetentionDays: aws.logRetentionDays,
        tags,
        ...(r.project === undefined ? {} : { project: r.project }),
        // retainDataOnDestroy=false: a scheduled task deletes removed projects' data (docs/projects.md, "Removing a project").
        ...(r.project === undefined && !config.retainDataOnDestroy ? { projectPrune: { keep: config.projects.map(p => p.name) } } : {}),
        // Only the server at `/` is registered: the model servers read its registry.
        ...(aws.serving && r.project === undefined ? { serviceDiscovery: { vpcId: network.vpcId, namespace: trackingNamespaceName(name), serviceName: MLFLOW_HOSTNAME } } : {}),
    });
}

/**
 * One ModelServer (an ECS service behind the load balancer) per servedModels entry; it reaches
 * MLflow at the Cloud Map name awsTrackingServer registered under `trackingName`.
 */
function awsModelServers(
    config: AwsPlatformConfig, parts: AwsParts, server: TrackingServer<"aws">, trackingName: string, name: string, tags: Record<string, string>,
): ModelServer<"aws">[] {
    const aws = config.aws;
    const serving = aws.serving;
    if (!serving) return [];
    const { network, proxy } = parts;
    const keepAlive = keepAliveChain({ proxyTimeoutSeconds: config.proxyTimeoutSeconds, loadBalancer: true });
    return serving.models.map(model => new ModelServer(`${name}-model-${modelSlug(model.name)}`, {
        platform: "aws",
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
    }));
}

/**
 * One ECS service per project beside the one at `/`, in the same cluster, behind the same load
 * balancer (its own target group and listener rule), on the same Aurora cluster (its own
 * database and user, created by its task's init container), with its own task role limited to
 * its prefix of the bucket. Every resource name derives from the project's name.
 */
function deployAwsProjects(config: AwsPlatformConfig, name: string, parts: AwsParts, server: TrackingServer<"aws">, tags: Record<string, string>): void {
    const { store, backend, proxy } = parts;
    for (const project of config.projects) {
        const n = projectNames(project.name);
        const base = `${name}-project-${project.name}`;
        const database = new ProjectDatabase(`${base}-database`, {
            platform: "aws", databaseName: n.database, username: n.databaseUser, retainOnDelete: config.retainDataOnDestroy, tags,
        });
        const identity = new BucketInit(`${base}-bucket-init`, {
            platform: "aws", bucketName: store.bucketName, bucketArn: store.bucketArn, prefix: n.artifactPrefix, tags,
        });
        const target = proxy.projectTargets[project.name];
        awsTrackingServer(config, parts, `${base}-tracking`, tags, {
            artifactAccessPolicyArn: identity.policyArn,
            database: { name: database.databaseName, secretArn: database.secretArn },
            proxy: { config: target.nginxConfig, htpasswdSecretArn: target.htpasswdSecretArn, htpasswdVersionId: target.htpasswdVersionId },
            targetGroupArn: target.targetGroupArn,
            project: {
                name: project.name, shared: server.shared, adminSecretArn: backend.secretArn, clusterDatabase: backend.databaseName,
                // retainDataOnDestroy=false: the prune's list names the project before its task can create data.
                ...(server.projectList === undefined ? {} : { startAfter: [server.projectList] }),
            },
        });
    }
}

function deployAws(config: AwsPlatformConfig, name: string): Deployment {
    const aws = config.aws;
    const retainOnDelete = config.retainDataOnDestroy;
    const tags = { "mlflow-platform:stack": pulumi.getStack() };
    const databasePort = ENGINES[config.backend].port;
    const listenerPorts = aws.certificateArn ? [80, 443] : [80];
    // No certificate: CloudFront's HTTPS in front, unless plain HTTP was chosen for a private network.
    const cloudFront = !aws.certificateArn && !aws.plainHttp;
    if (aws.plainHttp) {
        void pulumi.log.warn("plainHttp is true: the load balancer serves plain HTTP and basic-auth passwords cross the network unencrypted. "
            + "Fix: pulumi config set plainHttp false (HTTPS through CloudFront), or set certificateArn");
    }
    const network = new Network(`${name}-network`, {
        platform: "aws",
        existingVpc: aws.existingVpc,
        ingressCidrs: aws.ingressCidrs,
        ...(cloudFront ? { cloudFrontOnly: true } : {}),
        listenerPorts,
        proxyPort: PROXY_LISTEN_PORT,
        databasePort,
        retainDatabaseNetwork: retainOnDelete,
        tags,
        ...(aws.serving ? { servingPorts: { modelProxy: MODEL_PROXY_PORT, registryReader: REGISTRY_READER_PORT } } : {}),
    });
    const store = new ArtifactStore(`${name}-artifacts`, {
        platform: "aws",
        bucketName: config.bucketName,
        noncurrentVersionExpirationDays: aws.noncurrentVersionExpirationDays,
        retainOnDelete,
        tags,
    });
    const bucketInit = new BucketInit(`${name}-bucket-init`, {
        platform: "aws", bucketName: store.bucketName, bucketArn: store.bucketArn, tags,
    });
    const backend = new BackendStore(`${name}-backend`, {
        platform: "aws",
        engine: config.backend,
        engineVersion: aws.dbEngineVersion,
        subnetIds: network.privateSubnetIds,
        securityGroupId: network.databaseSecurityGroupId,
        minCapacity: aws.dbMinCapacity,
        maxCapacity: aws.dbMaxCapacity,
        autoPauseSeconds: aws.dbAutoPauseSeconds,
        backupRetentionDays: aws.dbBackupRetentionDays,
        deletionProtection: aws.dbDeletionProtection,
        retainOnDelete,
        tags,
    });
    const proxy = new AuthProxy(`${name}-proxy`, {
        platform: "aws",
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
    });
    const parts = { network, store, bucketInit, backend, proxy };
    const trackingName = `${name}-tracking`;
    const server = awsTrackingServer(config, parts, trackingName, tags);
    const models = awsModelServers(config, parts, server, trackingName, name, tags);
    deployAwsProjects(config, name, parts, server, tags);
    return {
        ...clientOutputs(proxy, store, backend),
        ecrRepositoryUrl: server.ecrRepositoryUrl,
        databaseEndpoint: backend.host,
        databaseSecretArn: backend.secretArn,
        ...(config.projects.length === 0 ? {} : { projects: proxy.projects }),
        servedModels: aws.serving ? proxy.url.apply(url => Object.fromEntries(models.map(m => [m.route.name, modelInvocationUrl(url, m.route.name)]))) : undefined,
    };
}

const config = loadConfig();
const name = `mlflow-${pulumi.getStack()}`;
const deployment = config.target === "local" ? deployLocal(config, name) : deployAws(config, name);

// Only what this target has: an undefined export would print a warning on every `pulumi up`.
const stackOutputs: Record<string, pulumi.Input<unknown>> = {
    trackingUri: deployment.trackingUri,
    username: deployment.username,
    password: pulumi.secret(deployment.password),
    artifactBucket: deployment.artifactBucket,
    backendEngine: deployment.backendEngine,
    minioConsoleUrl: deployment.minioConsoleUrl,
    ecrRepositoryUrl: deployment.ecrRepositoryUrl,
    databaseEndpoint: deployment.databaseEndpoint,
    databaseSecretArn: deployment.databaseSecretArn,
    // name -> { trackingUri, username, password }; the passwords secret.
    // One output, secret as a whole because it holds the passwords: `pulumi stack output projects --show-secrets`.
    projects: deployment.projects === undefined ? undefined : pulumi.secret(pulumi.output(Object.fromEntries(Object.entries(deployment.projects).map(([k, p]) =>
        [k, { trackingUri: p.trackingUri, username: p.username, password: p.password }])))),
    servedModels: deployment.servedModels,
};
for (const key of Object.keys(stackOutputs)) {
    if (stackOutputs[key] === undefined) delete stackOutputs[key];
}
export = stackOutputs;
