import {
    buildPlatform, executionRolePolicy, keyValues, MLFLOW_CONTAINER, PROXY_COMMAND, PROXY_COMMAND_WITH_READERS, PROXY_CONTAINER, renderContainerDefinitions,
    renderEcsMlflowEnvironment, rotationWatchPolicy, TaskContainersSettings, proxyCommand, PROXY_TOKEN_INCLUDE_ENV, renderAuthInitContainer,
} from "./ecs";
import { PROXY_TOKEN_INCLUDE_PATH, renderProxyTokenInclude } from "../authProxy/identity";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { READER_HTPASSWD_PATH, REGISTRY_READER_PORT } from "../authProxy/registryReader";
import { MLFLOW_PORT, renderTrackingServerEnvironment } from "../trackingServer/mlflow";
import { renderDatabaseTlsQuery } from "../backendStore/aurora";

const DB_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-abc-AbCdEf";
const HTPASSWD_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:htpasswd-XyZ";
const KEK_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gateway-kek-QwErTy";

function settings(over: {
    engine?: "mysql" | "postgres"; port?: number; releaseIdleConnections?: boolean; proxyPort?: number; maxReplicas?: number; kekSecretArn?: string;
} = {}): TaskContainersSettings {
    return {
        region: "eu-west-1",
        logGroupName: "mlflow-logs",
        mlflow: {
            image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlflow:3.17.2-abc",
            workers: 4,
            artifactBucket: "mlflow-artifacts-x",
            allowedHosts: ["mlflow.example.com"],
            corsAllowedOrigins: ["https://mlflow.example.com"],
            releaseIdleConnections: over.releaseIdleConnections ?? true,
            maxReplicas: over.maxReplicas ?? 3,
            ...(over.kekSecretArn === undefined ? {} : { aiGatewayKekSecretArn: over.kekSecretArn }),
        },
        database: { engine: over.engine ?? "mysql", host: "db.cluster", port: over.port ?? 3306, name: "mlflow", secretArn: DB_SECRET },
        proxy: { image: "nginx:1.28.0-alpine", port: over.proxyPort ?? 8080, config: "server { listen 8080; }", htpasswdSecretArn: HTPASSWD_SECRET, htpasswdVersionId: "v-1234" },
    };
}

type Def = Record<string, any>;
const defs = (s: TaskContainersSettings) => renderContainerDefinitions(s) as Def[];
const envOf = (d: Def) => Object.fromEntries((d.environment as { name: string; value: string }[]).map(e => [e.name, e.value]));

describe.each<[string, TaskContainersSettings, Record<string, string>]>([
    ["mysql, auto-pausing", settings(), { MLFLOW_DB_ENGINE: "mysql", MLFLOW_DB_PORT: "3306" }],
    ["postgres, always on", settings({ engine: "postgres", port: 5432, releaseIdleConnections: false }), { MLFLOW_DB_ENGINE: "postgres", MLFLOW_DB_PORT: "5432" }],
])("container definitions for %s", (_label, s, expectedEnv) => {
    test("MLflow then the proxy, both essential, each logging under its own prefix", () => {
        const [mlflow, proxy] = defs(s);
        expect([mlflow.name, proxy.name]).toEqual([MLFLOW_CONTAINER, PROXY_CONTAINER]);
        expect([mlflow.essential, proxy.essential]).toEqual([true, true]);
        expect(mlflow.logConfiguration).toEqual({ logDriver: "awslogs", options: { "awslogs-group": "mlflow-logs", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "mlflow" } });
        expect(proxy.logConfiguration.options["awslogs-stream-prefix"]).toBe("proxy");
    });

    test("database credentials arrive as secret references; the environment holds the rest of the URI", () => {
        const [mlflow] = defs(s);
        expect(mlflow.secrets).toEqual([
            { name: "MLFLOW_DB_USER", valueFrom: `${DB_SECRET}:username::` },
            { name: "MLFLOW_DB_PASSWORD", valueFrom: `${DB_SECRET}:password::` },
        ]);
        expect(envOf(mlflow)).toMatchObject({ ...expectedEnv, MLFLOW_DB_HOST: "db.cluster", MLFLOW_DB_NAME: "mlflow", MLFLOW_DB_ROTATION_WATCH_ARN: DB_SECRET });
        expect(Object.keys(envOf(mlflow)).filter(k => /PASSWORD|SECRET_ACCESS/.test(k))).toEqual([]);
    });

    test("the proxy is the only port, starts after MLflow is healthy, gets htpasswd as a secret", () => {
        const [mlflow, proxy] = defs(s);
        expect(mlflow.portMappings).toBeUndefined();
        expect(proxy.portMappings).toEqual([{ containerPort: 8080, protocol: "tcp" }]);
        expect(proxy.dependsOn).toEqual([{ containerName: MLFLOW_CONTAINER, condition: "HEALTHY" }]);
        // The version id is named: a changed htpasswd line changes the task definition.
        expect(proxy.secrets).toEqual([{ name: "HTPASSWD", valueFrom: `${HTPASSWD_SECRET}:::v-1234` }]);
        expect(proxy.command).toBe(PROXY_COMMAND);
        expect(envOf(proxy)).toEqual({ NGINX_CONF: "server { listen 8080; }" });
    });

    test("environment entries are sorted, so the task definition only changes when a value does", () => {
        for (const d of defs(s)) {
            const names = (d.environment as { name: string }[]).map(e => e.name);
            expect(names).toEqual([...names].sort());
        }
    });
});

