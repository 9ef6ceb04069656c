// The platform on the local target: MinIO, MySQL or PostgreSQL, the MLflow image and nginx on
// one Docker host, with a server, database and storage identity per project and a container
// per served model.
import * as pulumi from "@pulumi/pulumi";
import { ArtifactStore } from "../artifactStore";
import { AuthProxy, ProxyProject } from "../authProxy";
import { REGISTRY_READER_HOST, REGISTRY_READER_PORT } from "../authProxy/registryReader";
import { BackendStore } from "../backendStore";
import { Backup } from "../backup";
import { DEFAULT_BACKUP } from "../backup/backup";
import { DEFAULT_DATABASE_NAME as BACKEND_DATABASE_NAME } from "../backendStore";
import { BucketInit } from "../bucketInit";
import { DEFAULT_LOCAL_PROJECT_SERVERS } from "../config";
import { GarbageCollection, LocalGarbageCollectionArgs } from "../garbageCollection";
import { DEFAULT_GARBAGE_COLLECTION } from "../garbageCollection/gc";
import type { LocalServingSettings } from "../config/types";
import { ModelServer } from "../modelServer";
import { modelSlug } from "../modelServer/serving";
import { Network } from "../network";
import { ProjectDatabase } from "../projectDatabase";
import { ProjectPrune } from "../projectPrune";
import { projectNames } from "../shared/projects";
import { LocalTrackingServerAuth, TrackingServer } from "../trackingServer";
import { renderLocalPublicHost, renderPublicOrigins } from "../trackingServer/mlflow";
import type { ChildOptions, LocalPlatformArgs, PlatformOutputs } from "./types";
import { clientOutputs, givenPassword, invocationUrls, kekPassphrase, projectLogins } from "./wiring";
import { accountOutputs, PlatformAccounts, platformAccounts } from "./accounts";
import { AUTH_DATABASE } from "../trackingServer/auth";

/** The local components every project's server shares with the one at `/`. */
interface LocalParts {
    readonly networkName: pulumi.Output<string>;
    readonly store: ArtifactStore<"local">;
    readonly backend: BackendStore<"local">;
    readonly server: TrackingServer<"local">;
}

/** The database server's image for the configured engine. */
function databaseImage(config: LocalPlatformArgs): string {
    return config.backend === "mysql" ? config.local.images.mysql : config.local.images.postgres;
}

/** What a BucketInit needs to administer MinIO: the bucket, the mc image and MinIO's root login. */
function minioAdmin(config: LocalPlatformArgs, store: ArtifactStore<"local">, networkName: pulumi.Output<string>) {
    return {
        target: "local" as const,
        bucketName: store.bucketName,
        networkName,
        image: config.local.images.mc,
        endpointUrl: store.s3EndpointUrl,
        rootUser: store.rootUser,
        rootPassword: store.rootPassword,
    };
}

/**
 * One MLflow server per project beside the one at `/`, each with its own database and user,
 * its own prefix-limited storage identity, under /projects/<name>/ (shared/projects.ts).
 * Every resource name is derived from the project's name: adding one renames nothing.
 */
function deployLocalProjects(
    config: LocalPlatformArgs, name: string, parts: LocalParts, hosts: { allowedHosts: string[]; cors: string[] }, accounts: PlatformAccounts | undefined, opts: ChildOptions,
): ProxyProject[] {
    const local = config.local;
    const servers = local.projectServers ?? DEFAULT_LOCAL_PROJECT_SERVERS;
    const { networkName, store, backend, server } = parts;
    // With retainDataOnDestroy=false, what belongs to projects no longer listed goes too.
    localProjectPrune(config, name, parts, opts);
    return config.projects.map(project => {
        const n = projectNames(project.name);
        const base = `${name}-project-${project.name}`;
        const database = new ProjectDatabase(`${base}-database`, {
            target: "local",
            engine: config.backend,
            networkName,
            image: databaseImage(config),
            host: backend.host,
            port: backend.port,
            adminUsername: backend.adminUsername,
            adminPassword: backend.adminPassword,
            databaseName: n.database,
            username: n.databaseUser,
        }, opts);
        const identity = new BucketInit(`${base}-bucket-init`, {
            ...minioAdmin(config, store, networkName),
            accessKeyId: n.accessKeyId,
            prefix: n.artifactPrefix,
        }, opts);
        const tracking = new TrackingServer(`${base}-tracking`, {
            target: "local",
            networkName,
            pythonImage: local.images.python,
            workers: servers.workers,
            logLevel: config.logLevel,
            jobExecution: servers.jobExecution,
            artifactBucket: store.bucketName,
            s3EndpointUrl: store.s3EndpointUrl,
            backendStoreUri: database.connectionUri,
            artifactAccessKeyId: identity.accessKeyId,
            artifactSecretAccessKey: identity.secretAccessKey,
            allowedHosts: hosts.allowedHosts,
            corsAllowedOrigins: hosts.cors,
            aiGatewayKekPassphrase: kekPassphrase(config),
            project: { staticPrefix: n.urlPath, artifactPrefix: n.artifactPrefix, hostname: n.hostname, image: server.imageName },
            ...projectAuth(accounts, project.name),
        }, opts);
        localGarbageCollection(config, `${base}-gc`, tracking, {
            networkName, image: server.imageName, artifactBucket: store.bucketName, s3EndpointUrl: store.s3EndpointUrl,
            backendStoreUri: database.connectionUri, artifactAccessKeyId: identity.accessKeyId, artifactSecretAccessKey: identity.secretAccessKey,
            project: { name: project.name, staticPrefix: n.urlPath, artifactPrefix: n.artifactPrefix },
        }, opts);
        return { name: project.name, username: project.username, upstream: tracking.upstream, upstreamContainerId: tracking.containerId };
    });
}

