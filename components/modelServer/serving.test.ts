import { HTPASSWD_PATH, renderProxyConfig } from "../authProxy/nginx";
import {
    MODEL_SERVER_PORTS, modelInvocationUrl, modelServerHost, modelSlug, parseServedModel, proxyModelLabels, renderModelLocations,
    READER_PASSWORD_ENV, renderModelServerEnvironment, renderModelServerSecretEnvironment, renderModelUpstreams,
} from "./serving";

const base = { listenPort: 8080, upstream: "mlflow:5000", maxUploadSize: "5g", timeoutSeconds: 3600, htpasswdPath: HTPASSWD_PATH };
const routes = [
    { name: "churn", host: modelServerHost("churn") },
    { name: "Fraud.Detector_v2", host: modelServerHost("Fraud.Detector_v2") },
];

describe("parseServedModel", () => {
    test.each([
        ["churn", { name: "churn", alias: "champion" }],
        ["churn@challenger", { name: "churn", alias: "challenger" }],
        ["Fraud.Detector_v2@prod-eu", { name: "Fraud.Detector_v2", alias: "prod-eu" }],
        ["", undefined],
        ["@champion", undefined],
        ["churn@", undefined],
        ["churn@latest", undefined],
        ["churn@v3", undefined],
        ["my model", undefined],
        ["a/b", undefined],
        ["-lead", undefined],
        ["churn@a@b", undefined],
        ["x".repeat(65), undefined],
    ])("%j -> %j", (entry, expected) => {
        expect(parseServedModel(entry)).toEqual(expected);
    });
});

test.each([
    ["churn", "churn", "model-churn"],
    ["Fraud.Detector_v2", "fraud-detector-v2", "model-fraud-detector-v2"],
])("slug and host of %s", (name, slug, host) => {
    expect(modelSlug(name)).toBe(slug);
    expect(modelServerHost(name)).toBe(host);
});

test("invocation URL under the proxy's base URL", () => {
    expect(modelInvocationUrl("http://localhost:5000", "churn")).toBe("http://localhost:5000/models/churn/invocations");
    expect(modelInvocationUrl("https://ml.example.com/", "churn")).toBe("https://ml.example.com/models/churn/invocations");
});

describe("proxy config with served models", () => {
    const conf = renderProxyConfig({ ...base, models: routes });

    test("without models (undefined or empty) the proxy config is exactly today's", () => {
        expect(renderProxyConfig({ ...base, models: [] })).toBe(renderProxyConfig(base));
        expect(conf).not.toBe(renderProxyConfig(base));
    });

    test("one upstream per model: the first supervisor port, the second as backup, never marked failed, no kept connections", () => {
        const up = /upstream mlflow_model_fraud_detector_v2 \{([^}]*)\}/.exec(conf)![1];
        expect(up.trim().split("\n").map(l => l.trim())).toEqual([
            `server model-fraud-detector-v2:${MODEL_SERVER_PORTS[0]} max_fails=0;`,
            `server model-fraud-detector-v2:${MODEL_SERVER_PORTS[1]} max_fails=0 backup;`,
        ]);
        expect(conf).toContain("upstream mlflow_model_churn {");
        expect(up).not.toContain("keepalive");
    });

    test("exact locations for invocations, ping and health, each authenticated, each with an explicit upstream URI", () => {
        const locations = [...conf.matchAll(/location ([^{]+) \{([^}]*)\}/g)];
        expect(locations.map(m => m[1])).toEqual([
            "= /health",
            "= /models/churn/invocations", "= /models/churn/ping", "= /models/churn/health",
            "= /models/Fraud.Detector_v2/invocations", "= /models/Fraud.Detector_v2/ping", "= /models/Fraud.Detector_v2/health",
            "/",
        ]);
        for (const [, match, body] of locations.slice(1, -1)) {
            expect(body).toContain('auth_basic "MLflow";');
            expect(body).toContain(`auth_basic_user_file ${HTPASSWD_PATH};`);
            const endpoint = match.split("/").pop();
            expect(body).toMatch(new RegExp(`proxy_pass http://mlflow_model_[a-z0-9_]+/${endpoint};`));
            expect(body).not.toContain("return");
            // Only a prediction (no side effects) is passed on after the request was sent; never after a timeout.
            expect([match, body.includes("proxy_next_upstream error non_idempotent;")]).toEqual([match, endpoint === "invocations"]);
            // ... which nginx can do only with the body buffered (the server block turns buffering off for artifacts).
            expect([match, body.includes("proxy_request_buffering on;")]).toEqual([match, endpoint === "invocations"]);
        }
        // The open /health map entry still matches only the exact raw /health.
        expect(conf).not.toMatch(/models[^\n]*off;/);
    });

    test("names that would collide once lower-cased, or unsafe names and hosts, are refused", () => {
        expect(() => renderModelUpstreams([{ name: "A", host: "model-a" }, { name: "a", host: "model-a" }])).toThrow(/share the name/);
        expect(() => renderModelLocations([{ name: "a b", host: "model-a" }], { realm: "MLflow", htpasswdPath: HTPASSWD_PATH })).toThrow(/names must match/);
        expect(() => renderModelUpstreams([{ name: "a", host: "model-a;evil" }])).toThrow(/host name/);
    });
});