test.each([true, false])("the environment is the shared one (presigned S3 transfers, region, pool %s) plus the database parts", release => {
    const s = settings({ releaseIdleConnections: release });
    const shared = renderTrackingServerEnvironment({
        port: MLFLOW_PORT, workers: 4, artifactBucket: "mlflow-artifacts-x", allowedHosts: ["mlflow.example.com"],
        corsAllowedOrigins: ["https://mlflow.example.com"], s3Region: "eu-west-1", releaseIdleConnections: release, presignedTransfers: true,
        maxReplicas: 3,
    });
    const env = renderEcsMlflowEnvironment(s);
    expect(env).toMatchObject(shared);
    expect(Object.keys(env).filter(k => !(k in shared)).sort()).toEqual([
        "MLFLOW_DB_ENGINE", "MLFLOW_DB_HOST", "MLFLOW_DB_NAME", "MLFLOW_DB_PORT", "MLFLOW_DB_ROTATION_CHECK_SECONDS", "MLFLOW_DB_ROTATION_WATCH_ARN",
        "MLFLOW_DB_TLS_QUERY",
    ]);
});

test.each<["mysql" | "postgres"]>([["mysql"], ["postgres"]])("%s: verified TLS to the database, by the engine's URI query", engine => {
    expect(renderEcsMlflowEnvironment(settings({ engine })).MLFLOW_DB_TLS_QUERY).toBe(renderDatabaseTlsQuery(engine));
});

test.each<[string, string | undefined, Record<string, string>]>([
    ["no readers", undefined, {}],
    ["a reader endpoint", "db.cluster-ro", { MLFLOW_DB_READER_HOST: "db.cluster-ro" }],
])("%s: the reader host beside the writer's parts, and nothing else changes", (_label, readerHost, added) => {
    const base = settings();
    const env = renderEcsMlflowEnvironment({ ...base, database: { ...base.database, ...(readerHost === undefined ? {} : { readerHost }) } });
    expect(env).toEqual({ ...renderEcsMlflowEnvironment(base), ...added });
    // Both defs carry no credential: the entrypoint composes both URIs from the same secrets.
    const mlflow = defs({ ...base, database: { ...base.database, ...(readerHost === undefined ? {} : { readerHost }) } }).find(d => d.name === "mlflow")!;
    expect(mlflow.secrets).toEqual(defs(base).find(d => d.name === "mlflow")!.secrets);
});

