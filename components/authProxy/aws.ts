// AWS auth proxy: an internet-facing Application Load Balancer whose only target is the nginx
// sidecar in the tracking server's task. nginx does the basic auth; its htpasswd line lives in
// Secrets Manager and reaches the sidecar as an ECS secret.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { AuthProxyResolved, AwsAuthProxyArgs, AwsAuthProxyOutputs, AwsProjectTarget, AwsRegistryReaders, TargetOutputs, OriginCondition } from "./types";
import { basicAuthCredentials } from "../shared/credentials";
import { cloudFrontOriginTimeouts, keepAliveChain, type KeepAliveChain } from "../shared/keepalive";
import { MLFLOW_PORT } from "../trackingServer/mlflow";
import { HTPASSWD_PATH, PROXY_LISTEN_PORT, renderProxyConfig, type ProxyConfigOptions } from "./nginx";
import { projectListenerPriority, projectPathPatterns, projectPriorityCollisions } from "../shared/projects";
import { READER_HTPASSWD_PATH, readerUsername } from "./registryReader";
import { PROXY_TOKEN_INCLUDE_PATH } from "./identity";
import { modelSlug } from "../modelServer/serving";
import { pathRoute, secretWithVersion, sidecarTargetGroup, type SidecarTargetGroupArgs } from "../shared/aws";

/** TLS 1.3 and 1.2 only, forward-secret ciphers. */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/** The header CloudFront adds to every origin request; the load balancer forwards nothing without it. */
export const ORIGIN_HEADER = "X-Origin-Verify";
/** The `/` rule with CloudFront: the last before the default 403 (projects 10000-29999, models 30000-49999). */
export const ORIGIN_RULE_PRIORITY = 50000;
/** Managed policies by ID (CloudFront Developer Guide, "Use managed cache policies", "... origin request policies"). */
export const CACHING_DISABLED_POLICY_ID = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
/** All viewer headers, Host and Authorization included (allowed with caching disabled): MLflow checks Host, nginx the login. */
export const ALL_VIEWER_POLICY_ID = "216adef6-5c7f-47e4-b989-5492eafa07d3";
/** Every method MLflow's REST API and artifact uploads use. */
const ALL_METHODS = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"];

type Args = AwsAuthProxyArgs & AuthProxyResolved;

/** The htpasswd line in Secrets Manager; the sidecar receives it as an ECS secret. */
function buildHtpasswdSecret(
    parent: pulumi.Resource, name: string, args: Args, htpasswd: pulumi.Output<string> = args.htpasswd,
    description = `MLflow basic-auth htpasswd line for the nginx sidecar (${name})`,
): { arn: pulumi.Output<string>; versionId: pulumi.Output<string> } {
    const { secret, version } = secretWithVersion(parent, `${name}-htpasswd`, { description, value: htpasswd, recoveryWindowInDays: 7, tags: args.tags ?? {} });
    return { arn: secret.arn, versionId: version.versionId };
}

/** The internet-facing load balancer and the target group of the nginx sidecars. */
function buildLoadBalancer(
    parent: pulumi.Resource, name: string, args: Args, keepAlive: KeepAliveChain,
): { alb: aws.lb.LoadBalancer; targetGroup: aws.lb.TargetGroup } {
    const tags = args.tags ?? {};
    const alb = new aws.lb.LoadBalancer(`${name}-alb`, {
        // A short prefix: ALB names are limited to 32 characters; AWS appends a unique suffix.
        namePrefix: "mlflow",
        loadBalancerType: "application",
        internal: false,
        subnets: args.publicSubnetIds,
        securityGroups: [args.securityGroupId],
        idleTimeout: keepAlive.loadBalancerIdleSeconds,
        dropInvalidHeaderFields: true,
        tags,
    }, { parent });
    const targetGroup = sidecarTargetGroup(parent, `${name}-tg`, sidecarTargets(args));
    return { alb, targetGroup };
}

/** The target groups of the proxy's nginx sidecars, `/`'s and each project's. */
function sidecarTargets(args: Args): SidecarTargetGroupArgs {
    return { namePrefix: "mlflow", vpcId: args.vpcId, port: PROXY_LISTEN_PORT, tags: args.tags ?? {} };
}

