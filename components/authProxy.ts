import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { buildAwsAuthProxy } from "./aws/authProxy";
import { basicAuthCredentials } from "./credentials";
import { healthcheck, pulledImage, RESTART_POLICY, roleLabels, WAIT_HEALTHY } from "./docker/common";
import { HTPASSWD_PATH, PROXY_CONFIG_PATH, PROXY_LISTEN_PORT, proxyHealthcheckCommand, proxyUpstreamLabels, renderProxyConfig } from "./render/nginx";

/** What both flavours share: who may log in and how large and slow transfers may be. */
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
}

export interface DockerAuthProxyArgs extends AuthProxyCommonArgs {
    readonly platform: "docker";
    readonly networkName: pulumi.Input<string>;
    /** host:port of MLflow on the Docker network. */
    readonly upstream: pulumi.Input<string>;
    /** The MLflow container's id: a new one replaces the proxy, which resolved the old address once. */
    readonly upstreamContainerId: pulumi.Input<string>;
    /** The one host port of the whole platform (default 5000). */
    readonly hostPort?: number;
    /** Host address the port binds to (default 127.0.0.1). */
    readonly bindAddress?: string;
}

export interface AwsAuthProxyArgs extends AuthProxyCommonArgs {
    readonly platform: "aws";
    readonly vpcId: pulumi.Input<string>;
    readonly publicSubnetIds: pulumi.Input<pulumi.Input<string>[]>;
    readonly securityGroupId: pulumi.Input<string>;
    /** ACM certificate for HTTPS; without one the load balancer serves plain HTTP (warned at preview). */
    readonly certificateArn?: string;
    readonly domainName?: string;
    readonly tags?: Record<string, string>;
}

export type AuthProxyArgs = DockerAuthProxyArgs | AwsAuthProxyArgs;

/**
 * HTTP basic auth in front of MLflow (which has none of its own by default): nginx with a
 * rendered config, large-upload friendly, `/health` open and everything else authenticated.
 * Docker: a container publishing the platform's only host port. AWS: an Application Load
 * Balancer whose target is the nginx sidecar in the tracking server's task.
 */
export class AuthProxy extends pulumi.ComponentResource {
    readonly url: pulumi.Output<string>;
    readonly username: pulumi.Output<string>;
    readonly password: pulumi.Output<string>;
    /** Rendered nginx conf.d snippet (for the AWS sidecar). */
    readonly nginxConfig: pulumi.Output<string>;
    /** Host names clients use, for MLflow's allowed hosts. */
    readonly publicHosts: pulumi.Output<string[]>;
    readonly loadBalancerDnsName?: pulumi.Output<string>;
    readonly targetGroupArn?: pulumi.Output<string>;
    readonly htpasswdSecretArn?: pulumi.Output<string>;

    constructor(name: string, args: AuthProxyArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlflow:index:AuthProxy", name, {}, opts);
        const credentials = basicAuthCredentials(this, name, args.username, args.password);
        const maxUploadSize = args.maxUploadSize ?? "5g";
        const timeoutSeconds = args.timeoutSeconds ?? 3600;
        this.username = pulumi.output(args.username);
        this.password = credentials.password;
        if (args.platform === "docker") {
            const hostPort = args.hostPort ?? 5000;
            const bindAddress = args.bindAddress ?? "127.0.0.1";
            const image = pulledImage(`${name}-image`, args.image, this);
            this.nginxConfig = pulumi.output(args.upstream).apply(upstream => renderProxyConfig({
                listenPort: PROXY_LISTEN_PORT, upstream, maxUploadSize, timeoutSeconds, htpasswdPath: HTPASSWD_PATH,
            }));
            const container = new docker.Container(`${name}-nginx`, {
                name: `${name}-nginx`,
                image: image.imageId,
                uploads: [
                    { file: PROXY_CONFIG_PATH, content: this.nginxConfig },
                    { file: HTPASSWD_PATH, content: credentials.htpasswd },
                ],
                ports: [{ internal: PROXY_LISTEN_PORT, external: hostPort, ip: bindAddress, protocol: "tcp" }],
                networksAdvanced: [{ name: args.networkName }],
                healthcheck: healthcheck(proxyHealthcheckCommand(PROXY_LISTEN_PORT)),
                restart: RESTART_POLICY,
                labels: pulumi.output(args.upstreamContainerId).apply(id => [...roleLabels("auth-proxy"), ...proxyUpstreamLabels(id)]),
                ...WAIT_HEALTHY,
                // Its fixed name and host port cannot exist twice: Pulumi must delete it before creating
                // the replacement (pulumi/pulumi-docker#1356: create-before-delete is the default).
            }, { parent: this, deleteBeforeReplace: true });
            const host = bindAddress === "0.0.0.0" || bindAddress === "127.0.0.1" ? "localhost" : bindAddress;
            this.url = container.id.apply(() => `http://${host}:${hostPort}`);
            this.publicHosts = pulumi.output([host]);
        } else {
            const aws = buildAwsAuthProxy(this, name, {
                ...args, maxUploadSize, timeoutSeconds, htpasswd: credentials.htpasswd,
            });
            this.url = aws.url;
            this.nginxConfig = aws.nginxConfig;
            this.publicHosts = aws.publicHosts;
            this.loadBalancerDnsName = aws.loadBalancerDnsName;
            this.targetGroupArn = aws.targetGroupArn;
            this.htpasswdSecretArn = aws.htpasswdSecretArn;
        }
        this.registerOutputs({
            url: this.url,
            username: this.username,
            password: this.password,
            loadBalancerDnsName: this.loadBalancerDnsName,
        });
    }
}
