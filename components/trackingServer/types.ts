// TrackingServer args and outputs per target. Imported by the class and both target files.
import type * as pulumi from "@pulumi/pulumi";
import type { BackendEngine, CpuArchitecture, LogLevel } from "../config";
import type { PoolSettings } from "../config/capacity";
import type { AuthUser } from "./auth";

export const TRACKING_SERVER_TYPE = "mlflow:index:TrackingServer";

/** Settings both targets hand to the shared environment renderer. */
export interface TrackingServerCommonArgs {
    readonly artifactBucket: pulumi.Input<string>;
    /** Host names (optionally with :port or wildcards) clients use; MLflow rejects others. */
    readonly allowedHosts: pulumi.Input<string[]>;
    /** Browser origins of the UI, for MLflow's cross-origin check. */
    readonly corsAllowedOrigins: pulumi.Input<string[]>;
    readonly workers?: number;
    /** Config logLevel (trackingServer/mlflow.ts); absent: MLflow's default. */
    readonly logLevel?: LogLevel;
    /** Base image for the build (pinned). */
    readonly pythonImage: string;
    /** Secret; set only with enableAiGateway, which it switches on (MLFLOW_CRYPTO_KEK_PASSPHRASE). */
    readonly aiGatewayKekPassphrase?: pulumi.Input<string>;
}

/**
 * Team accounts: MLflow's auth app, trusting the user the proxy asserts with the token
 * (trackingServer/auth.ts). None: no auth app, as before accounts existed.
 */
export interface LocalTrackingServerAuth {
    /** Every account, admins first (platformAuthUsers). */
    readonly users: readonly AuthUser[];
    /**
     * SQLAlchemy URI of the auth app's own database as its own user, secret. Undefined: the
     * auth app's tables live in the server's own backend store (a project's server).
     */
    readonly databaseUri?: pulumi.Input<string>;
    /** The token the proxy sends with the user's name, secret. */
    readonly proxyToken: pulumi.Input<string>;
    /** Flask's session key, secret. */
    readonly flaskSecretKey: pulumi.Input<string>;
}

export interface LocalTrackingServerArgs extends TrackingServerCommonArgs {
    readonly target: "local";
    readonly networkName: pulumi.Input<string>;
    readonly s3EndpointUrl: pulumi.Input<string>;
    /** SQLAlchemy URI with credentials, secret. */
    readonly backendStoreUri: pulumi.Input<string>;
    readonly auth?: LocalTrackingServerAuth;
    /** The bucket-limited identity from BucketInit; never the MinIO root. */
    readonly artifactAccessKeyId: pulumi.Input<string>;
    readonly artifactSecretAccessKey: pulumi.Input<string>;
    /** MLflow's job execution (and its periodic tasks) in this container; unset: on, as MLflow's own default. */
    readonly jobExecution?: boolean;
    /**
     * A project's server beside the one at `/` (shared/projects.ts): its routes under
     * `staticPrefix`, artifacts under `artifactPrefix`, reachable as `hostname` on the network,
     * running `image` (the main server's, built once) instead of building its own.
     */
    readonly project?: {
        readonly staticPrefix: string;
        readonly artifactPrefix: string;
        readonly hostname: string;
        readonly image: pulumi.Input<string>;
    };
}

/** Team accounts on a task (shared/ecs.ts EcsAuthSettings): secrets by reference only. */
export interface AwsTrackingServerAuth {
    readonly users: readonly AuthUser[];
    /**
     * ProjectDatabase (with uriOf) secret of the auth app's database: `password`, `uri`.
     * Undefined for a project: its auth tables live in its own database.
     */
    readonly databaseSecretArn?: pulumi.Input<string>;
    /** JSON secret `token`, `include` (shared with the sidecar), and its version. */
    readonly tokenSecretArn: pulumi.Input<string>;
    readonly tokenVersionId: pulumi.Input<string>;
    readonly flaskKeySecretArn: pulumi.Input<string>;
    readonly flaskKeyVersionId: pulumi.Input<string>;
}

