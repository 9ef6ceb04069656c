// AWS auth proxy: an internet-facing Application Load Balancer whose only target is the nginx
// sidecar in the tracking server's task. nginx does the basic auth; its htpasswd line lives in
// Secrets Manager and reaches the sidecar as an ECS secret.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AuthProxyResolved, AwsAuthProxyArgs, AwsAuthProxyOutputs, AwsProjectTarget, AwsRegistryReaders, FlavourOutputs } from "./types";
import { basicAuthCredentials } from "../credentials";
import { keepAliveChain, type KeepAliveChain } from "../render/keepalive";
import { MLFLOW_PORT } from "../render/mlflow";
import { HTPASSWD_PATH, PROXY_LISTEN_PORT, renderProxyConfig } from "../render/nginx";
import { projectListenerPriority, projectPathPatterns, projectPriorityCollisions } from "../render/projects";
import { READER_HTPASSWD_PATH, readerUsername } from "../render/registryReader";
import { modelSlug } from "../render/serving";

/** TLS 1.3 and 1.2 only, forward-secret ciphers. */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/** nginx answers /health without authentication (its own exact-match location). */
export const HEALTH_PATH = "/health";

type Args = AwsAuthProxyArgs & AuthProxyResolved;

/** The htpasswd line in Secrets Manager; the sidecar receives it as an ECS secret. */
function buildHtpasswdSecret(
    parent: pulumi.Resource, name: string, args: Args, htpasswd: pulumi.Output<string> = args.credentials.htpasswd,
    description = `MLflow basic-auth htpasswd line for the nginx sidecar (${name})`,
): { arn: pulumi.Output<string>; versionId: pulumi.Output<string> } {
    const htpasswdSecret = new aws.secretsmanager.Secret(`${name}-htpasswd`, {
        description,
        recoveryWindowInDays: 7,
        tags: args.tags ?? {},
    }, { parent });
    const version = new aws.secretsmanager.SecretVersion(`${name}-htpasswd`, {
        secretId: htpasswdSecret.id,
        secretString: pulumi.secret(htpasswd),
    }, { parent });
    return { arn: htpasswdSecret.arn, versionId: version.versionId };
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
    const targetGroup = buildTargetGroup(parent, `${name}-tg`, args);
    return { alb, targetGroup };
}

/** A target group of nginx sidecars, checked on the sidecar's open /health. */
function buildTargetGroup(parent: pulumi.Resource, name: string, args: Args): aws.lb.TargetGroup {
    return new aws.lb.TargetGroup(name, {
        namePrefix: "mlflow",
        vpcId: args.vpcId,
        targetType: "ip",
        port: PROXY_LISTEN_PORT,
        protocol: "HTTP",
        deregistrationDelay: 30,
        healthCheck: {
            enabled: true,
            path: HEALTH_PATH,
            protocol: "HTTP",
            matcher: "200",
            interval: 15,
            timeout: 5,
            healthyThreshold: 2,
            unhealthyThreshold: 3,
        },
        tags: args.tags ?? {},
    }, { parent });
}

