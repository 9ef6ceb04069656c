import {
    GC_COMMAND, GC_ENV, GC_FAILED_LINE, GC_HEALTHCHECK_COMMAND, GC_LOOP_SCRIPT, GC_SCRIPT, GC_SERVER_KEYS, GC_STATUS_FILE, renderAwsServerEnvironment, renderGcArgs,
    renderGcContainer, renderGcEnvironment, renderGcScheduleExpression, renderLocalServerEnvironment, renderOlderThan,
} from "./gc";

describe("renderOlderThan / renderGcArgs: MLflow's --older-than in days", () => {
    test.each([[1, "1d"], [30, "30d"], [3650, "3650d"]])("%d days -> %s", (days, text) => {
        expect(renderOlderThan(days)).toBe(text);
        expect(renderGcArgs(text)).toEqual(["--older-than", text]);
    });
    test.each([0, -1, 1.5, NaN])("%p days is refused", days => expect(() => renderOlderThan(days)).toThrow(/whole number of at least 1/));
    test.each(["30", "1h", "2d8h", "30d; rm -rf /", ""])("%p is not a days threshold", t => expect(() => renderGcArgs(t)).toThrow(/<days>d/));
});

describe("renderGcScheduleExpression: EventBridge Scheduler rate(), singular for 1", () => {
    test.each([[1, "rate(1 hour)"], [6, "rate(6 hours)"], [24, "rate(1 day)"], [48, "rate(2 days)"], [36, "rate(36 hours)"], [168, "rate(7 days)"]])(
        "%d h -> %s", (h, e) => expect(renderGcScheduleExpression(h)).toBe(e));
    test.each([0, 2.5])("%p hours is refused", h => expect(() => renderGcScheduleExpression(h)).toThrow(/intervalHours/));
});

const LOCAL = renderLocalServerEnvironment({ artifactBucket: "mlflow-artifacts", s3EndpointUrl: "http://minio:9000" });
const LOCAL_PROJECT = renderLocalServerEnvironment({ artifactBucket: "mlflow-artifacts", s3EndpointUrl: "http://minio:9000", project: { staticPrefix: "/projects/alpha", artifactPrefix: "projects/alpha/" } });
const AWS = renderAwsServerEnvironment({
    region: "eu-west-1", artifactBucket: "b-123", database: { engine: "postgres", host: "db.example", port: 5432, name: "mlflow_alpha" },
    project: { staticPrefix: "/projects/alpha", artifactPrefix: "projects/alpha/" },
});

describe("renderGcEnvironment: the server's artifact and database settings, the schedule, nothing secret", () => {
    test.each<[string, Record<string, string>, boolean, Record<string, string>]>([
        ["Docker, /", LOCAL, true, {
            MLFLOW_ARTIFACTS_DESTINATION: "s3proxied://mlflow-artifacts/", MLFLOW_S3_ENDPOINT_URL: "http://minio:9000", AWS_DEFAULT_REGION: "us-east-1",
            MLFLOW_GC_OLDER_THAN: "30d", MLFLOW_GC_INTERVAL_SECONDS: "86400", MLFLOW_GC_STATUS_FILE: GC_STATUS_FILE, MLFLOW_SQLALCHEMYSTORE_POOLCLASS: "NullPool",
        }],
        ["Docker, a project: its prefix only", LOCAL_PROJECT, true, {
            MLFLOW_ARTIFACTS_DESTINATION: "s3proxied://mlflow-artifacts/projects/alpha/", MLFLOW_S3_ENDPOINT_URL: "http://minio:9000", AWS_DEFAULT_REGION: "us-east-1",
            MLFLOW_GC_OLDER_THAN: "30d", MLFLOW_GC_INTERVAL_SECONDS: "86400", MLFLOW_GC_STATUS_FILE: GC_STATUS_FILE, MLFLOW_SQLALCHEMYSTORE_POOLCLASS: "NullPool",
        }],
        ["AWS, a project: S3, the database's parts, no loop", AWS, false, {
            MLFLOW_ARTIFACTS_DESTINATION: "s3://b-123/projects/alpha/", AWS_DEFAULT_REGION: "eu-west-1",
            MLFLOW_DB_ENGINE: "postgres", MLFLOW_DB_HOST: "db.example", MLFLOW_DB_PORT: "5432", MLFLOW_DB_NAME: "mlflow_alpha", MLFLOW_DB_TLS_QUERY: AWS.MLFLOW_DB_TLS_QUERY,
            MLFLOW_GC_OLDER_THAN: "30d", MLFLOW_SQLALCHEMYSTORE_POOLCLASS: "NullPool",
        }],
    ])("%s", (_, server, loop, expected) => {
        const env = renderGcEnvironment(server, { olderThanDays: 30, intervalHours: 24, loop });
        expect(env).toEqual(expected);
        // Taken from the server's own environment: the same destination, endpoint, region, database.
        for (const k of GC_SERVER_KEYS) expect(env[k]).toBe(server[k]);
        // Nothing of the server's serving settings (hosts, workers, static prefix, AI gateway).
        for (const k of ["MLFLOW_SERVER_ALLOWED_HOSTS", "MLFLOW_WORKERS", "MLFLOW_STATIC_PREFIX", "MLFLOW_DB_UPGRADE", "MLFLOW_ENABLE_AI_GATEWAY"]) expect(env[k]).toBeUndefined();
    });

    test("a server environment with credentials: they are not copied", () => {
        const env = renderGcEnvironment({ ...LOCAL, MLFLOW_BACKEND_STORE_URI: "mysql://u:p@db/x", AWS_SECRET_ACCESS_KEY: "s", MLFLOW_DB_PASSWORD: "p" }, { olderThanDays: 7, intervalHours: 1, loop: true });
        expect(Object.keys(env).filter(k => /URI|SECRET|PASSWORD|KEY_ID|USER/.test(k))).toEqual([]);
        expect(env[GC_ENV.olderThan]).toBe("7d");
        expect(env[GC_ENV.intervalSeconds]).toBe("3600");
    });

    test("a server environment without an artifact destination is refused", () => {
        const rest = Object.fromEntries(Object.entries(LOCAL).filter(([k]) => k !== "MLFLOW_ARTIFACTS_DESTINATION"));
        expect(() => renderGcEnvironment(rest, { olderThanDays: 30, intervalHours: 24, loop: true })).toThrow(/MLFLOW_ARTIFACTS_DESTINATION/);
    });
});

