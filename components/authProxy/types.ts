// AuthProxy args and outputs per target. Imported by the class and both target files.
import type * as pulumi from "@pulumi/pulumi";
import type { BasicAuthCredentials } from "../shared/credentials";
import type { ModelRoute } from "../modelServer/serving";

export const AUTH_PROXY_TYPE = "mlflow:index:AuthProxy";

/** What both targets share: who may log in and how large and slow transfers may be. */
export interface AuthProxyCommonArgs {
    readonly username: string;
    /** Given password (secret); generated when undefined. */
    readonly password?: pulumi.Input<string>;
    /** nginx client_max_body_size; "0" = unlimited (default 5g). */
    readonly maxUploadSize?: string;
    /** Proxy timeouts in seconds (default 3600). */
    readonly timeoutSeconds?: number;
    /** Pinned nginx image. */
    readonly image: string;
    /**
     * Team accounts beside `username` (config users): each one's htpasswd line in the file of
     * `/` and of the projects it reaches ("all": an admin). None: the single login, as before.
     */
    readonly accounts?: readonly ProxyAccount[];
    /**
     * The token the proxy sends MLflow with the admitted user's name (authProxy/identity.ts),
     * secret; set together with accounts. None: no identity headers.
     */
    readonly identityToken?: pulumi.Input<string>;
    /**
     * Per project name: the token its location sends its server (secret), set together with
     * identityToken. The Docker proxy holds each in its own include file; on AWS each project's
     * sidecar gets its own from its task, so only the names matter there.
     */
    readonly projectIdentityTokens?: Record<string, pulumi.Input<string>>;
}

/** A team account at the proxy: its htpasswd line (secret) and where it may log in. */
export interface ProxyAccount {
    readonly name: string;
    readonly htpasswdLine: pulumi.Input<string>;
    /** Names of the projects it reaches besides `/`; "all" for admins. */
    readonly projects: readonly string[] | "all";
}

export interface LocalAuthProxyArgs extends AuthProxyCommonArgs {
    readonly target: "local";
    readonly networkName: pulumi.Input<string>;
    /** host:port of MLflow on the Docker network. */
    readonly upstream: pulumi.Input<string>;
    /** The MLflow container's id: a new one replaces the proxy, which resolved the old address once. */
    readonly upstreamContainerId: pulumi.Input<string>;
    /** The one host port of the whole platform (default 5000). */
    readonly hostPort?: number;
    /** Host address the port binds to (default 127.0.0.1). */
    readonly bindAddress?: string;
    /** Host name of the exported URL (default: localhost, or bindAddress when it is a specific address). */
    readonly publicHost?: string;
    /** Served models (ModelServer): routed at /models/<name>/; their container ids replace the proxy with them. */
    readonly models?: {
        readonly routes: readonly ModelRoute[];
        readonly containerIds: pulumi.Input<string>[];
        /** The model servers' reader accounts (one htpasswd line each, secret): the read-only registry endpoint's users. */
        readonly readerHtpasswdLines: pulumi.Input<string>[];
        /** Each model's network (Network servingNetworkNames, routes' order): the proxy joins each as REGISTRY_READER_HOST. */
        readonly networkNames: pulumi.Input<string>[];
    };
    /** Projects served beside `/`, each at /projects/<name>/ with its own login (shared/projects.ts). */
    readonly projects?: readonly ProxyProject[];
}

/** A project behind the proxy: its own MLflow server and its own basic-auth user. */
export interface ProxyProject {
    readonly name: string;
    readonly username: string;
    /** host:port of the project's MLflow server. */
    readonly upstream: pulumi.Input<string>;
    /** Its container id: a new one replaces the proxy, as for the server at `/`. */
    readonly upstreamContainerId: pulumi.Input<string>;
}

export interface AwsAuthProxyArgs extends AuthProxyCommonArgs {
    readonly target: "aws";
    readonly vpcId: pulumi.Input<string>;
    readonly publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly securityGroupId: pulumi.Input<string>;
    /** ACM certificate for HTTPS on the load balancer. */
    readonly certificateArn?: string;
    /**
     * Without a certificate: true puts a CloudFront distribution (HTTPS on its default
     * certificate) in front, and the load balancer forwards only requests carrying its secret
     * origin header; false serves plain HTTP from the load balancer (config plainHttp).
     */
    readonly cloudFront?: boolean;
    readonly domainName?: string;
    readonly tags?: Record<string, string>;
    /** Projects, each with its own target group, listener rule on /projects/<name>/ and login (shared/projects.ts). */
    readonly projects?: readonly AwsProxyProject[];
    /**
     * Served model names: each gets a read-only login (readerUsername) on the tracking sidecar's
     * registry reader endpoint (authProxy/registryReader.ts). Absent or empty: no reader server.
     */
    readonly registryReaders?: readonly string[];
}

/** The model servers' read-only logins, and the readers' htpasswd secret the tracking sidecar writes out. */
export interface AwsRegistryReaders {
    readonly htpasswdSecretArn: pulumi.Output<string>;
    readonly htpasswdVersionId: pulumi.Output<string>;
    /** Per served model name: its reader user and password (secret). */
    readonly logins: Record<string, { readonly username: string; readonly password: pulumi.Output<string> }>;
}