/**
 * Team accounts on a project's server: MLflow's auth app with the project's accounts, token and
 * Flask key, its tables in the project's own database (no databaseUri): experiment ids and
 * model names are per project, and so are the grants on them.
 */
function projectAuth(accounts: PlatformAccounts | undefined, project: string): { auth?: LocalTrackingServerAuth } {
    const a = accounts?.projects[project];
    return a === undefined ? {} : { auth: { users: a.authUsers, proxyToken: a.proxyToken, flaskSecretKey: a.flaskSecretKey } };
}

/**
 * `mlflow gc` of one server on a schedule (components/garbageCollection), with that server's image,
 * database URI and storage identity; it starts once the server is healthy (its schema is current).
 */
function localGarbageCollection(
    config: LocalPlatformArgs, name: string, server: TrackingServer<"local">,
    args: Omit<LocalGarbageCollectionArgs, "target" | "olderThanDays" | "intervalHours">, opts: ChildOptions,
): GarbageCollection | undefined {
    const gc = config.garbageCollection ?? DEFAULT_GARBAGE_COLLECTION;
    if (!gc.enabled) return undefined;
    return new GarbageCollection(name, { target: "local", ...args, olderThanDays: gc.olderThanDays, intervalHours: gc.intervalHours }, { ...opts, dependsOn: [server] });
}

/**
 * retainDataOnDestroy=false: the reconciler that removes the data and identities of projects
 * no longer listed (docs/projects.md, "Removing a project"). It exists whenever retain is false, with or
 * without projects, so removing the last project is covered too; with the default (true) the
 * graph has no such resource.
 */
function localProjectPrune(config: LocalPlatformArgs, name: string, parts: LocalParts, opts: ChildOptions): ProjectPrune | undefined {
    if (config.retainDataOnDestroy) return undefined;
    const { networkName, store, backend } = parts;
    return new ProjectPrune(`${name}-prune`, {
        target: "local",
        keep: config.projects.map(p => p.name),
        engine: config.backend,
        networkName,
        databaseImage: databaseImage(config),
        databaseHost: backend.host,
        databasePort: backend.port,
        adminUsername: backend.adminUsername,
        adminPassword: backend.adminPassword,
        // The auth app's database matches the project naming scheme (mlflow_<name>); kept even
        // once users is removed, so the grants in it come back with the accounts.
        protectedNames: [backend.databaseName, backend.username, AUTH_DATABASE.database, AUTH_DATABASE.username],
        mcImage: config.local.images.mc,
        bucketName: store.bucketName,
        endpointUrl: store.s3EndpointUrl,
        rootUser: store.rootUser,
        rootPassword: store.rootPassword,
    }, opts);
}

/**
 * One ModelServer per servedModels entry, on the serving network; it reads the registry with its
 * own reader account through the proxy's read-only endpoint (authProxy/registryReader.ts).
 */
function localModelServers(serving: LocalServingSettings | undefined, server: TrackingServer<"local">, network: Network<"local">, name: string, opts: ChildOptions): ModelServer<"local">[] {
    return (serving?.models ?? []).map((model, i) => new ModelServer(`${name}-model-${modelSlug(model.name)}`, {
        target: "local",
        networkName: network.servingNetworkNames![i],
        memoryMb: serving!.memoryMb,
        image: server.imageName,
        registryUri: `http://${REGISTRY_READER_HOST}:${REGISTRY_READER_PORT}`,
        model,
        workers: serving!.workers,
        pollSeconds: serving!.pollSeconds,
    }, opts));
}

