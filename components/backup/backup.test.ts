import { execFileSync } from "child_process";
import {
    ARTIFACT_BACKUP_SCRIPT, BACKUP_DIRS, BACKUP_FAILED_LINE, BACKUP_STATUS_FILE, DATABASE_BACKUP_HEALTHCHECK, renderArtifactBackupEnvironment,
    renderBackupGrantSql, renderDatabaseBackupEnvironment, renderDatabaseBackupScript,
} from "./backup";

describe("renderBackupGrantSql: read-only, on the listed databases only", () => {
    test("MySQL: SELECT, SHOW VIEW, TRIGGER per database, names escaped as GRANT reads them", () => {
        expect(renderBackupGrantSql("mysql", ["mlflow", "mlflow_alpha"]).split("\n")).toEqual([
            "GRANT SELECT, SHOW VIEW, TRIGGER ON `mlflow`.* TO 'mlflow_backup'@'%';",
            "GRANT SELECT, SHOW VIEW, TRIGGER ON `mlflow\\_alpha`.* TO 'mlflow_backup'@'%';",
        ]);
    });
    test("PostgreSQL: pg_read_all_data and CONNECT per database, the password a psql variable", () => {
        const sql = renderBackupGrantSql("postgres", ["mlflow", "mlflow_auth"]);
        expect(sql).toContain("GRANT pg_read_all_data TO %I");
        expect(sql).toContain("NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD %L', :'u', :'pw'");
        expect(sql).toContain("GRANT CONNECT ON DATABASE %I TO %I', 'mlflow_auth', :'u'");
        expect(sql).not.toMatch(/GRANT (ALL|INSERT|UPDATE|DELETE|CREATE)/);
    });
    test.each([[[]], [["Mlflow"]], [["a;b"]], [["mlflow", "mlflow"]], [["x'"]]])("%p is refused", dbs => {
        expect(() => renderBackupGrantSql("mysql", dbs)).toThrow();
    });
});

describe("the environments: schedule, paths, no secrets", () => {
    test("databases", () => {
        expect(renderDatabaseBackupEnvironment({ intervalHours: 24, keep: 7, host: "db", port: 3306, databases: ["mlflow", "mlflow_auth"] })).toEqual({
            BACKUP_DIR: "/backup", BACKUP_KEEP: "7", BACKUP_INTERVAL_SECONDS: "86400", BACKUP_STATUS_FILE: BACKUP_STATUS_FILE,
            BACKUP_DATABASES: "mlflow mlflow_auth", DB_HOST: "db", DB_PORT: "3306", BACKUP_DB_USER: "mlflow_backup",
        });
    });
    test("artifacts: the volume on the image's non-root home", () => {
        expect(renderArtifactBackupEnvironment({ intervalHours: 1, keep: 2, bucket: "b", endpointUrl: "http://minio:9000" })).toEqual({
            BACKUP_DIR: BACKUP_DIRS.artifacts, BACKUP_KEEP: "2", BACKUP_INTERVAL_SECONDS: "3600", BACKUP_STATUS_FILE: BACKUP_STATUS_FILE,
            BACKUP_BUCKET: "b", MLFLOW_S3_ENDPOINT_URL: "http://minio:9000", AWS_DEFAULT_REGION: "us-east-1",
        });
        expect(BACKUP_DIRS.artifacts).toBe("/home/mlflow");
    });
    test.each([[{ intervalHours: 0, keep: 7 }, /intervalHours/], [{ intervalHours: 1.5, keep: 7 }, /intervalHours/], [{ intervalHours: 24, keep: 0 }, /keep/]])(
        "%p is refused", (s, m) => expect(() => renderArtifactBackupEnvironment({ ...s, bucket: "b", endpointUrl: "e" })).toThrow(m));
});

describe("the scripts parse, and name their failure line", () => {
    test.each(["mysql", "postgres"] as const)("%s: sh -n accepts the rendered script; the grant SQL is in it", engine => {
        const script = renderDatabaseBackupScript(engine, ["mlflow", "mlflow_alpha"]);
        execFileSync("sh", ["-n"], { input: script });
        expect(script).toContain(renderBackupGrantSql(engine, ["mlflow", "mlflow_alpha"]));
        expect(script).toContain('log "run FAILED with exit code $code');
        expect(script).not.toContain("__GRANT_SQL__");
    });
    test("MySQL: passwords only in a client options file, never on a command line", () => {
        const script = renderDatabaseBackupScript("mysql", ["mlflow"]);
        expect(script).not.toMatch(/--password|-p"\$/);
        expect(script).toContain('--defaults-extra-file="$c"');
    });
    test("python compiles the artifact script; it copies, never deletes from the bucket", () => {
        execFileSync("python3", ["-c", "import sys; compile(sys.stdin.read(), 'backup-artifacts.py', 'exec')"], { input: ARTIFACT_BACKUP_SCRIPT });
        expect(ARTIFACT_BACKUP_SCRIPT).not.toMatch(/delete_object|delete_objects|os\.remove|shutil\.rmtree/);
        expect(ARTIFACT_BACKUP_SCRIPT).toContain('log(f"run FAILED with exit code {code}');
    });
    test("the failure line and the healthcheck", () => {
        expect(BACKUP_FAILED_LINE).toBe("mlflow-backup: run FAILED with exit code");
        expect(DATABASE_BACKUP_HEALTHCHECK.join(" ")).toContain("BACKUP_STATUS_FILE");
    });
});