/**
 * HTTPS with a redirect from HTTP when a certificate is given, else HTTP on 80: forwarding
 * everything (plainHttp), or with CloudFront answering 403 to any request without the secret
 * origin header, which only the `origin` rule (and the project and model rules) forward.
 * Returns the forwarding listener and the rule the `/` target group hangs on, if any.
 */
function buildListeners(
    parent: pulumi.Resource, name: string, args: Args, alb: aws.lb.LoadBalancer, targetGroup: aws.lb.TargetGroup, origin?: OriginSecret,
): { listener: aws.lb.Listener; originRule?: aws.lb.ListenerRule } {
    const tags = args.tags ?? {};
    const forward = [{ type: "forward", targetGroupArn: targetGroup.arn }];
    if (!args.certificateArn) {
        const listener = new aws.lb.Listener(`${name}-http`, {
            loadBalancerArn: alb.arn,
            port: 80,
            protocol: "HTTP",
            defaultActions: origin
                ? [{ type: "fixed-response", fixedResponse: { contentType: "text/plain", messageBody: "Forbidden", statusCode: "403" } }]
                : forward,
            tags,
        }, { parent });
        if (!origin) return { listener };
        const originRule = new aws.lb.ListenerRule(`${name}-origin`, {
            listenerArn: listener.arn,
            priority: ORIGIN_RULE_PRIORITY,
            conditions: origin.conditions,
            actions: forward,
            tags,
        }, { parent });
        return { listener, originRule };
    }
    const forwarding = new aws.lb.Listener(`${name}-https`, {
        loadBalancerArn: alb.arn,
        port: 443,
        protocol: "HTTPS",
        certificateArn: args.certificateArn,
        sslPolicy: TLS_POLICY,
        defaultActions: forward,
        tags,
    }, { parent });
    new aws.lb.Listener(`${name}-http-redirect`, {
        loadBalancerArn: alb.arn,
        port: 80,
        protocol: "HTTP",
        defaultActions: [{
            type: "redirect",
            redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" },
        }],
        tags,
    }, { parent });
    return { listener: forwarding };
}

/** The secret CloudFront sends as ORIGIN_HEADER, and the listener rule condition requiring it. */
interface OriginSecret {
    readonly value: pulumi.Output<string>;
    readonly conditions: pulumi.Output<OriginCondition[]>;
}

function buildOriginSecret(parent: pulumi.Resource, name: string): OriginSecret {
    // Alphanumeric: a listener rule value treats * and ? as wildcards. Secret wherever it goes.
    const value = pulumi.secret(new random.RandomPassword(`${name}-origin-secret`, { length: 48, special: false }, { parent }).result);
    return { value, conditions: value.apply(v => [{ httpHeader: { httpHeaderName: ORIGIN_HEADER, values: [v] } }]) };
}

/**
 * HTTPS on CloudFront's default certificate (*.cloudfront.net) in front of the load balancer:
 * nothing cached, every method and viewer header (Host, Authorization) passed on, HTTP
 * redirected to HTTPS, and the secret origin header added to every request to the load balancer.
 */
function buildDistribution(parent: pulumi.Resource, name: string, args: Args, alb: aws.lb.LoadBalancer, origin: OriginSecret, keepAlive: KeepAliveChain): aws.cloudfront.Distribution {
    const timeouts = cloudFrontOriginTimeouts(keepAlive, args.timeoutSeconds);
    return new aws.cloudfront.Distribution(`${name}-cdn`, {
        enabled: true,
        comment: `MLflow ${name}: HTTPS in front of its load balancer`,
        isIpv6Enabled: true,
        httpVersion: "http2",
        // North America and Europe edges only: the lowest request and transfer prices.
        priceClass: "PriceClass_100",
        origins: [{
            originId: "alb",
            domainName: alb.dnsName,
            // The load balancer has no certificate for its own name: CloudFront reaches it on 80.
            customOriginConfig: {
                httpPort: 80, httpsPort: 443, originProtocolPolicy: "http-only", originSslProtocols: ["TLSv1.2"],
                originReadTimeout: timeouts.readSeconds, originKeepaliveTimeout: timeouts.keepaliveSeconds,
            },
            customHeaders: [{ name: ORIGIN_HEADER, value: origin.value }],
        }],
        defaultCacheBehavior: {
            targetOriginId: "alb",
            viewerProtocolPolicy: "redirect-to-https",
            allowedMethods: ALL_METHODS,
            cachedMethods: ["GET", "HEAD"],
            cachePolicyId: CACHING_DISABLED_POLICY_ID,
            originRequestPolicyId: ALL_VIEWER_POLICY_ID,
            compress: false,
        },
        restrictions: { geoRestriction: { restrictionType: "none" } },
        viewerCertificate: { cloudfrontDefaultCertificate: true },
        tags: args.tags ?? {},
    }, { parent });
}

