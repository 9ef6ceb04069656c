import { DEFAULT_POOL } from "../config/capacity";
import { keepAliveChain } from "../shared/keepalive";
import {
    PROMETHEUS_DIR, renderAllowedHosts, renderBackgroundWorkEnvironment, renderLocalPublicHost, renderLogLevelEnvironment, renderPublicOrigins, renderTrackingServerEnvironment,
    TrackingServerSettings,
} from "./mlflow";

const settings: TrackingServerSettings = {
    port: 5000, workers: 4, artifactBucket: "mlflow-artifacts", s3EndpointUrl: "http://minio:9000", s3Region: "us-east-1",
    allowedHosts: ["localhost"], corsAllowedOrigins: ["http://localhost:5000"], presignedTransfers: false,
};

describe("renderTrackingServerEnvironment", () => {
    const env = renderTrackingServerEnvironment(settings);

    test("uvicorn keeps idle connections longer than nginx's upstream keepalive_timeout", () => {
        expect(env.MLFLOW_UVICORN_OPTS).toBe(`--timeout-keep-alive ${keepAliveChain({ proxyTimeoutSeconds: 3600, loadBalancer: true }).mlflowKeepAliveSeconds} --timeout-worker-healthcheck 60`);
        expect(Number(env.MLFLOW_UVICORN_OPTS.split(" ")[1])).toBeGreaterThan(keepAliveChain({ proxyTimeoutSeconds: 3600, loadBalancer: false }).proxyUpstreamKeepaliveSeconds);
    });

    test("serves artifacts by proxy to the bucket, every transfer through the server", () => {
        expect(env.MLFLOW_SERVE_ARTIFACTS).toBe("true");
        expect(env.MLFLOW_ARTIFACTS_DESTINATION).toBe("s3proxied://mlflow-artifacts/");
        expect(env.MLFLOW_S3_ENDPOINT_URL).toBe("http://minio:9000");
    });

    test("offers presigned transfers only where clients can reach the bucket", () => {
        expect(renderTrackingServerEnvironment({ ...settings, presignedTransfers: true }).MLFLOW_ARTIFACTS_DESTINATION).toBe("s3://mlflow-artifacts/");
    });

    test("listens on all interfaces of its container on the given port", () => {
        expect(env).toMatchObject({ MLFLOW_HOST: "0.0.0.0", MLFLOW_PORT: "5000", MLFLOW_WORKERS: "4" });
    });

    test("keeps the Host check on, listing the public names", () => {
        expect(env.MLFLOW_SERVER_ALLOWED_HOSTS).toBe("localhost,localhost:*");
        expect(env.MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE).toBeUndefined();
        expect(env.MLFLOW_SERVER_CORS_ALLOWED_ORIGINS).toBe("http://localhost:5000");
    });

    test("holds no credentials: those are added by each target as secrets", () => {
        expect(Object.keys(env).filter(k => /PASSWORD|SECRET|ACCESS_KEY|BACKEND_STORE_URI/.test(k))).toEqual([]);
    });

    test("on AWS there is no custom S3 endpoint", () => {
        const aws = renderTrackingServerEnvironment({ ...settings, s3EndpointUrl: undefined, s3Region: "eu-west-1" });
        expect(aws.MLFLOW_S3_ENDPOINT_URL).toBeUndefined();
        expect(aws.AWS_DEFAULT_REGION).toBe("eu-west-1");
    });

    test("a pool that releases idle connections only when asked", () => {
        expect(env.MLFLOW_SQLALCHEMYSTORE_POOLCLASS).toBeUndefined();
        expect(renderTrackingServerEnvironment({ ...settings, releaseIdleConnections: true }).MLFLOW_SQLALCHEMYSTORE_POOLCLASS).toBe("NullPool");
    });

    test.each([
        // releaseIdleConnections, pool, expected POOL_SIZE / MAX_OVERFLOW / POOL_RECYCLE
        [false, undefined, [String(DEFAULT_POOL.poolSize), String(DEFAULT_POOL.maxOverflow), String(DEFAULT_POOL.recycleSeconds)]],
        [false, { poolSize: 4, maxOverflow: 2, recycleSeconds: 100 }, ["4", "2", "100"]],
        // NullPool takes no sizes (SQLAlchemy rejects them)
        [true, { poolSize: 4, maxOverflow: 2, recycleSeconds: 100 }, [undefined, undefined, undefined]],
    ] as const)("pool env with releaseIdleConnections=%s, pool %p", (release, pool, expected) => {
        const e = renderTrackingServerEnvironment({ ...settings, releaseIdleConnections: release, pool });
        expect([e.MLFLOW_SQLALCHEMYSTORE_POOL_SIZE, e.MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW, e.MLFLOW_SQLALCHEMYSTORE_POOL_RECYCLE]).toEqual(expected);
    });

    test("a zero pool size or overflow is refused: MLflow would drop it and use SQLAlchemy's 5/10", () => {
        expect(() => renderTrackingServerEnvironment({ ...settings, pool: { poolSize: 0, maxOverflow: 2, recycleSeconds: 280 } })).toThrow(/at least 1/);
        expect(() => renderTrackingServerEnvironment({ ...settings, pool: { poolSize: 2, maxOverflow: 0, recycleSeconds: 280 } })).toThrow(/at least 1/);
    });

    test("refuses settings MLflow would fail on", () => {
        expect(() => renderTrackingServerEnvironment({ ...settings, artifactBucket: "Bad_Bucket" })).toThrow(/not valid for S3/);
        expect(() => renderTrackingServerEnvironment({ ...settings, allowedHosts: [] })).toThrow(/at least one allowed host/);
    });
});