describe("renderModelServerEnvironment", () => {
    const settings = { trackingUri: "http://mlflow:5000", model: { name: "churn", alias: "champion" }, workers: 2, pollSeconds: 30 };

    test("the supervisor's settings, the tracking server's internal address and no credentials", () => {
        expect(renderModelServerEnvironment(settings)).toEqual({
            MLFLOW_TRACKING_URI: "http://mlflow:5000",
            MLFLOW_SERVE_MODEL_NAME: "churn",
            MLFLOW_SERVE_MODEL_ALIAS: "champion",
            MLFLOW_SERVE_HOST: "0.0.0.0",
            MLFLOW_SERVE_PORTS: "8080,8081",
            MLFLOW_SERVE_POLL_SECONDS: "30",
            MLFLOW_MODELS_WORKERS: "2",
        });
    });

    test("with a reader account: the user name beside the reader endpoint, never the password", () => {
        const env = renderModelServerEnvironment({ ...settings, trackingUri: "http://mlflow-registry:8082", readerUsername: "model-churn" });
        expect(env).toEqual({ ...renderModelServerEnvironment(settings), MLFLOW_TRACKING_URI: "http://mlflow-registry:8082", MLFLOW_TRACKING_USERNAME: "model-churn" });
        expect(Object.keys(env).filter(k => /PASSWORD|SECRET/.test(k))).toEqual([]);
    });

    test("the password goes only into the secret environment, under the MLflow client's variable", () => {
        expect(renderModelServerSecretEnvironment("s3cr:et@")).toEqual({ MLFLOW_TRACKING_PASSWORD: "s3cr:et@" });
        expect(READER_PASSWORD_ENV).toBe("MLFLOW_TRACKING_PASSWORD");
        expect(() => renderModelServerSecretEnvironment("")).toThrow(/empty/);
    });

    test.each([
        [{ trackingUri: "mlflow:5000" }, /trackingUri/],
        [{ trackingUri: "http://user:pw@mlflow:5000" }, /trackingUri/],
        [{ model: { name: "churn", alias: "latest" } }, /servable/],
        [{ workers: 0 }, /workers/],
        [{ pollSeconds: 1.5 }, /pollSeconds/],
        [{ readerUsername: "a:b" }, /readerUsername/],
        [{ readerUsername: "" }, /readerUsername/],
    ])("refuses %j", (bad, message) => {
        expect(() => renderModelServerEnvironment({ ...settings, ...bad })).toThrow(message);
    });
});

test("proxy labels carry each model container's id (labels force the proxy's replacement)", () => {
    expect(proxyModelLabels(routes, ["id-1", "id-2"])).toEqual([
        { label: "mlflow-platform.model-container.churn", value: "id-1" },
        { label: "mlflow-platform.model-container.fraud-detector-v2", value: "id-2" },
    ]);
    expect(() => proxyModelLabels(routes, ["id-1"])).toThrow(/2 model routes but 1/);
    expect(() => proxyModelLabels(routes, ["id-1", ""])).toThrow(/empty/);
});
