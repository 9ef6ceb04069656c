import { PROXY_COMMAND, PROXY_CONTAINER } from "../shared/ecs";
import { keepAliveChain } from "../shared/keepalive";
import { HTPASSWD_PATH, proxyHealthcheckCommand } from "../authProxy/nginx";
import { MODEL_SERVER_PORTS, renderModelServerEnvironment, SERVE_MODEL_COMMAND } from "./serving";
import { PROJECT_PRIORITY_MAX } from "../config/checks";
import { REGISTRY_READER_PORT } from "../authProxy/registryReader";
import {
    internalTrackingHost, internalTrackingUri, MODEL_CONTAINER, MODEL_PROXY_PORT, MODEL_RULE_PRIORITY_FIRST, MODEL_RULE_PRIORITY_SPAN, modelPathPatterns,
    modelRulePriorities, modelRulePriority, ModelTaskContainersSettings, renderModelProxyConfig, renderModelTaskContainers,
    trackingNamespaceName,
} from "./ecs";

const HTPASSWD_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:htpasswd-XyZ";
const READER_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:model-iris-reader-AbC";
const keepAlive = keepAliveChain({ proxyTimeoutSeconds: 600, loadBalancer: true });

describe("listener rule priorities", () => {
    test.each(["iris", "churn-model", "Fraud_v2", "a", "x.y"])("%s: inside the model range, the same on every call", name => {
        const p = modelRulePriority(name);
        expect(Number.isInteger(p)).toBe(true);
        expect(p).toBeGreaterThanOrEqual(MODEL_RULE_PRIORITY_FIRST);
        expect(p).toBeLessThan(MODEL_RULE_PRIORITY_FIRST + MODEL_RULE_PRIORITY_SPAN);
        expect(p).toBeLessThanOrEqual(50000);
        expect(p).toBeGreaterThan(PROJECT_PRIORITY_MAX);
        expect(modelRulePriority(name)).toBe(p);
    });

    test("known values (FNV-1a of the slug, checked against a Python FNV-1a): a change here moves every user's rules", () => {
        expect(modelRulePriority("iris")).toBe(31478);
        expect(MODEL_RULE_PRIORITY_FIRST + 0x2ea984a6 % MODEL_RULE_PRIORITY_SPAN).toBe(31478);
        expect(modelRulePriority("beta")).toBe(35511);
    });

    test("a model's priority depends on its name only, not on the list or its position", () => {
        const alone = modelRulePriorities(["iris"]);
        const many = modelRulePriorities(["churn", "fraud", "iris"]);
        const reordered = modelRulePriorities(["iris", "fraud", "churn"]);
        expect(many.iris).toBe(alone.iris);
        expect(reordered).toEqual(many);
        expect(new Set(Object.values(many)).size).toBe(3);
    });

    test("two different names with one priority are refused, naming both", () => {
        // Find a real collision in the range (pigeonhole: 40001 names cannot all differ).
        const seen = new Map<number, string>();
        let pair: [string, string] | undefined;
        for (let i = 0; pair === undefined; i++) {
            const n = `m${i}`;
            const p = modelRulePriority(n);
            const other = seen.get(p);
            if (other !== undefined) pair = [other, n];
            seen.set(p, n);
        }
        expect(() => modelRulePriorities(pair)).toThrow(new RegExp(`"${pair[0]}" and "${pair[1]}" get the same load balancer rule priority`));
    });
});

test("path pattern and internal names", () => {
    expect(modelPathPatterns("iris")).toEqual(["/models/iris/*"]);
    expect(trackingNamespaceName("mlflow-Dev_1")).toBe("mlflow-dev-1.internal");
    expect(internalTrackingHost("mlflow-dev.internal")).toBe("mlflow.mlflow-dev.internal");
    // The tracking sidecar's read-only endpoint, not MLflow's own port 5000.
    expect(REGISTRY_READER_PORT).toBe(8082);
    expect(internalTrackingUri("mlflow-dev.internal")).toBe("http://mlflow.mlflow-dev.internal:8082");
    // The supervisor's environment check accepts it.
    expect(() => renderModelServerEnvironment({
        trackingUri: internalTrackingUri("mlflow-dev.internal"), model: { name: "iris", alias: "champion" }, workers: 1, pollSeconds: 30,
    })).not.toThrow();
});