/** What `/` and every project share: the network, MinIO with its bucket, the database server. */
interface LocalStores {
    readonly network: Network<"local">;
    readonly store: ArtifactStore<"local">;
    readonly bucketInit: BucketInit<"local">;
    readonly backend: BackendStore<"local">;
}

function localStores(config: LocalPlatformArgs, name: string, opts: ChildOptions): LocalStores {
    const local = config.local;
    const retainOnDelete = config.retainDataOnDestroy;
    const network = new Network(`${name}-network`, { target: "local", ...(local.serving ? { servedModels: local.serving.models.map(m => m.name) } : {}) }, opts);
    const networkName = network.dockerNetworkName;
    const store = new ArtifactStore(`${name}-artifacts`, {
        target: "local",
        bucketName: config.bucketName,
        networkName,
        image: local.images.minio,
        exposeConsole: local.exposeMinioConsole,
        consolePort: local.minioConsolePort,
        consoleBindAddress: local.bindAddress,
        retainOnDelete,
    }, opts);
    const bucketInit = new BucketInit(`${name}-bucket-init`, minioAdmin(config, store, networkName), opts);
    const backend = new BackendStore(`${name}-backend`, {
        target: "local",
        engine: config.backend,
        networkName,
        image: databaseImage(config),
        retainOnDelete,
    }, opts);
    return { network, store, bucketInit, backend };
}

/**
 * The auth app's own database and user on the database server (kept with it, like the backend
 * store's), created by a ProjectDatabase init like a project's.
 */
function localAuthDatabase(config: LocalPlatformArgs, name: string, stores: LocalStores, opts: ChildOptions): ProjectDatabase<"local"> {
    const { network, backend } = stores;
    return new ProjectDatabase(`${name}-auth`, {
        target: "local",
        engine: config.backend,
        networkName: network.dockerNetworkName,
        image: databaseImage(config),
        host: backend.host,
        port: backend.port,
        adminUsername: backend.adminUsername,
        adminPassword: backend.adminPassword,
        databaseName: AUTH_DATABASE.database,
        username: AUTH_DATABASE.username,
    }, opts);
}

/** The MLflow server at `/`, on the bucket's own identity and the database's app user. */
function localTrackingServer(
    config: LocalPlatformArgs, name: string, stores: LocalStores, allowedHosts: string[], accounts: PlatformAccounts | undefined, opts: ChildOptions,
): TrackingServer<"local"> {
    const { network, store, bucketInit, backend } = stores;
    const auth = accounts === undefined ? undefined : {
        users: accounts.authUsers,
        databaseUri: localAuthDatabase(config, name, stores, opts).connectionUri,
        proxyToken: accounts.proxyToken,
        flaskSecretKey: accounts.flaskSecretKey,
    };
    return new TrackingServer(`${name}-tracking`, {
        target: "local",
        networkName: network.dockerNetworkName,
        pythonImage: config.local.images.python,
        workers: config.mlflowWorkers,
        logLevel: config.logLevel,
        jobExecution: config.local.jobExecution ?? false,
        artifactBucket: store.bucketName,
        s3EndpointUrl: store.s3EndpointUrl,
        backendStoreUri: backend.connectionUri,
        artifactAccessKeyId: bucketInit.accessKeyId,
        artifactSecretAccessKey: bucketInit.secretAccessKey,
        // Model servers look the alias up at the proxy's reader port, which passes on their Host
        // (REGISTRY_READER_HOST): MLflow's Host check must admit it.
        allowedHosts: config.local.serving ? [...allowedHosts, REGISTRY_READER_HOST] : allowedHosts,
        corsAllowedOrigins: renderPublicOrigins(allowedHosts, "http", config.local.hostPort),
        aiGatewayKekPassphrase: kekPassphrase(config),
        ...(auth === undefined ? {} : { auth }),
    }, opts);
}