/** A project behind the load balancer: its own service's sidecar and its own basic-auth user. */
export interface AwsProxyProject {
    readonly name: string;
    readonly username: string;
}

/** What a project's service needs of the proxy: where the load balancer sends it, and its sidecar's config and login. */
export interface AwsProjectTarget {
    /** Resolves only once the project's listener rule exists (ECS needs an attached target group). */
    readonly targetGroupArn: pulumi.Output<string>;
    /** CloudWatch's TargetGroup dimension (`targetgroup/<name>/<id>`), for the project's alarms. */
    readonly targetGroupArnSuffix: pulumi.Output<string>;
    /** The project sidecar's config (renderProxyConfig with servedProject). */
    readonly nginxConfig: pulumi.Output<string>;
    readonly htpasswdSecretArn: pulumi.Output<string>;
    readonly htpasswdVersionId: pulumi.Output<string>;
}

export type AuthProxyArgs = LocalAuthProxyArgs | AwsAuthProxyArgs;

/** A listener rule condition on a request header (aws.lb.ListenerRule conditions[].httpHeader). */
export interface OriginCondition {
    readonly httpHeader: { readonly httpHeaderName: string; readonly values: string[] };
}

/** What the class resolves once for both targets and hands to the target's builder. */
export interface AuthProxyResolved {
    readonly maxUploadSize: string;
    readonly timeoutSeconds: number;
    readonly credentials: BasicAuthCredentials;
    /** Per project (same order as the args' projects); empty without projects. */
    readonly projectCredentials: readonly BasicAuthCredentials[];
    /** The htpasswd file of `/`: credentials.htpasswd itself without accounts, else with every account's line (secret). */
    readonly htpasswd: pulumi.Output<string>;
    /** Per project: its own login's line, then its members' and the admins' (secret). */
    readonly projectHtpasswd: readonly pulumi.Output<string>[];
    /** The Prometheus scraper's login (local target): the scrape locations' htpasswd file. */
    readonly scraper?: BasicAuthCredentials;
}

/** What both targets give clients and the tracking server. */
export interface AuthProxyCommonOutputs {
    readonly url: pulumi.Output<string>;
    readonly username: pulumi.Output<string>;
    readonly password: pulumi.Output<string>;
    /** Rendered nginx conf.d snippet. */
    readonly nginxConfig: pulumi.Output<string>;
    /** Host names clients use, for MLflow's allowed hosts. */
    readonly publicHosts: pulumi.Output<string[]>;
    /** Per project name: tracking URI, user, password (secret). Empty without projects. */
    readonly projects: Record<string, ProjectEndpoint>;
    /** The local target's scrape endpoints (authProxy/metrics.ts) and the scraper's login. */
    readonly metrics?: MetricsEndpoint;
}

/** Where a Prometheus scrapes the platform, with which login (docs/observability.md). */
export interface MetricsEndpoint {
    /** One URL per MLflow server: /metrics/tracking, then /metrics/projects/<name>. */
    readonly urls: pulumi.Output<string[]>;
    readonly username: pulumi.Output<string>;
    /** Secret. */
    readonly password: pulumi.Output<string>;
}

export interface ProjectEndpoint {
    readonly trackingUri: pulumi.Output<string>;
    readonly username: pulumi.Output<string>;
    readonly password: pulumi.Output<string>;
}

export type LocalAuthProxyOutputs = AuthProxyCommonOutputs;

export interface AwsAuthProxyOutputs extends AuthProxyCommonOutputs {
    readonly loadBalancerDnsName: pulumi.Output<string>;
    /** CloudWatch's LoadBalancer dimension (`app/<name>/<id>`), for the alarms. */
    readonly loadBalancerArnSuffix: pulumi.Output<string>;
    /** Resolves only once the forwarding listener exists (ECS needs an attached target group). */
    readonly targetGroupArn: pulumi.Output<string>;
    /** CloudWatch's TargetGroup dimension of the server at `/`. */
    readonly targetGroupArnSuffix: pulumi.Output<string>;
    /** The forwarding listener (HTTPS with a certificate, else HTTP): model routes are rules on it. */
    readonly listenerArn: pulumi.Output<string>;
    readonly htpasswdSecretArn: pulumi.Output<string>;
    /** The version holding the current htpasswd line (a new one with each password change). */
    readonly htpasswdVersionId: pulumi.Output<string>;
    /** Per project name; empty without projects. */
    readonly projectTargets: Record<string, AwsProjectTarget>;
    /**
     * Conditions every forwarding rule on the listener carries besides its path (the secret
     * origin header with CloudFront; empty without): model routes add them to theirs.
     */
    readonly originConditions: pulumi.Output<OriginCondition[]>;
    /** Only with registryReaders. */
    readonly registryReaders?: AwsRegistryReaders;
}

/** What a target's builder returns; the class adds username and password. */
export type TargetOutputs<O extends AuthProxyCommonOutputs> = Omit<O, "username" | "password" | "projects" | "metrics">;

export interface AuthProxyOutputs {
    readonly local: LocalAuthProxyOutputs;
    readonly aws: AwsAuthProxyOutputs;
}
