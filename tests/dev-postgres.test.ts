// The dev stack with `backend: postgres`, evaluated under mocks.
import { DB_FILES, renderDatabaseFiles } from "../components/backendStore/database";
import { envRecord, ProgramRun, runProgram } from "./harness";
import { containerByRole, describeLocalStackInvariants, T } from "./localInvariants";
import { committedUrnSet, urnSet } from "./urnSets";

let run: ProgramRun;
beforeAll(async () => {
    run = await runProgram({ stack: "dev", config: { target: "local", backend: "postgres", hostPort: "5000", bindAddress: "127.0.0.1" } });
});

describeLocalStackInvariants(() => run);

test("reports the PostgreSQL engine", () => {
    expect(run.outputs.backendEngine).toBe("postgres");
});

test("PostgreSQL with an application role created by the rendered init script", () => {
    const db = containerByRole(run, "backend-store");
    const env = envRecord(db.inputs.envs);
    expect(run.one(T.remoteImage, /backend-image$/).inputs.name).toBe("postgres:16.10-bookworm");
    expect(env).toMatchObject({ POSTGRES_USER: "postgres", MLFLOW_DB_USER: "mlflow", MLFLOW_DB_NAME: "mlflow" });
    expect(env.MLFLOW_DB_PASSWORD).not.toBe(env.POSTGRES_PASSWORD);
    expect(db.inputs.uploads).toEqual(renderDatabaseFiles("postgres", { database: "mlflow", username: "mlflow", appPassword: "", adminPassword: "" }));
    expect(db.inputs.uploads.map((u: { file: string }) => u.file)).toContain("/docker-entrypoint-initdb.d/10-mlflow.sh");
    // The wrapper reconciles the passwords at every start, so a kept volume takes this deploy's.
    expect(db.inputs.entrypoints).toEqual([DB_FILES.entrypoint]);
    expect(db.inputs.volumes[0].containerPath).toBe("/var/lib/postgresql/data");
    expect(db.inputs.healthcheck.tests).toEqual(["CMD", "pg_isready", "--host=127.0.0.1", "--username=mlflow", "--dbname=mlflow"]);
});

test("MLflow connects with psycopg2 as the application role, password URL-encoded", () => {
    const db = envRecord(containerByRole(run, "backend-store").inputs.envs);
    const uri = new URL(envRecord(containerByRole(run, "tracking-server").inputs.envs).MLFLOW_BACKEND_STORE_URI);
    expect(uri.protocol).toBe("postgresql+psycopg2:");
    expect([uri.username, uri.hostname, uri.port, uri.pathname]).toEqual(["mlflow", "db", "5432", "/mlflow"]);
    expect(decodeURIComponent(uri.password)).toBe(db.MLFLOW_DB_PASSWORD);
    expect(decodeURIComponent(uri.password)).not.toBe(db.POSTGRES_PASSWORD);
});

test("the URNs are the committed ones: an existing dev stack sees no replacement", () => {
    expect(urnSet(run)).toEqual(committedUrnSet("dev-postgres", run));
});