describe("the model sidecar's nginx config", () => {
    const conf = renderModelProxyConfig({
        listenPort: MODEL_PROXY_PORT, model: { name: "iris", alias: "champion" }, htpasswdPath: HTPASSWD_PATH,
        maxUploadSize: "100m", timeoutSeconds: 600, keepAlive,
    });

    test("never on a port the supervisor uses in the same task", () => {
        expect(MODEL_SERVER_PORTS).not.toContain(MODEL_PROXY_PORT);
        for (const port of MODEL_SERVER_PORTS) {
            expect(() => renderModelProxyConfig({
                listenPort: port, model: { name: "iris", alias: "champion" }, htpasswdPath: HTPASSWD_PATH, maxUploadSize: "0", timeoutSeconds: 60, keepAlive,
            })).toThrow(/cannot listen on/);
        }
    });

    test("one upstream: the supervisor's two ports on the task's localhost, the second as backup", () => {
        expect(conf).toContain(`server 127.0.0.1:${MODEL_SERVER_PORTS[0]} max_fails=0;`);
        expect(conf).toContain(`server 127.0.0.1:${MODEL_SERVER_PORTS[1]} max_fails=0 backup;`);
        expect(conf.match(/^upstream /gm)).toHaveLength(1);
        expect(conf).not.toContain("mlflow_tracking");
    });

    test("every location but /health asks for the password; /health never reaches the model", () => {
        const locations = [...conf.matchAll(/location (= )?(\S+) \{([^}]*)\}/g)].map(m => ({ path: m[2], body: m[3] }));
        expect(locations.map(l => l.path)).toEqual(["/health", "/models/iris/invocations", "/models/iris/ping", "/models/iris/health", "/"]);
        for (const l of locations.slice(1)) {
            expect(l.body).toContain('auth_basic "MLflow";');
            expect(l.body).toContain(`auth_basic_user_file ${HTPASSWD_PATH};`);
            expect(l.body).not.toMatch(/\breturn\b/);
        }
        expect(locations[0].body).not.toMatch(/auth_basic|proxy_pass/);
        expect(locations[0].body).toContain('return 200');
        expect(locations[4].body).not.toContain("proxy_pass");
    });

    test("listens on its own port, keeps clients keeps clients longer than the ALB, drops the password", () => {
        expect(conf).toContain(`listen ${MODEL_PROXY_PORT};`);
        expect(conf).toContain(`keepalive_timeout ${keepAlive.proxyClientKeepaliveSeconds}s;`);
        expect(keepAlive.proxyClientKeepaliveSeconds).toBeGreaterThan(keepAlive.loadBalancerIdleSeconds!);
        expect(conf).toContain('proxy_set_header Authorization "";');
        expect(conf).toContain("client_max_body_size 100m;");
        expect(conf).toContain("proxy_read_timeout 600s;");
    });

    test("the realm is sanitised as the tracking proxy's", () => {
        const c = renderModelProxyConfig({
            listenPort: MODEL_PROXY_PORT, model: { name: "iris", alias: "champion" }, htpasswdPath: HTPASSWD_PATH,
            maxUploadSize: "0", timeoutSeconds: 60, keepAlive, realm: 'a"b\\c',
        });
        expect(c).toContain('auth_basic "abc";');
    });
});

