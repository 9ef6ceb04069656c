// AWS auth proxy: an internet-facing Application Load Balancer whose only target is the nginx
// sidecar in the tracking server's task. nginx does the basic auth; its htpasswd line lives in
// Secrets Manager and reaches the sidecar as an ECS secret.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsAuthProxyArgs } from "../authProxy";
import { MLFLOW_PORT } from "../render/mlflow";
import { keepAliveChain } from "../render/keepalive";
import { HTPASSWD_PATH, PROXY_LISTEN_PORT, renderProxyConfig } from "../render/nginx";

export interface AwsAuthProxyOutputs {
    url: pulumi.Output<string>;
    nginxConfig: pulumi.Output<string>;
    publicHosts: pulumi.Output<string[]>;
    loadBalancerDnsName: pulumi.Output<string>;
    targetGroupArn: pulumi.Output<string>;
    htpasswdSecretArn: pulumi.Output<string>;
}

/** TLS 1.3 and 1.2 only, forward-secret ciphers. */
export const TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06";
/** nginx answers /health without authentication (its own exact-match location). */
export const HEALTH_PATH = "/health";

export function buildAwsAuthProxy(
    parent: pulumi.Resource, name: string,
    args: AwsAuthProxyArgs & { maxUploadSize: string; timeoutSeconds: number; htpasswd: pulumi.Output<string> },
): AwsAuthProxyOutputs {
    const tags = args.tags ?? {};
    const opts = { parent };

    // ALB idle timeout < nginx client keepalive_timeout (render/keepalive.ts).
    const keepAlive = keepAliveChain({ proxyTimeoutSeconds: args.timeoutSeconds, loadBalancer: true });
    // nginx and MLflow share the task's network namespace (awsvpc): MLflow is on localhost.
    const nginxConfig = renderProxyConfig({
        listenPort: PROXY_LISTEN_PORT,
        upstream: `127.0.0.1:${MLFLOW_PORT}`,
        maxUploadSize: args.maxUploadSize,
        timeoutSeconds: args.timeoutSeconds,
        htpasswdPath: HTPASSWD_PATH,
        keepAlive,
    });

    const htpasswdSecret = new aws.secretsmanager.Secret(`${name}-htpasswd`, {
        description: `MLflow basic-auth htpasswd line for the nginx sidecar (${name})`,
        recoveryWindowInDays: 7,
        tags,
    }, opts);
    new aws.secretsmanager.SecretVersion(`${name}-htpasswd`, {
        secretId: htpasswdSecret.id,
        secretString: pulumi.secret(args.htpasswd),
    }, opts);

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
    }, opts);

    const targetGroup = new aws.lb.TargetGroup(`${name}-tg`, {
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
        tags,
    }, opts);

    const forward = [{ type: "forward", targetGroupArn: targetGroup.arn }];
    let forwarding: aws.lb.Listener;
    if (args.certificateArn) {
        forwarding = new aws.lb.Listener(`${name}-https`, {
            loadBalancerArn: alb.arn,
            port: 443,
            protocol: "HTTPS",
            certificateArn: args.certificateArn,
            sslPolicy: TLS_POLICY,
            defaultActions: forward,
            tags,
        }, opts);
        new aws.lb.Listener(`${name}-http-redirect`, {
            loadBalancerArn: alb.arn,
            port: 80,
            protocol: "HTTP",
            defaultActions: [{
                type: "redirect",
                redirect: { protocol: "HTTPS", port: "443", statusCode: "HTTP_301" },
            }],
            tags,
        }, opts);
    } else {
        forwarding = new aws.lb.Listener(`${name}-http`, {
            loadBalancerArn: alb.arn,
            port: 80,
            protocol: "HTTP",
            defaultActions: forward,
            tags,
        }, opts);
    }

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
        htpasswdSecretArn: htpasswdSecret.arn,
    };
}