test.each<[string[], string[]]>([
    [["localhost"], ["localhost", "localhost:*"]],
    [["mlflow.example.com", "10.0.0.5:8443"], ["mlflow.example.com", "mlflow.example.com:*", "10.0.0.5:8443"]],
    [["a", "a"], ["a", "a:*"]],
    [["*.example.com"], ["*.example.com", "*.example.com:*"]],
])("allowed hosts %p render as %p", (hosts, expected) => {
    expect(renderAllowedHosts(hosts)).toEqual(expected);
});

test.each<[string[], "http" | "https", number, string[]]>([
    [["localhost", "127.0.0.1"], "http", 5000, ["http://localhost:5000", "http://127.0.0.1:5000"]],
    [["mlflow.example.com"], "https", 443, ["https://mlflow.example.com"]],
    [["lb-1.elb.amazonaws.com"], "http", 80, ["http://lb-1.elb.amazonaws.com"]],
    [["10.0.0.5:8443"], "https", 443, ["https://10.0.0.5:8443"]],
])("browser origins for %p over %s:%d", (hosts, scheme, port, expected) => {
    expect(renderPublicOrigins(hosts, scheme, port)).toEqual(expected);
});

describe("renderLocalPublicHost: the exported trackingUri's host is one MLflow accepts", () => {
    test.each([
        // bindAddress, allowedHosts, host, allowed hosts MLflow gets
        ["127.0.0.1", ["localhost", "127.0.0.1"], "localhost", ["localhost", "127.0.0.1"]],
        ["0.0.0.0", ["localhost", "127.0.0.1"], "localhost", ["localhost", "127.0.0.1"]],
        ["0.0.0.0", ["mlflow.internal.example.com"], "mlflow.internal.example.com", ["mlflow.internal.example.com"]],
        ["192.168.1.10", ["localhost", "127.0.0.1"], "192.168.1.10", ["localhost", "127.0.0.1", "192.168.1.10"]],
        ["192.168.1.10", ["localhost", "mlflow.lan"], "mlflow.lan", ["localhost", "mlflow.lan"]],
        ["127.0.0.1", ["mlflow.lan"], "mlflow.lan", ["mlflow.lan"]],
        ["0.0.0.0", ["*.example.com", "10.0.0.5:5000"], "localhost", ["*.example.com", "10.0.0.5:5000", "localhost"]],
    ])("bind %s, allowed %j -> %s", (bind, hosts, host, allowed) => {
        expect(renderLocalPublicHost(bind, hosts)).toEqual({ host, allowedHosts: allowed });
    });
});
// MLflow 3.17 turns both on by default; a server that runs them cannot let Aurora pause.
test.each<[string, number, boolean, string, string]>([
    ["Docker: one container, its database never pauses", 1, false, "true", "true"],
    ["AWS, one task, Aurora kept warm (min capacity > 0)", 1, false, "true", "true"],
    ["AWS, one task, Aurora may pause (min capacity 0)", 1, true, "true", "false"],
    ["AWS, several tasks (default maxTasks 3), Aurora may pause", 3, true, "false", "false"],
    ["AWS, several tasks, Aurora kept warm", 2, false, "false", "false"],
])("background work: %s", (_case, maxReplicas, databaseMayPause, jobs, periodic) => {
    expect(renderBackgroundWorkEnvironment({ maxReplicas, databaseMayPause })).toEqual({
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION: jobs,
        MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS: periodic,
    });
});

