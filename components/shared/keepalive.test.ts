import * as fs from "fs";
import * as path from "path";
import { assertKeepAliveOrder, cloudFrontOriginTimeouts, keepAliveChain, KeepAliveChain, renderUvicornOpts } from "./keepalive";

describe("keepAliveChain", () => {
    test.each([
        // proxy timeout, load balancer, ALB idle, nginx client, nginx upstream, uvicorn
        [3600, false, undefined, 75, 8, 12],
        [3600, true, 3600, 3606, 8, 12],
        [60, true, 60, 66, 8, 12],
        [7200, true, 4000, 4006, 8, 12], // the ALB accepts at most 4000 s
        [1, true, 1, 7, 8, 12],
    ])("timeout %ps, load balancer %p", (proxyTimeoutSeconds, loadBalancer, alb, client, upstream, uvicorn) => {
        const c = keepAliveChain({ proxyTimeoutSeconds, loadBalancer });
        expect(c).toEqual({
            loadBalancerIdleSeconds: alb, proxyClientKeepaliveSeconds: client,
            proxyUpstreamKeepaliveSeconds: upstream, mlflowKeepAliveSeconds: uvicorn,
        });
        // Who sends on an idle connection lets go first.
        if (alb !== undefined) expect(alb).toBeLessThan(client);
        expect(upstream).toBeLessThan(uvicorn);
        // uvicorn's own default (5 s) would be shorter than nginx's upstream timeout: it must be explicit.
        expect(renderUvicornOpts(c)).toBe(`--timeout-keep-alive ${uvicorn} --timeout-worker-healthcheck 60`);
    });

    test.each([[0], [-5], [2.5]])("refuses proxy timeout %p", t => {
        expect(() => keepAliveChain({ proxyTimeoutSeconds: t, loadBalancer: true })).toThrow(/whole number of seconds/);
    });

    const ok: KeepAliveChain = { loadBalancerIdleSeconds: 60, proxyClientKeepaliveSeconds: 75, proxyUpstreamKeepaliveSeconds: 8, mlflowKeepAliveSeconds: 12 };
    test.each([
        ["ALB idle not below nginx client", { ...ok, loadBalancerIdleSeconds: 75 }, /load balancer idle timeout \(75s\)/],
        ["ALB idle 3600 vs nginx's default 75 (the earlier state)", { ...ok, loadBalancerIdleSeconds: 3600 }, /load balancer idle timeout/],
        ["nginx upstream 60 (its default) vs uvicorn 5 (its default)", { ...ok, proxyUpstreamKeepaliveSeconds: 60, mlflowKeepAliveSeconds: 5 }, /nginx upstream keepalive_timeout \(60s\)/],
        ["margin under 3 s", { ...ok, proxyUpstreamKeepaliveSeconds: 10 }, /at least 3s shorter/],
    ])("rejects %s", (_name, chain, message) => {
        expect(() => assertKeepAliveOrder(chain)).toThrow(message);
    });

    test("accepts a correct chain, with or without a load balancer", () => {
        expect(() => assertKeepAliveOrder(ok)).not.toThrow();
        expect(() => assertKeepAliveOrder({ ...ok, loadBalancerIdleSeconds: undefined })).not.toThrow();
    });
});

describe("the image's uvicorn", () => {
    // --timeout-worker-healthcheck is a recent uvicorn option; mlflow only asks for uvicorn<1,
    // so an unpinned resolve could pick a release without it and MLflow would not start.
    test("is pinned in requirements.txt to the release the option was verified with", () => {
        const requirements = fs.readFileSync(path.join(__dirname, "..", "..", "images", "tracking-server", "requirements.txt"), "utf8");
        expect(requirements).toMatch(/^uvicorn==0\.54\.0$/m);
        expect(renderUvicornOpts()).toContain("--timeout-worker-healthcheck");
    });
});

describe("cloudFrontOriginTimeouts", () => {
    test.each<[number, number, number]>([
        // proxy timeout -> CloudFront response timeout, keep-alive (ALB idle = proxy timeout, up to 4000 s)
        [3600, 60, 60],
        [45, 45, 42],
        [10, 10, 7],
        [2, 2, 1],
    ])("proxy timeout %i s: response timeout %i s, keep-alive %i s", (proxy, read, keepalive) => {
        const chain = keepAliveChain({ proxyTimeoutSeconds: proxy, loadBalancer: true });
        expect(cloudFrontOriginTimeouts(chain, proxy)).toEqual({ readSeconds: read, keepaliveSeconds: keepalive });
        // CloudFront drops an idle connection to the load balancer before the load balancer does.
        if (proxy > 3) expect(keepalive + 3).toBeLessThanOrEqual(chain.loadBalancerIdleSeconds!);
        expect(read).toBeLessThanOrEqual(60);
    });

    test("needs a chain with a load balancer", () => {
        expect(() => cloudFrontOriginTimeouts(keepAliveChain({ proxyTimeoutSeconds: 3600, loadBalancer: false }), 3600)).toThrow(/load balancer/);
    });
});