/** HTTPS with a redirect from HTTP when a certificate is given, else plain HTTP; returns the forwarding one. */
function buildListeners(parent: pulumi.Resource, name: string, args: Args, alb: aws.lb.LoadBalancer, targetGroup: aws.lb.TargetGroup): aws.lb.Listener {
    const tags = args.tags ?? {};
    const forward = [{ type: "forward", targetGroupArn: targetGroup.arn }];
    if (!args.certificateArn) {
        return new aws.lb.Listener(`${name}-http`, {
            loadBalancerArn: alb.arn,
            port: 80,
            protocol: "HTTP",
            defaultActions: forward,
            tags,
        }, { parent });
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
    return forwarding;
}

export function buildAwsAuthProxy(parent: pulumi.Resource, name: string, args: Args): FlavourOutputs<AwsAuthProxyOutputs> {
    // ALB idle timeout < nginx client keepalive_timeout (render/keepalive.ts).
    const keepAlive = keepAliveChain({ proxyTimeoutSeconds: args.timeoutSeconds, loadBalancer: true });
    // nginx and MLflow share the task's network namespace (awsvpc): MLflow is on localhost.
    const registryReaders = buildRegistryReaders(parent, name, args);
    const nginxConfig = renderProxyConfig({
        listenPort: PROXY_LISTEN_PORT,
        upstream: `127.0.0.1:${MLFLOW_PORT}`,
        maxUploadSize: args.maxUploadSize,
        timeoutSeconds: args.timeoutSeconds,
        htpasswdPath: HTPASSWD_PATH,
        keepAlive,
        // The model servers' read-only endpoint, only with served models: without, the config is as before.
        ...(registryReaders === undefined ? {} : { registryReader: { htpasswdPath: READER_HTPASSWD_PATH } }),
    });
    const htpasswdSecret = buildHtpasswdSecret(parent, name, args);
    const { alb, targetGroup } = buildLoadBalancer(parent, name, args, keepAlive);
    const forwarding = buildListeners(parent, name, args, alb, targetGroup);
    const projectTargets = buildProjectTargets(parent, name, args, keepAlive, forwarding);
    const scheme = args.certificateArn ? "https" : "http";
    const host = args.domainName ? pulumi.output(args.domainName) : alb.dnsName;
    return {
        url: pulumi.interpolate`${scheme}://${host}`,
        nginxConfig: pulumi.output(nginxConfig),
        publicHosts: alb.dnsName.apply(dns => args.domainName ? [dns, args.domainName] : [dns]),
        loadBalancerDnsName: alb.dnsName,
        // ECS rejects a service whose target group is not yet attached to a load balancer:
        // hand the ARN out only once the forwarding listener exists.
        targetGroupArn: pulumi.all([forwarding.arn, targetGroup.arn]).apply(([, arn]) => arn),
        listenerArn: forwarding.arn,
        htpasswdSecretArn: htpasswdSecret.arn,
        htpasswdVersionId: htpasswdSecret.versionId,
        projectTargets,
        ...(registryReaders === undefined ? {} : { registryReaders }),
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
 * priority comes from the name alone (render/projects.ts), so adding or removing a project
 * changes no other project's rule; config refuses colliding names before this runs.
 */
function buildProjectTargets(
    parent: pulumi.Resource, name: string, args: Args, keepAlive: KeepAliveChain, forwarding: aws.lb.Listener,
): Record<string, AwsProjectTarget> {
    const projects = args.projects ?? [];
    const collisions = projectPriorityCollisions(projects.map(p => p.name));
    if (collisions.length > 0) throw new Error(`projects ${collisions.map(([a, b, p]) => `${a} and ${b} (${p})`).join(", ")} share a listener rule priority: rename one`);
    const out: Record<string, AwsProjectTarget> = {};
    projects.forEach((p, i) => {
        const base = `${name}-project-${p.name}`;
        const secret = buildHtpasswdSecret(parent, base, args, args.projectCredentials[i].htpasswd);
        const targetGroup = buildTargetGroup(parent, `${base}-tg`, args);
        const rule = new aws.lb.ListenerRule(`${base}-rule`, {
            listenerArn: forwarding.arn,
            priority: projectListenerPriority(p.name),
            conditions: [{ pathPattern: { values: projectPathPatterns(p.name) } }],
            actions: [{ type: "forward", targetGroupArn: targetGroup.arn }],
            tags: args.tags ?? {},
        }, { parent });
        out[p.name] = {
            targetGroupArn: pulumi.all([rule.arn, targetGroup.arn]).apply(([, arn]) => arn),
            nginxConfig: pulumi.output(renderProxyConfig({
                listenPort: PROXY_LISTEN_PORT,
                upstream: `127.0.0.1:${MLFLOW_PORT}`,
                maxUploadSize: args.maxUploadSize,
                timeoutSeconds: args.timeoutSeconds,
                htpasswdPath: HTPASSWD_PATH,
                keepAlive,
                servedProject: p.name,
            })),
            htpasswdSecretArn: secret.arn,
            htpasswdVersionId: secret.versionId,
        };
    });
    return out;
}