/** nginx in front of everything: the only published port, basic auth, projects and models behind it. */
function localProxy(
    config: LocalPlatformArgs, name: string, network: Network<"local">, server: TrackingServer<"local">,
    backends: { projects: ProxyProject[]; models: ModelServer<"local">[]; publicHost: string; accounts?: PlatformAccounts }, opts: ChildOptions,
): AuthProxy<"local"> {
    const { local } = config;
    const { projects, models } = backends;
    return new AuthProxy(`${name}-proxy`, {
        target: "local",
        networkName: network.dockerNetworkName,
        image: local.images.nginx,
        upstream: server.upstream,
        upstreamContainerId: server.containerId,
        hostPort: local.hostPort,
        bindAddress: local.bindAddress,
        publicHost: backends.publicHost,
        username: config.username,
        password: givenPassword(config),
        maxUploadSize: config.maxUploadSize,
        timeoutSeconds: config.proxyTimeoutSeconds,
        ...(projects.length === 0 ? {} : { projects }),
        ...(backends.accounts === undefined ? {} : {
            accounts: backends.accounts.proxyAccounts, identityToken: backends.accounts.proxyToken,
            projectIdentityTokens: Object.fromEntries(Object.entries(backends.accounts.projects).map(([p, a]) => [p, a.proxyToken])),
        }),
        ...(local.serving ? { models: {
            routes: models.map(m => m.route), containerIds: models.map(m => m.containerId),
            readerHtpasswdLines: models.map(m => m.readerHtpasswdLine), networkNames: network.servingNetworkNames!,
        } } : {}),
    }, opts);
}

/**
 * Scheduled backups (components/backup) of every database the platform holds and of the bucket;
 * after the proxy (so after every server and project database), so the first dump finds their
 * databases created and migrated.
 */
function localBackup(
    config: LocalPlatformArgs, name: string, stores: LocalStores, server: TrackingServer<"local">, p: { withAuth: boolean; after: pulumi.Resource }, opts: ChildOptions,
): Backup | undefined {
    const backup = config.local.backup ?? DEFAULT_BACKUP;
    if (!backup.enabled) return undefined;
    const { network, store, backend } = stores;
    return new Backup(`${name}-backup`, {
        target: "local",
        engine: config.backend,
        networkName: network.dockerNetworkName,
        databaseImage: databaseImage(config),
        mlflowImage: server.imageName,
        host: backend.host,
        port: backend.port,
        adminUsername: backend.adminUsername,
        adminPassword: backend.adminPassword,
        databases: [BACKEND_DATABASE_NAME, ...config.projects.map(p => projectNames(p.name).database), ...(p.withAuth ? [AUTH_DATABASE.database] : [])],
        minio: { bucketName: store.bucketName, image: config.local.images.mc, endpointUrl: store.s3EndpointUrl, rootUser: store.rootUser, rootPassword: store.rootPassword },
        intervalHours: backup.intervalHours,
        keep: backup.keep,
    }, { ...opts, dependsOn: [server, p.after] });
}

/** The local target: every component on one Docker host, children of `opts.parent`. */
export function deployLocal(config: LocalPlatformArgs, name: string, opts: ChildOptions): PlatformOutputs {
    const local = config.local;
    // The exported trackingUri's host must be one MLflow accepts.
    const publicHost = renderLocalPublicHost(local.bindAddress, config.allowedHosts);
    const stores = localStores(config, name, opts);
    const { network, store, backend } = stores;
    const accounts = platformAccounts(config, name, opts.parent, (local.serving?.models ?? []).map(m => m.name));
    const server = localTrackingServer(config, name, stores, publicHost.allowedHosts, accounts, opts);
    localGarbageCollection(config, `${name}-gc`, server, {
        networkName: network.dockerNetworkName, image: server.imageName, artifactBucket: store.bucketName, s3EndpointUrl: store.s3EndpointUrl,
        backendStoreUri: backend.connectionUri, artifactAccessKeyId: stores.bucketInit.accessKeyId, artifactSecretAccessKey: stores.bucketInit.secretAccessKey,
    }, opts);
    const projects = deployLocalProjects(config, name, { networkName: network.dockerNetworkName, store, backend, server }, {
        allowedHosts: publicHost.allowedHosts, cors: renderPublicOrigins(publicHost.allowedHosts, "http", local.hostPort),
    }, accounts, opts);
    const models = localModelServers(local.serving, server, network, name, opts);
    const proxy = localProxy(config, name, network, server, { projects, models, publicHost: publicHost.host, accounts }, opts);
    localBackup(config, name, stores, server, { withAuth: accounts !== undefined, after: proxy }, opts);
    return {
        ...clientOutputs(proxy, store, backend),
        minioConsoleUrl: store.consoleUrl,
        projects: projectLogins(proxy.projects),
        servedModels: local.serving ? invocationUrls(proxy.url, models) : undefined,
        ...accountOutputs(accounts),
        ...(proxy.metrics === undefined ? {} : {
            metrics: pulumi.all([proxy.metrics.urls, proxy.metrics.username]).apply(([urls, username]) => ({ urls, username })),
            metricsPassword: pulumi.secret(proxy.metrics.password),
        }),
    };
}
