// The keep-alive chain from the client to MLflow, in one place for both targets.
//
// Rule at every hop: the side that sends requests on an idle connection must give it up
// before the side that receives them closes it. Otherwise a request crosses the receiver's
// close and fails: the ALB answers 502, nginx answers 502 to a POST (it never retries a
// non-idempotent request on another connection). So:
//   ALB idle timeout < nginx client keepalive_timeout      (AWS only)
//   nginx upstream keepalive_timeout < uvicorn --timeout-keep-alive
//
// AWS documents the first rule for ALB targets ("configure the idle timeout of your
// application to be larger than the idle timeout configured for the load balancer").

/** nginx's own default for client connections; kept where no load balancer sits in front. */
export const NGINX_CLIENT_KEEPALIVE_DEFAULT = 75;
/** nginx -> MLflow: long enough to reuse connections between a client's calls... */
export const NGINX_UPSTREAM_KEEPALIVE = 8;
/** ...and shorter than uvicorn keeps an idle connection (its default is 5 s, shorter than nginx's 60 s). */
export const UVICORN_KEEPALIVE = 12;
/** Margin between a sender's and a receiver's timeout on the same connection. */
export const KEEPALIVE_MARGIN = 3;
/** The largest idle timeout an Application Load Balancer accepts. */
export const ALB_MAX_IDLE_TIMEOUT = 4000;

export interface KeepAliveChain {
    /** Application Load Balancer idle timeout (AWS only). */
    readonly loadBalancerIdleSeconds?: number;
    /** nginx `keepalive_timeout` towards clients (or the ALB). */
    readonly proxyClientKeepaliveSeconds: number;
    /** nginx upstream `keepalive_timeout` towards MLflow. */
    readonly proxyUpstreamKeepaliveSeconds: number;
    /** uvicorn `--timeout-keep-alive` (MLFLOW_UVICORN_OPTS). */
    readonly mlflowKeepAliveSeconds: number;
}

/**
 * The chain for a proxy timeout. With a load balancer its idle timeout stays the proxy
 * timeout (capped at the ALB's limit): it also bounds silent stretches inside one request,
 * e.g. MLflow copying a just-received multi-GB artifact to S3 before it answers, so it cannot
 * be short. nginx then keeps client connections a margin longer than the ALB does: it holds
 * only the ALB's few pooled connections for that long. Throws when an order is broken.
 */
export function keepAliveChain(o: { proxyTimeoutSeconds: number; loadBalancer: boolean }): KeepAliveChain {
    if (!Number.isInteger(o.proxyTimeoutSeconds) || o.proxyTimeoutSeconds < 1) {
        throw new Error(`proxy timeout must be a whole number of seconds >= 1, got ${o.proxyTimeoutSeconds}`);
    }
    const albIdle = o.loadBalancer ? Math.min(o.proxyTimeoutSeconds, ALB_MAX_IDLE_TIMEOUT) : undefined;
    const chain: KeepAliveChain = {
        loadBalancerIdleSeconds: albIdle,
        proxyClientKeepaliveSeconds: albIdle === undefined ? NGINX_CLIENT_KEEPALIVE_DEFAULT : albIdle + KEEPALIVE_MARGIN * 2,
        proxyUpstreamKeepaliveSeconds: NGINX_UPSTREAM_KEEPALIVE,
        mlflowKeepAliveSeconds: UVICORN_KEEPALIVE,
    };
    assertKeepAliveOrder(chain);
    return chain;
}

/**
 * The longest origin response and keep-alive timeouts CloudFront accepts without a quota
 * increase (CloudFront Developer Guide, "Quotas": response timeout per origin, keep-alive
 * timeout per origin); docs/aws.md has what they mean for artifact transfers.
 */
export const CLOUDFRONT_MAX_ORIGIN_TIMEOUT = 60;

/**
 * CloudFront in front of the load balancer: it waits for each answer (and between its bytes)
 * as long as it may, but never longer than the proxy timeout; it drops an idle pooled
 * connection KEEPALIVE_MARGIN seconds before the load balancer would (the same rule as above).
 */
export function cloudFrontOriginTimeouts(c: KeepAliveChain, proxyTimeoutSeconds: number): { readSeconds: number; keepaliveSeconds: number } {
    if (c.loadBalancerIdleSeconds === undefined) throw new Error("CloudFront's origin here is a load balancer: build the chain with loadBalancer: true");
    return {
        readSeconds: Math.min(proxyTimeoutSeconds, CLOUDFRONT_MAX_ORIGIN_TIMEOUT),
        keepaliveSeconds: Math.max(1, Math.min(CLOUDFRONT_MAX_ORIGIN_TIMEOUT, c.loadBalancerIdleSeconds - KEEPALIVE_MARGIN)),
    };
}

/** Each sender gives up an idle connection at least KEEPALIVE_MARGIN seconds before its receiver. */
export function assertKeepAliveOrder(c: KeepAliveChain): void {
    const pairs: Array<[string, number | undefined, string, number]> = [
        ["load balancer idle timeout", c.loadBalancerIdleSeconds, "nginx client keepalive_timeout", c.proxyClientKeepaliveSeconds],
        ["nginx upstream keepalive_timeout", c.proxyUpstreamKeepaliveSeconds, "uvicorn --timeout-keep-alive", c.mlflowKeepAliveSeconds],
    ];
    for (const [sender, s, receiver, r] of pairs) {
        if (s !== undefined && !(s + KEEPALIVE_MARGIN <= r)) {
            throw new Error(`keep-alive chain broken: ${sender} (${s}s) must be at least ${KEEPALIVE_MARGIN}s shorter than ${receiver} (${r}s)`);
        }
    }
}

/**
 * uvicorn's supervisor kills a worker that does not answer its ping within this many seconds
 * (default 5, uvicorn 0.54 supervisors/multiprocess.py). A worker busy with a large upload on a
 * loaded host missed it in the e2e suite: killed mid-request, the client got a 502.
 */
export const UVICORN_WORKER_HEALTHCHECK = 60;

/** MLFLOW_UVICORN_OPTS: mlflow server splits it with shlex and passes it to uvicorn (mlflow/server/__init__.py, 3.17.2). */
export function renderUvicornOpts(c: Pick<KeepAliveChain, "mlflowKeepAliveSeconds"> = { mlflowKeepAliveSeconds: UVICORN_KEEPALIVE }): string {
    return `--timeout-keep-alive ${c.mlflowKeepAliveSeconds} --timeout-worker-healthcheck ${UVICORN_WORKER_HEALTHCHECK}`;
}