describe("model task container definitions", () => {
    const settings = (name: string, alias = "champion"): ModelTaskContainersSettings => ({
        region: "eu-west-1",
        logGroupName: `mlflow-model-${name}-logs`,
        model: { name, alias },
        image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlflow:abc",
        trackingUri: internalTrackingUri("mlflow-dev.internal"),
        workers: 2,
        pollSeconds: 30,
        proxy: { image: "nginx:1.28.0-alpine", port: 8080, config: "server { listen 8080; }", htpasswdSecretArn: HTPASSWD_SECRET, htpasswdVersionId: "v-1" },
        reader: { username: `model-${name.toLowerCase()}`, passwordSecretArn: READER_SECRET, passwordVersionId: "r-7" },
    });
    type Def = Record<string, any>;
    const envOf = (d: Def) => Object.fromEntries((d.environment as { name: string; value: string }[]).map(e => [e.name, e.value]));

    test.each([["iris", "champion"], ["Fraud_v2", "prod"]])("%s@%s: the supervisor then the sidecar, both essential", (name, alias) => {
        const [model, proxy] = renderModelTaskContainers(settings(name, alias)) as Def[];
        expect([model.name, proxy.name]).toEqual([MODEL_CONTAINER, PROXY_CONTAINER]);
        expect([model.essential, proxy.essential]).toEqual([true, true]);
        expect(model.entryPoint).toEqual(SERVE_MODEL_COMMAND);
        expect(envOf(model)).toEqual({
            ...renderModelServerEnvironment({ trackingUri: "http://mlflow.mlflow-dev.internal:8082", model: { name, alias }, workers: 2, pollSeconds: 30 }),
            MLFLOW_TRACKING_USERNAME: `model-${name.toLowerCase()}`,
        });
        expect(model.environment.map((e: { name: string }) => e.name)).toEqual([...model.environment.map((e: { name: string }) => e.name)].sort());
        expect(model.logConfiguration).toEqual({ logDriver: "awslogs", options: { "awslogs-group": `mlflow-model-${name}-logs`, "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "model" } });
        expect(proxy.logConfiguration.options["awslogs-stream-prefix"]).toBe("proxy");
    });

    test("the supervisor: its reader password as the one secret (version-pinned), no port mapping and no health check (ECS would replace it until a model exists)", () => {
        const [model] = renderModelTaskContainers(settings("iris")) as Def[];
        expect(model.secrets).toEqual([{ name: "MLFLOW_TRACKING_PASSWORD", valueFrom: `${READER_SECRET}:::r-7` }]);
        expect(envOf(model).MLFLOW_TRACKING_USERNAME).toBe("model-iris");
        expect(Object.keys(envOf(model)).filter(k => /PASSWORD|HTPASSWD/.test(k))).toEqual([]);
        expect(JSON.stringify(model.environment)).not.toMatch(/secretsmanager/);
        expect(model.portMappings).toBeUndefined();
        expect(model.healthCheck).toBeUndefined();
    });

    test("the sidecar: the only port, the htpasswd by version-pinned ARN only, its own health check, starts after the supervisor", () => {
        const [, proxy] = renderModelTaskContainers(settings("iris")) as Def[];
        expect(proxy.portMappings).toEqual([{ containerPort: 8080, protocol: "tcp" }]);
        expect(proxy.command).toEqual(PROXY_COMMAND);
        expect(proxy.environment).toEqual([{ name: "NGINX_CONF", value: "server { listen 8080; }" }]);
        // No readers' htpasswd and no reader port: the reader endpoint is the tracking sidecar's only.
        expect(proxy.secrets).toEqual([{ name: "HTPASSWD", valueFrom: `${HTPASSWD_SECRET}:::v-1` }]);
        expect(proxy.dependsOn).toEqual([{ containerName: MODEL_CONTAINER, condition: "START" }]);
        expect(proxy.healthCheck.command).toEqual(proxyHealthcheckCommand(8080));
    });

    test("an invalid tracking URI or model is refused (the supervisor's environment check)", () => {
        expect(() => renderModelTaskContainers({ ...settings("iris"), trackingUri: "mlflow:5000" })).toThrow(/trackingUri/);
        expect(() => renderModelTaskContainers(settings("iris", "latest"))).toThrow(/not a servable model/);
    });
});