export function buildAwsAuthProxy(parent: pulumi.Resource, name: string, args: Args): TargetOutputs<AwsAuthProxyOutputs> {
    // ALB idle timeout < nginx client keepalive_timeout (shared/keepalive.ts).
    const keepAlive = keepAliveChain({ proxyTimeoutSeconds: args.timeoutSeconds, loadBalancer: true });
    const registryReaders = buildRegistryReaders(parent, name, args);
    // The model servers' read-only endpoint, only with served models: without, the config is as before.
    const nginxConfig = sidecarConfig(args, keepAlive, {
        ...(registryReaders === undefined ? {} : { registryReader: { htpasswdPath: READER_HTPASSWD_PATH } }),
        // Team accounts: the sidecar writes the token's include from its task's secret (shared/ecs.ts);
        // a project's sidecar (buildProjectTargets) gets its project's own token the same way.
        ...(args.identityToken === undefined ? {} : { identity: { tokenIncludePath: PROXY_TOKEN_INCLUDE_PATH } }),
    });
    const htpasswdSecret = buildHtpasswdSecret(parent, name, args);
    const { alb, targetGroup } = buildLoadBalancer(parent, name, args, keepAlive);
    const origin = args.cloudFront && !args.certificateArn ? buildOriginSecret(parent, name) : undefined;
    const { listener: forwarding, originRule } = buildListeners(parent, name, args, alb, targetGroup, origin);
    const originConditions = origin?.conditions ?? pulumi.output([]);
    const projectTargets = buildProjectTargets(parent, name, args, keepAlive, forwarding, originConditions);
    const front = origin ? frontDoorOfDistribution(buildDistribution(parent, name, args, alb, origin, keepAlive)) : frontDoorOfAlb(args, alb);
    return {
        ...front,
        nginxConfig: pulumi.output(nginxConfig),
        loadBalancerDnsName: alb.dnsName,
        loadBalancerArnSuffix: alb.arnSuffix,
        targetGroupArnSuffix: targetGroup.arnSuffix,
        // ECS rejects a service whose target group is not yet attached to a load balancer:
        // hand the ARN out only once the forwarding listener (and with CloudFront its rule) exists.
        targetGroupArn: pulumi.all([forwarding.arn, originRule?.arn ?? "", targetGroup.arn]).apply(([, , arn]) => arn),
        listenerArn: forwarding.arn,
        originConditions,
        htpasswdSecretArn: htpasswdSecret.arn,
        htpasswdVersionId: htpasswdSecret.versionId,
        projectTargets,
        ...(registryReaders === undefined ? {} : { registryReaders }),
    };
}

/** The config of an nginx sidecar in a tracking task: nginx and MLflow share the task's network namespace (awsvpc). */
function sidecarConfig(args: Args, keepAlive: KeepAliveChain, extra: Pick<ProxyConfigOptions, "registryReader" | "servedProject" | "identity">): string {
    return renderProxyConfig({
        listenPort: PROXY_LISTEN_PORT,
        upstream: `127.0.0.1:${MLFLOW_PORT}`,
        maxUploadSize: args.maxUploadSize,
        timeoutSeconds: args.timeoutSeconds,
        htpasswdPath: HTPASSWD_PATH,
        keepAlive,
        ...extra,
    });
}