export interface AwsTrackingServerArgs extends TrackingServerCommonArgs {
    readonly target: "aws";
    readonly region: string;
    /** IAM policy (from BucketInit) attached to the task role: the task's only AWS access. */
    readonly artifactAccessPolicyArn: pulumi.Input<string>;
    readonly database: {
        readonly engine: BackendEngine;
        readonly host: pulumi.Input<string>;
        readonly port: pulumi.Input<number>;
        readonly name: pulumi.Input<string>;
        /** Secrets Manager secret with `username` and `password` keys (Aurora's managed master secret). */
        readonly secretArn: pulumi.Input<string>;
        /** The cluster's reader endpoint: MLflow reads there (same database and credentials). Unset: no readers. */
        readonly readerHost?: pulumi.Input<string>;
    };
    /** Let idle DB connections close so Aurora Serverless can pause (min capacity 0). */
    readonly releaseIdleConnections: boolean;
    /** The authenticating nginx sidecar: the only container the load balancer reaches. */
    readonly proxy: {
        readonly image: string;
        readonly port: number;
        /** Rendered conf.d snippet (renderProxyConfig). */
        readonly config: pulumi.Input<string>;
        /** Secrets Manager secret holding the htpasswd line. */
        readonly htpasswdSecretArn: pulumi.Input<string>;
        /** Its current version: the task definition names it, so a new password rolls the service. */
        readonly htpasswdVersionId: pulumi.Input<string>;
        /**
         * Served models' read-only logins (AuthProxy registryReaders): the sidecar also listens on
         * the reader port and writes their htpasswd secret (pinned to its version) at start.
         */
        readonly readers?: {
            readonly port: number;
            readonly htpasswdSecretArn: pulumi.Input<string>;
            readonly htpasswdVersionId: pulumi.Input<string>;
        };
    };
    readonly targetGroupArn: pulumi.Input<string>;
    /** Team accounts: the server at `/` (its own auth database) or a project's (auth tables in its database). */
    readonly auth?: AwsTrackingServerAuth;
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly securityGroupId: pulumi.Input<string>;
    /** Tasks get public IPs so they reach ECR, logs and Secrets Manager without a NAT gateway. */
    readonly assignPublicIp: boolean;
    readonly cpu: number;
    readonly memory: number;
    readonly architecture: CpuArchitecture;
    readonly desiredCount: number;
    readonly minTasks: number;
    readonly maxTasks: number;
    /** SQLAlchemy pool per engine (a project's PROJECT_POOL); DEFAULT_POOL when unset. */
    readonly pool?: PoolSettings;
    /** MLflow's job execution; unset: on exactly where one task can run (trackingServer/mlflow.ts). */
    readonly jobExecution?: boolean;
    readonly ecrKeepImages: number;
    readonly logRetentionDays: number;
    readonly tags?: Record<string, string>;
    /**
     * Served models: register the tasks in a Cloud Map private DNS namespace so model
     * tasks reach MLflow's internal port at a stable name. Unset: nothing is added.
     */
    readonly serviceDiscovery?: { readonly vpcId: pulumi.Input<string>; readonly namespace: string; readonly serviceName: string };
    /**
     * The server at `/` with retainDataOnDestroy=false: the scheduled project prune beside it
     * (awsPrune.ts), which deletes the database, user and objects of every project out of the
     * list (`keep`, written to an SSM parameter) for longer than the grace period. Unset: nothing
     * is added and `/`'s resources are as without it.
     */
    readonly projectPrune?: { readonly keep: readonly string[] };
    /**
     * A project's service beside the one at `/` (shared/projects.ts): it runs the image of the
     * server at `/` in that server's cluster and log group, under /projects/<name>/, with
     * `database` being the project's own (secret from ProjectDatabase) and `artifactAccessPolicyArn`
     * limited to its prefix. Its task's init container creates the database as the master user.
     */
    readonly project?: {
        readonly name: string;
        readonly shared: AwsSharedServerParts;
        /** The database cluster's master secret: only the init container gets it. */
        readonly adminSecretArn: pulumi.Input<string>;
        /** The database the cluster was created with (the MySQL init connects to it). */
        readonly clusterDatabase: pulumi.Input<string>;
        /** What its service waits for: the prune's project list (`/`'s projectList), so the list names it first. */
        readonly startAfter?: pulumi.Resource[];
    };
}

/** What projects' services reuse of the server at `/`: built once. */
export interface AwsSharedServerParts {
    readonly imageName: pulumi.Input<string>;
    readonly repositoryArn: pulumi.Input<string>;
    readonly clusterArn: pulumi.Input<string>;
    readonly clusterName: pulumi.Input<string>;
    readonly logGroupName: pulumi.Input<string>;
    readonly logGroupArn: pulumi.Input<string>;
    /** The AI Gateway's KEK secret when enabled, else "". */
    readonly aiGatewayKekSecretArn: pulumi.Input<string>;
}

export type TrackingServerArgs = LocalTrackingServerArgs | AwsTrackingServerArgs;

/** What both targets give the proxy. */
export interface TrackingServerCommonOutputs {
    /** host:port the authenticating proxy forwards to. */
    readonly upstream: pulumi.Output<string>;
    readonly imageName: pulumi.Output<string>;
}

export interface LocalTrackingServerOutputs extends TrackingServerCommonOutputs {
    /** The MLflow container's id, which changes whenever the container is replaced. */
    readonly containerId: pulumi.Output<string>;
}

export interface AwsTrackingServerOutputs extends TrackingServerCommonOutputs {
    readonly ecrRepositoryUrl: pulumi.Output<string>;
    readonly clusterName: pulumi.Output<string>;
    readonly serviceName: pulumi.Output<string>;
    readonly ecrRepositoryArn: pulumi.Output<string>;
    /** For projects' services (the server at `/`'s own when this is a project). */
    readonly shared: AwsSharedServerParts;
    /** With projectPrune: the SSM parameter holding the project list (projects' services wait for it). */
    readonly projectList?: pulumi.Resource;
}

export interface TrackingServerOutputs {
    readonly local: LocalTrackingServerOutputs;
    readonly aws: AwsTrackingServerOutputs;
}