test.each([
    // maxReplicas, databaseMayPause, jobExecution, job execution, periodic tasks
    [1, false, false, "false", "false"], // a project's server by default: off even as the only replica
    [1, true, false, "false", "false"],
    [1, false, true, "true", "true"], // asked for (projectJobExecution): as without the setting
    [1, true, true, "true", "false"],
    [3, false, false, "false", "false"],
] as const)("background work: %i replicas, database may pause %p, job execution %p", (maxReplicas, databaseMayPause, jobExecution, jobs, periodic) => {
    expect(renderBackgroundWorkEnvironment({ maxReplicas, databaseMayPause, jobExecution })).toEqual({
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION: jobs,
        MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS: periodic,
    });
});

test("background work: job execution on several replicas is refused (a job would run twice)", () => {
    expect(() => renderBackgroundWorkEnvironment({ maxReplicas: 2, databaseMayPause: false, jobExecution: true })).toThrow(/exactly one replica/);
});

test.each([0, -1, 1.5, NaN])("background work: maxReplicas %p is refused", maxReplicas => {
    expect(() => renderBackgroundWorkEnvironment({ maxReplicas, databaseMayPause: false })).toThrow(/maxReplicas must be a whole number/);
});

test.each<[string, Partial<TrackingServerSettings>, Record<string, string>]>([
    ["Docker defaults", {}, { MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "true", MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS: "true", MLFLOW_ENABLE_AI_GATEWAY: "false" }],
    ["AWS defaults (maxTasks 3, min capacity 0)", { maxReplicas: 3, releaseIdleConnections: true },
        { MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false", MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS: "false", MLFLOW_ENABLE_AI_GATEWAY: "false" }],
    ["AWS, one task, paused database", { maxReplicas: 1, releaseIdleConnections: true },
        { MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "true", MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS: "false", MLFLOW_ENABLE_AI_GATEWAY: "false" }],
    ["gateway switched on", { aiGateway: true },
        { MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "true", MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS: "true", MLFLOW_ENABLE_AI_GATEWAY: "true" }],
])("server environment for %s", (_case, overrides, expected) => {
    const env = renderTrackingServerEnvironment({ ...settings, ...overrides });
    expect(env).toMatchObject(expected);
    // The passphrase is a secret: each target adds it, never the shared renderer.
    expect(env.MLFLOW_CRYPTO_KEK_PASSPHRASE).toBeUndefined();
});

describe("renderLogLevelEnvironment", () => {
    test.each([
        ["debug", "DEBUG"], ["info", "INFO"], ["warning", "WARNING"], ["error", "ERROR"],
    ] as const)("%s: MLflow's loggers and uvicorn's at the same level", (level, upper) => {
        expect(renderLogLevelEnvironment(level)).toEqual({ MLFLOW_LOGGING_LEVEL: upper, UVICORN_LOG_LEVEL: level });
    });

    test("refuses anything else, and the server environment carries it only when given", () => {
        expect(() => renderLogLevelEnvironment("verbose" as never)).toThrow(/debug, info, warning or error/);
        const base = { port: 5000, workers: 1, artifactBucket: "b-1", allowedHosts: ["h"], corsAllowedOrigins: [], s3Region: "us-east-1", presignedTransfers: false };
        expect(renderTrackingServerEnvironment(base).MLFLOW_LOGGING_LEVEL).toBeUndefined();
        expect(renderTrackingServerEnvironment({ ...base, logLevel: "warning" })).toMatchObject({ MLFLOW_LOGGING_LEVEL: "WARNING", UVICORN_LOG_LEVEL: "warning" });
        expect(renderTrackingServerEnvironment(base).MLFLOW_EXPOSE_PROMETHEUS).toBe(PROMETHEUS_DIR);
    });
});
