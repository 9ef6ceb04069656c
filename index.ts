// Entry point: read the validated stack config, build the five components for the chosen
// target, wire them together, export what clients need. Components never read config.
import * as pulumi from "@pulumi/pulumi";
import { ArtifactStore } from "./components/artifactStore";
import { AuthProxy } from "./components/authProxy";
import { BackendStore } from "./components/backendStore";
import { BucketInit } from "./components/bucketInit";
import { loadConfig, PlatformConfig } from "./components/config";
import { Network } from "./components/network";
import { ENGINES } from "./components/render/database";
import { renderPublicOrigins } from "./components/render/mlflow";
import { PROXY_LISTEN_PORT } from "./components/render/nginx";
import { TrackingServer } from "./components/trackingServer";

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

function required<T>(value: T | undefined, what: string): T {
    if (value === undefined) throw new Error(`internal: ${what} is missing for this target`);
    return value;
}

function deployLocal(config: PlatformConfig, name: string): Deployment {
    const local = required(config.local, "local settings");
    const retainOnDelete = config.retainDataOnDestroy;
    const network = new Network(`${name}-network`, { platform: "docker" });
    const networkName = required(network.dockerNetworkName, "docker network");

    const store = new ArtifactStore(`${name}-artifacts`, {
        platform: "docker",
        bucketName: required(config.bucketName, "bucket name"),
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
        endpointUrl: required(store.s3EndpointUrl, "MinIO endpoint"),
        rootUser: required(store.rootUser, "MinIO root user"),
        rootPassword: required(store.rootPassword, "MinIO root password"),
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
        s3EndpointUrl: required(store.s3EndpointUrl, "MinIO endpoint"),
        backendStoreUri: required(backend.connectionUri, "database URI"),
        artifactAccessKeyId: required(bucketInit.accessKeyId, "MLflow access key"),
        artifactSecretAccessKey: required(bucketInit.secretAccessKey, "MLflow secret key"),
        allowedHosts: config.allowedHosts,
        corsAllowedOrigins: renderPublicOrigins(config.allowedHosts, "http", local.hostPort),
    });
    const proxy = new AuthProxy(`${name}-proxy`, {
        platform: "docker",
        networkName,
        image: local.images.nginx,
        upstream: server.upstream,
        upstreamContainerId: required(server.containerId, "MLflow container"),
        hostPort: local.hostPort,
        bindAddress: local.bindAddress,
        username: config.username,
        password: givenPassword(config),
        maxUploadSize: config.maxUploadSize,
        timeoutSeconds: config.proxyTimeoutSeconds,
    });
    return { ...clientOutputs(proxy, store, backend), minioConsoleUrl: store.consoleUrl };
}

function deployAws(config: PlatformConfig, name: string): Deployment {
    const aws = required(config.aws, "aws settings");
    const retainOnDelete = config.retainDataOnDestroy;
    const tags = { "mlflow-platform:stack": pulumi.getStack() };
    const databasePort = ENGINES[config.backend].port;
    const listenerPorts = aws.certificateArn ? [80, 443] : [80];
    if (!aws.certificateArn) {
        pulumi.log.warn("certificateArn is not set: the load balancer serves plain HTTP and basic-auth passwords cross the network unencrypted. "
            + "Fix: pulumi config set certificateArn arn:aws:acm:<region>:<account>:certificate/<id>");
    }
    const network = new Network(`${name}-network`, {
        platform: "aws",
        existingVpc: aws.existingVpc,
        ingressCidrs: aws.ingressCidrs,
        listenerPorts,
        proxyPort: PROXY_LISTEN_PORT,
        databasePort,
        tags,
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
        subnetIds: required(network.privateSubnetIds, "private subnets"),
        securityGroupId: required(network.databaseSecurityGroupId, "database security group"),
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
        vpcId: required(network.vpcId, "VPC"),
        publicSubnetIds: required(network.publicSubnetIds, "public subnets"),
        securityGroupId: required(network.loadBalancerSecurityGroupId, "load balancer security group"),
        certificateArn: aws.certificateArn,
        domainName: aws.domainName,
        username: config.username,
        password: givenPassword(config),
        maxUploadSize: config.maxUploadSize,
        timeoutSeconds: config.proxyTimeoutSeconds,
        tags,
    });
    const allowedHosts = pulumi.all([proxy.publicHosts]).apply(([hosts]) => [...new Set([...hosts, ...config.allowedHosts])]);
    const scheme = aws.certificateArn ? "https" : "http";
    const server = new TrackingServer(`${name}-tracking`, {
        platform: "aws",
        region: aws.region,
        pythonImage: aws.pythonImage,
        workers: config.mlflowWorkers,
        artifactBucket: store.bucketName,
        artifactAccessPolicyArn: required(bucketInit.policyArn, "artifact access policy"),
        database: {
            engine: config.backend,
            host: backend.host,
            port: backend.port,
            name: backend.databaseName,
            secretArn: required(backend.secretArn, "database secret"),
        },
        releaseIdleConnections: aws.dbMinCapacity === 0,
        proxy: {
            image: aws.nginxImage,
            port: PROXY_LISTEN_PORT,
            config: proxy.nginxConfig,
            htpasswdSecretArn: required(proxy.htpasswdSecretArn, "htpasswd secret"),
        },
        targetGroupArn: required(proxy.targetGroupArn, "target group"),
        subnetIds: aws.existingVpc ? required(network.privateSubnetIds, "private subnets") : required(network.publicSubnetIds, "public subnets"),
        securityGroupId: required(network.serviceSecurityGroupId, "service security group"),
        assignPublicIp: aws.existingVpc === undefined,
        allowedHosts,
        corsAllowedOrigins: allowedHosts.apply(hosts => renderPublicOrigins(hosts, scheme, scheme === "https" ? 443 : 80)),
        cpu: aws.taskCpu,
        memory: aws.taskMemory,
        architecture: aws.taskArchitecture,
        desiredCount: aws.desiredCount,
        minTasks: aws.minTasks,
        maxTasks: aws.maxTasks,
        ecrKeepImages: aws.ecrKeepImages,
        logRetentionDays: aws.logRetentionDays,
        forceDeleteRepository: !retainOnDelete,
        tags,
    });
    return {
        ...clientOutputs(proxy, store, backend),
        ecrRepositoryUrl: server.ecrRepositoryUrl,
        databaseEndpoint: backend.host,
        databaseSecretArn: backend.secretArn,
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
};
for (const key of Object.keys(stackOutputs)) {
    if (stackOutputs[key] === undefined) delete stackOutputs[key];
}
export = stackOutputs;
