// A project's ECS task (aws target): its three container definitions and the
// init container's statements, rendered by pure functions.
import { renderDatabaseTlsQuery } from "../backendStore/aurora";
import {
    MLFLOW_CONTAINER, PROJECT_INIT_CONTAINER, PROXY_CONTAINER, renderContainerDefinitions, renderEcsMlflowEnvironment, TaskContainersSettings,
} from "./ecs";
import { healthcheckCommand, HEALTHCHECK_COMMAND } from "../trackingServer/mlflow";
import { PROJECT_INIT_COMMAND, renderProjectInitStatements } from "./projects";

const MASTER = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-abc-AbCdEf";
const PROJECT_DB = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mlflow-alpha-db-Q1w2E3";
const PROJECT_HTPASSWD = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:mlflow-alpha-htpasswd-R4t5Y6";

function settings(engine: "mysql" | "postgres", project: string | undefined): TaskContainersSettings {
    return {
        region: "eu-west-1",
        logGroupName: "mlflow-logs",
        mlflow: {
            image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mlflow:abc",
            workers: 2,
            artifactBucket: "mlflow-artifacts-x",
            allowedHosts: ["mlflow.example.com"],
            corsAllowedOrigins: ["https://mlflow.example.com"],
            releaseIdleConnections: true,
            maxReplicas: 2,
        },
        database: {
            engine, host: "db.cluster", port: engine === "mysql" ? 3306 : 5432,
            name: project === undefined ? "mlflow" : `mlflow_${project.replace(/-/g, "_")}`,
            secretArn: project === undefined ? MASTER : PROJECT_DB,
        },
        proxy: { image: "nginx:1.28.0-alpine", port: 8080, config: "server { listen 8080; }", htpasswdSecretArn: PROJECT_HTPASSWD, htpasswdVersionId: "v-9" },
        ...(project === undefined ? {} : { project: { name: project, adminSecretArn: MASTER, clusterDatabase: "mlflow" } }),
    };
}

type Def = Record<string, any>;
const defs = (s: TaskContainersSettings) => renderContainerDefinitions(s) as Def[];
const byName = (d: Def[], name: string) => d.find(c => c.name === name) as Def;
const envOf = (d: Def) => Object.fromEntries((d.environment as { name: string; value: string }[]).map(e => [e.name, e.value]));

describe.each(["mysql", "postgres"] as const)("project team-a's task on %s", engine => {
    const d = defs(settings(engine, "team-a"));
    const mlflow = byName(d, MLFLOW_CONTAINER);
    const init = byName(d, PROJECT_INIT_CONTAINER);
    const proxy = byName(d, PROXY_CONTAINER);

    test("three containers: MLflow, the sidecar, the one-shot init", () => {
        expect(d.map(c => [c.name, c.essential])).toEqual([[MLFLOW_CONTAINER, true], [PROXY_CONTAINER, true], [PROJECT_INIT_CONTAINER, false]]);
    });
    test("MLflow serves under the prefix, stores under projects/team-a/, and waits for the init's SUCCESS", () => {
        const env = envOf(mlflow);
        expect(env.MLFLOW_STATIC_PREFIX).toBe("/projects/team-a");
        expect(env.MLFLOW_ARTIFACTS_DESTINATION).toBe("s3://mlflow-artifacts-x/projects/team-a/");
        expect(env.MLFLOW_DB_NAME).toBe("mlflow_team_a");
        expect(mlflow.dependsOn).toEqual([{ containerName: PROJECT_INIT_CONTAINER, condition: "SUCCESS" }]);
        expect(mlflow.healthCheck.command).toEqual(healthcheckCommand("/projects/team-a"));
        expect(mlflow.healthCheck.command.join(" ")).toContain("/projects/team-a/health");
    });
    test("MLflow gets the project's secret only, and watches no rotation", () => {
        expect(mlflow.secrets).toEqual([
            { name: "MLFLOW_DB_USER", valueFrom: `${PROJECT_DB}:username::` },
            { name: "MLFLOW_DB_PASSWORD", valueFrom: `${PROJECT_DB}:password::` },
        ]);
        expect(JSON.stringify(mlflow)).not.toContain(MASTER);
        expect(envOf(mlflow).MLFLOW_DB_ROTATION_WATCH_ARN).toBeUndefined();
    });
    test("the init container alone gets the master secret, plus the project's password it sets", () => {
        expect(init.image).toBe(mlflow.image);
        expect(init.entryPoint).toEqual(PROJECT_INIT_COMMAND);
        expect(init.secrets).toEqual([
            { name: "MLFLOW_DB_USER", valueFrom: `${MASTER}:username::` },
            { name: "MLFLOW_DB_PASSWORD", valueFrom: `${MASTER}:password::` },
            { name: "MLFLOW_PROJECT_DB_PASSWORD", valueFrom: `${PROJECT_DB}:password::` },
        ]);
        expect(JSON.stringify(proxy)).not.toContain(MASTER);
    });
    test("the init connects like the tracking server (verified TLS) to a database that always exists", () => {
        expect(envOf(init)).toEqual({
            MLFLOW_DB_ENGINE: engine,
            MLFLOW_DB_HOST: "db.cluster",
            MLFLOW_DB_PORT: engine === "mysql" ? "3306" : "5432",
            MLFLOW_DB_NAME: engine === "mysql" ? "mlflow" : "postgres",
            MLFLOW_DB_TLS_QUERY: renderDatabaseTlsQuery(engine),
            MLFLOW_PROJECT_DB_STATEMENTS: JSON.stringify(renderProjectInitStatements(engine, "team-a")),
        });
    });
    test("the sidecar gets the project's htpasswd at its pinned version", () => {
        expect(proxy.secrets).toEqual([{ name: "HTPASSWD", valueFrom: `${PROJECT_HTPASSWD}:::v-9` }]);
    });
});