/** The tracking URI and the Host names MLflow accepts: CloudFront's name; with CloudFront, the load balancer's is not reachable. */
function frontDoorOfDistribution(d: aws.cloudfront.Distribution): { url: pulumi.Output<string>; publicHosts: pulumi.Output<string[]> } {
    return { url: pulumi.interpolate`https://${d.domainName}`, publicHosts: d.domainName.apply(dns => [dns]) };
}

function frontDoorOfAlb(args: Args, alb: aws.lb.LoadBalancer): { url: pulumi.Output<string>; publicHosts: pulumi.Output<string[]> } {
    const scheme = args.certificateArn ? "https" : "http";
    const host = args.domainName ? pulumi.output(args.domainName) : alb.dnsName;
    return {
        url: pulumi.interpolate`${scheme}://${host}`,
        publicHosts: alb.dnsName.apply(dns => args.domainName ? [dns, args.domainName] : [dns]),
    };
}

/**
 * Per served model a read-only login, made as the proxy's own (random password, SHA-512-crypt
 * line with its salt in state: stable across `pulumi up`), and one secret holding every
 * reader's line, which the tracking sidecar writes to READER_HTPASSWD_PATH at start.
 */
function buildRegistryReaders(parent: pulumi.Resource, name: string, args: Args): AwsRegistryReaders | undefined {
    const models = args.registryReaders ?? [];
    if (models.length === 0) return undefined;
    const logins: Record<string, { username: string; password: pulumi.Output<string> }> = {};
    const lines = models.map(model => {
        const username = readerUsername(model);
        const credentials = basicAuthCredentials(parent, `${name}-reader-${modelSlug(model)}`, username);
        logins[model] = { username, password: credentials.password };
        return credentials.htpasswd;
    });
    const htpasswd = pulumi.secret(pulumi.all(lines).apply(ls => ls.join("")));
    const secret = buildHtpasswdSecret(parent, `${name}-readers`, args, htpasswd,
        `htpasswd lines of the model servers' read-only logins, for the tracking sidecar's registry reader endpoint (${name})`);
    return { htpasswdSecretArn: secret.arn, htpasswdVersionId: secret.versionId, logins };
}

/**
 * Per project: its sidecar's config and htpasswd secret, its own target group, and a rule on
 * the forwarding listener sending /projects/<name> and /projects/<name>/* there. The rule's
 * priority comes from the name alone (shared/projects.ts), so adding or removing a project
 * changes no other project's rule; config refuses colliding names before this runs.
 */
function buildProjectTargets(
    parent: pulumi.Resource, name: string, args: Args, keepAlive: KeepAliveChain, forwarding: aws.lb.Listener,
    originConditions: pulumi.Output<OriginCondition[]>,
): Record<string, AwsProjectTarget> {
    const projects = args.projects ?? [];
    const collisions = projectPriorityCollisions(projects.map(p => p.name));
    if (collisions.length > 0) throw new Error(`projects ${collisions.map(([a, b, p]) => `${a} and ${b} (${p})`).join(", ")} share a listener rule priority: rename one`);
    const out: Record<string, AwsProjectTarget> = {};
    projects.forEach((p, i) => {
        const base = `${name}-project-${p.name}`;
        const secret = buildHtpasswdSecret(parent, base, args, args.projectHtpasswd[i]);
        const { targetGroup, rule } = pathRoute(parent, base, {
            ...sidecarTargets(args),
            listenerArn: forwarding.arn,
            priority: projectListenerPriority(p.name),
            pathPatterns: projectPathPatterns(p.name),
            extraConditions: originConditions,
        });
        out[p.name] = {
            targetGroupArn: pulumi.all([rule.arn, targetGroup.arn]).apply(([, arn]) => arn),
            targetGroupArnSuffix: targetGroup.arnSuffix,
            nginxConfig: pulumi.output(sidecarConfig(args, keepAlive, {
                servedProject: p.name,
                ...(args.identityToken === undefined ? {} : { identity: { tokenIncludePath: PROXY_TOKEN_INCLUDE_PATH } }),
            })),
            htpasswdSecretArn: secret.arn,
            htpasswdVersionId: secret.versionId,
        };
    });
    return out;
}