test.each<[number, string, string]>([
    [1, "true", "false"],
    [3, "false", "false"],
])("maxReplicas %d: job execution %s, periodic tasks %s (an auto-pausing database)", (maxReplicas, jobs, periodic) => {
    const env = renderEcsMlflowEnvironment(settings({ maxReplicas }));
    expect([env.MLFLOW_SERVER_ENABLE_JOB_EXECUTION, env.MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS]).toEqual([jobs, periodic]);
});

describe("the AI Gateway", () => {
    test("off without a passphrase secret: no KEK reference, the gateway says so", () => {
        const [mlflow] = defs(settings());
        expect(envOf(mlflow).MLFLOW_ENABLE_AI_GATEWAY).toBe("false");
        expect((mlflow.secrets as { name: string }[]).map(x => x.name)).not.toContain("MLFLOW_CRYPTO_KEK_PASSPHRASE");
    });

    test("on with one: the passphrase arrives as a secret reference, never in the environment", () => {
        const [mlflow] = defs(settings({ kekSecretArn: KEK_SECRET }));
        expect(envOf(mlflow).MLFLOW_ENABLE_AI_GATEWAY).toBe("true");
        expect(mlflow.secrets).toContainEqual({ name: "MLFLOW_CRYPTO_KEK_PASSPHRASE", valueFrom: KEK_SECRET });
        expect(Object.values(envOf(mlflow))).not.toContain(KEK_SECRET);
    });
});

test("the proxy healthcheck follows the proxy port", () => {
    const proxy = defs(settings({ proxyPort: 9090 }))[1];
    expect(proxy.healthCheck.command.join(" ")).toContain("9090");
    expect(proxy.portMappings).toEqual([{ containerPort: 9090, protocol: "tcp" }]);
});

test("the proxy command names variables only, never values", () => {
    expect(PROXY_COMMAND.join(" ")).not.toMatch(/server \{|\$2[aby]\$/);
    expect(PROXY_COMMAND.join(" ")).toContain("$HTPASSWD");
});

describe("the tracking sidecar with the model servers' readers (served models)", () => {
    const READERS_SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:readers-htpasswd-QqQ";
    const withReaders = (): TaskContainersSettings => {
        const s = settings();
        return { ...s, proxy: { ...s.proxy, readers: { port: REGISTRY_READER_PORT, htpasswdSecretArn: READERS_SECRET, htpasswdVersionId: "rv-9" } } };
    };

    test("listens on the reader port too and gets the readers' htpasswd as a second version-pinned secret", () => {
        const proxy = defs(withReaders())[1];
        expect(proxy.portMappings).toEqual([{ containerPort: 8080, protocol: "tcp" }, { containerPort: 8082, protocol: "tcp" }]);
        expect(proxy.secrets).toEqual([
            { name: "HTPASSWD", valueFrom: `${HTPASSWD_SECRET}:::v-1234` },
            { name: "READERS_HTPASSWD", valueFrom: `${READERS_SECRET}:::rv-9` },
        ]);
        expect(proxy.command).toBe(PROXY_COMMAND_WITH_READERS);
        // Everything else as without readers; the health check stays on the main port.
        const plain = defs(settings())[1];
        const strip = (d: Def) => ({ ...d, portMappings: undefined, secrets: undefined, command: undefined });
        expect(strip(proxy)).toEqual(strip(plain));
        expect(defs(withReaders())[0]).toEqual(defs(settings())[0]);
    });

    test("without readers the sidecar is exactly as before: one port, one secret, the old command", () => {
        const proxy = defs(settings())[1];
        expect(proxy.portMappings).toEqual([{ containerPort: 8080, protocol: "tcp" }]);
        expect(proxy.secrets.map((x: { name: string }) => x.name)).toEqual(["HTPASSWD"]);
        expect(proxy.command).toBe(PROXY_COMMAND);
    });

    test("the command writes the three files from the environment, byte for byte, then execs nginx", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidecar-"));
        fs.mkdirSync(path.join(dir, "conf.d"));
        // The same script against a scratch /etc/nginx, with `nginx` replaced by a marker.
        const script = PROXY_COMMAND_WITH_READERS[2].split("/etc/nginx").join(dir).replace("exec nginx -g 'daemon off;'", "echo started");
        expect(script).not.toBe(PROXY_COMMAND_WITH_READERS[2]);
        const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", NGINX_CONF: "server { listen 8080; }\n", HTPASSWD: "admin:$6$x$y\n", READERS_HTPASSWD: "model-a:$6$a$b\nmodel-b:$6$c$d\n" };
        const out = execFileSync(PROXY_COMMAND_WITH_READERS[0], [PROXY_COMMAND_WITH_READERS[1], script], { env }).toString();
        expect(out).toBe("started\n");
        expect(fs.readFileSync(path.join(dir, "conf.d", "default.conf"), "utf8")).toBe(env.NGINX_CONF);
        expect(fs.readFileSync(path.join(dir, "mlflow.htpasswd"), "utf8")).toBe(env.HTPASSWD);
        expect(fs.readFileSync(path.join(dir, path.basename(READER_HTPASSWD_PATH)), "utf8")).toBe(env.READERS_HTPASSWD);
        expect(path.dirname(READER_HTPASSWD_PATH)).toBe("/etc/nginx");
        expect(PROXY_COMMAND_WITH_READERS[2].startsWith(PROXY_COMMAND[2].replace(" && exec nginx -g 'daemon off;'", ""))).toBe(true);
        fs.rmSync(dir, { recursive: true, force: true });
    });
});