describe("the server at / is unchanged by the project field's existence", () => {
    test("two containers, rotation watched, health at /health, no dependsOn on MLflow", () => {
        const d = defs(settings("mysql", undefined));
        expect(d.map(c => c.name)).toEqual([MLFLOW_CONTAINER, PROXY_CONTAINER]);
        expect(d[0].healthCheck.command).toEqual(HEALTHCHECK_COMMAND);
        expect(d[0].dependsOn).toBeUndefined();
        expect(renderEcsMlflowEnvironment(settings("mysql", undefined)).MLFLOW_DB_ROTATION_WATCH_ARN).toBe(MASTER);
    });
    test("a project task given the master secret as its own is refused", () => {
        const s = settings("mysql", "alpha");
        expect(() => renderContainerDefinitions({ ...s, database: { ...s.database, secretArn: MASTER } })).toThrow(/not the master secret/);
    });
});

describe("renderProjectInitStatements", () => {
    test("mysql: database, user with a bound password ('%' doubled where bound), grants on its database only", () => {
        expect(renderProjectInitStatements("mysql", "team-a")).toEqual([
            { sql: "CREATE DATABASE IF NOT EXISTS `mlflow_team_a` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin" },
            { sql: "CREATE USER IF NOT EXISTS 'mlflow_team_a'@'%%' IDENTIFIED BY %(password)s", bindsPassword: true },
            { sql: "ALTER USER 'mlflow_team_a'@'%%' IDENTIFIED BY %(password)s", bindsPassword: true },
            {
                sql: "REVOKE ALL PRIVILEGES ON `mlflow_team_a`.* FROM 'mlflow_team_a'@'%'",
                unless: "SELECT 1 FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM mysql.db WHERE Host = '%' AND User = 'mlflow_team_a' AND Db = 'mlflow_team_a')",
            },
            { sql: "GRANT ALL PRIVILEGES ON `mlflow\\_team\\_a`.* TO 'mlflow_team_a'@'%'" },
        ]);
    });
    test("postgres: role, membership for a non-superuser master, owned database, PUBLIC revoked; guarded creates", () => {
        const s = renderProjectInitStatements("postgres", "team-a");
        expect(s.map(x => x.sql)).toEqual([
            'CREATE ROLE "mlflow_team_a" LOGIN',
            'ALTER ROLE "mlflow_team_a" WITH LOGIN PASSWORD %(password)s',
            'GRANT "mlflow_team_a" TO CURRENT_USER',
            `CREATE DATABASE "mlflow_team_a" OWNER "mlflow_team_a" ENCODING 'UTF8' TEMPLATE template0`,
            'REVOKE ALL ON DATABASE "mlflow_team_a" FROM PUBLIC',
        ]);
        expect(s.map(x => x.unless !== undefined)).toEqual([true, false, true, true, false]);
        expect(s[0].unless).toBe("SELECT 1 FROM pg_roles WHERE rolname = 'mlflow_team_a'");
        expect(s.filter(x => x.bindsPassword).length).toBe(1);
    });
    test("no statement holds a secret (they sit in the task definition)", () => {
        for (const engine of ["mysql", "postgres"] as const) {
            expect(JSON.stringify(renderProjectInitStatements(engine, "alpha"))).not.toMatch(/password'|IDENTIFIED BY '/);
        }
    });
    test("a bad name throws", () => {
        expect(() => renderProjectInitStatements("mysql", "Bad")).toThrow(/project name "Bad"/);
    });
});