describe("renderGcContainer: the ECS container of the gc task", () => {
    const environment = renderGcEnvironment(AWS, { olderThanDays: 30, intervalHours: 24, loop: false });
    const c = renderGcContainer({ region: "eu-west-1", logGroupName: "lg", image: "repo:tag", environment, databaseSecretArn: "arn:secret" }) as Record<string, unknown>;

    test("one run of the script, the database secret by reference only, logs to the server's group", () => {
        expect(c).toMatchObject({ name: "mlflow-gc", image: "repo:tag", essential: true, entryPoint: GC_COMMAND });
        expect(c.secrets).toEqual([{ name: "MLFLOW_DB_USER", valueFrom: "arn:secret:username::" }, { name: "MLFLOW_DB_PASSWORD", valueFrom: "arn:secret:password::" }]);
        expect(c.logConfiguration).toEqual({ logDriver: "awslogs", options: { "awslogs-group": "lg", "awslogs-region": "eu-west-1", "awslogs-stream-prefix": "mlflow-gc" } });
    });

    test.each(["MLFLOW_DB_PASSWORD", "MLFLOW_BACKEND_STORE_URI", "AWS_SECRET_ACCESS_KEY"])("%s in the plain environment is refused", k => {
        expect(() => renderGcContainer({ region: "r", logGroupName: "l", image: "i", environment: { ...environment, [k]: "x" }, databaseSecretArn: "a" })).toThrow(/as a secret/);
    });
});

describe("the scripts", () => {
    test("the loop runs exactly the one-run script, names its failure line and writes the status the healthcheck reads", () => {
        expect(GC_LOOP_SCRIPT).toContain(`SCRIPT = ${JSON.stringify(GC_SCRIPT)}`);
        expect(GC_LOOP_SCRIPT).toContain(`log(f"run FAILED with exit code {code}`);
        expect(GC_FAILED_LINE).toBe("mlflow-gc: run FAILED with exit code");
        expect(GC_HEALTHCHECK_COMMAND.join(" ")).toContain(GC_ENV.statusFile);
    });
    test("MLflow's gc gets the URI in-process, never on a command line; artifacts go to the server's destination", () => {
        expect(GC_SCRIPT).toContain('gc.main(["--older-than", older, "--backend-store-uri", uri]');
        expect(GC_SCRIPT).toContain('register("mlflow-artifacts", ServerDestination)');
        expect(GC_COMMAND.slice(0, 2)).toEqual(["python", "-c"]);
        expect(GC_SCRIPT).not.toMatch(/subprocess|os\.system|Popen/);
    });
});