test.each<["X86_64" | "ARM64", string]>([["X86_64", "linux/amd64"], ["ARM64", "linux/arm64"]])("%s builds for %s", (arch, platform) => {
    expect(buildPlatform(arch)).toBe(platform);
});

test("keyValues sorts by name", () => {
    expect(keyValues({ b: "2", a: "1" })).toEqual([{ name: "a", value: "1" }, { name: "b", value: "2" }]);
});

test("the execution role reads exactly the given secrets; the task role only describes the database secret", () => {
    const exec = executionRolePolicy({ repositoryArn: "arn:repo", logGroupArn: "arn:logs", secretArns: [DB_SECRET, HTPASSWD_SECRET] });
    expect(exec.Statement.find(st => st.Sid === "Secrets")).toMatchObject({ Action: ["secretsmanager:GetSecretValue"], Resource: [DB_SECRET, HTPASSWD_SECRET] });
    expect(rotationWatchPolicy(DB_SECRET).Statement).toEqual([expect.objectContaining({ Action: ["secretsmanager:DescribeSecret"], Resource: [DB_SECRET] })]);
});

describe("the sidecar with team accounts", () => {
    test("the command also writes the token's include, byte for byte, from its secret variable", () => {
        const cmd = proxyCommand({ readers: false, identity: true });
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "sidecar-id-"));
        fs.mkdirSync(path.join(dir, "conf.d"));
        const script = cmd[2].split("/etc/nginx").join(dir).replace("exec nginx -g 'daemon off;'", "echo started");
        const include = renderProxyTokenInclude("a".repeat(48));
        const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", NGINX_CONF: "server {}\n", HTPASSWD: "admin:$6$x$y\n", [PROXY_TOKEN_INCLUDE_ENV]: include };
        expect(execFileSync(cmd[0], [cmd[1], script], { env }).toString()).toBe("started\n");
        expect(fs.readFileSync(path.join(dir, path.basename(PROXY_TOKEN_INCLUDE_PATH)), "utf8")).toBe(include);
        expect(path.dirname(PROXY_TOKEN_INCLUDE_PATH)).toBe("/etc/nginx");
        fs.rmSync(dir, { recursive: true, force: true });
    });

    test("without identity the commands are the ones before accounts", () => {
        expect(proxyCommand({ readers: false, identity: false })).toEqual(PROXY_COMMAND);
        expect(proxyCommand({ readers: true, identity: false })).toEqual(PROXY_COMMAND_WITH_READERS);
    });

    test("the auth init belongs to the task at / only", () => {
        expect(() => renderAuthInitContainer({ region: "eu-west-1" } as TaskContainersSettings)).toThrow(/task at \//);
    });
});
