// Scheduled backups on the local target (components/backup), under mocks: a one-shot container
// creating the read-only backup user, a dump loop in the database server's own image, a read-only
// MinIO identity and an artifact copy loop in the MLflow image, each loop on a volume kept on
// destroy; every database of the stack listed; off: nothing else changes.
import { ProgramRun, runProgram } from "./harness";
import { ARTIFACT_BACKUP_HEALTHCHECK, DATABASE_BACKUP_HEALTHCHECK } from "../components/backup/backup";

const DEV = { target: "local", backend: "postgres", projects: JSON.stringify(["alpha", "beta-2:bob"]), users: JSON.stringify([{ name: "alice", role: "editor" }]) };
const CONTAINER = "docker:index/container:Container";

let on: ProgramRun;
let off: ProgramRun;
let plain: ProgramRun;
beforeAll(async () => {
    on = await runProgram({ stack: "dev", config: { ...DEV, backupIntervalHours: "6", backupKeep: "3" } });
    off = await runProgram({ stack: "dev", config: { ...DEV, backupEnabled: "false" } });
    plain = await runProgram({ stack: "dev", config: { target: "local", backend: "mysql" } });
}, 180000);

const envOf = (r: ProgramRun, name: string): Record<string, string> =>
    Object.fromEntries((r.one(CONTAINER, new RegExp(`^${name}$`)).inputs.envs as string[]).map(e => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));

test("every database of the stack is dumped, by the read-only user, in the database server's image, on a kept volume", () => {
    const loop = on.one(CONTAINER, /^mlflow-dev-backup-databases-container$/);
    const db = on.one(CONTAINER, /^mlflow-dev-backend-db$/);
    // The database server's own image: the same pinned tag, pulled for the backup.
    const pulled = on.one("docker:index/remoteImage:RemoteImage", /^mlflow-dev-backup-db-image$/);
    expect(pulled.inputs.name).toBe(on.one("docker:index/remoteImage:RemoteImage", /^mlflow-dev-backend-image$/).inputs.name);
    expect(pulled.inputs.name).toMatch(/^postgres:16/);
    expect(loop.inputs.image).toBe(on.one(CONTAINER, /^mlflow-dev-backup-grant$/).inputs.image);
    expect(loop.inputs).toMatchObject({ entrypoints: ["/bin/sh"], command: ["/opt/mlflow-backup/backup-db.sh", "loop"], restart: "unless-stopped" });
    expect(loop.inputs.healthcheck.tests).toEqual(DATABASE_BACKUP_HEALTHCHECK);
    const env = envOf(on, "mlflow-dev-backup-databases-container");
    expect(env).toMatchObject({ BACKUP_DATABASES: "mlflow mlflow_alpha mlflow_beta_2 mlflow_auth", BACKUP_DB_USER: "mlflow_backup", BACKUP_KEEP: "3", BACKUP_INTERVAL_SECONDS: "21600", DB_HOST: "db" });
    expect(env.DB_ADMIN_PASSWORD).toBeUndefined();
    expect(loop.secretInputs).toContain("envs");
    const grant = envOf(on, "mlflow-dev-backup-grant");
    expect(grant.DB_ADMIN_PASSWORD).toBe(envOf(on, "mlflow-dev-backend-db").POSTGRES_PASSWORD);
    expect(grant.BACKUP_DB_PASSWORD).toBe(env.BACKUP_DB_PASSWORD);
    expect(on.one(CONTAINER, /^mlflow-dev-backup-grant$/).inputs).toMatchObject({ command: ["/opt/mlflow-backup/backup-db.sh", "grant"], restart: "no" });
    const volume = on.one("docker:index/volume:Volume", /^mlflow-dev-backup-databases$/);
    expect(volume.options.retainOnDelete).toBe(true);
    expect(loop.inputs.volumes).toEqual([{ volumeName: "mlflow-dev-backup-databases", containerPath: "/backup" }]);
    // Not the database server's data volume.
    expect(db.inputs.volumes[0].volumeName).not.toBe("mlflow-dev-backup-databases");
});

test("the artifact copy runs the MLflow image with a read-only identity of its own on a kept volume", () => {
    const copy = on.one(CONTAINER, /^mlflow-dev-backup-artifacts-container$/);
    const server = on.one(CONTAINER, /^mlflow-dev-tracking-mlflow$/);
    expect(copy.inputs).toMatchObject({ image: server.inputs.image, entrypoints: ["python", "/opt/mlflow-backup/backup-artifacts.py", "loop"] });
    expect(copy.inputs.healthcheck.tests).toEqual(ARTIFACT_BACKUP_HEALTHCHECK);
    const env = envOf(on, "mlflow-dev-backup-artifacts-container");
    expect(env).toMatchObject({ AWS_ACCESS_KEY_ID: "mlflow-backup", BACKUP_BUCKET: "mlflow-artifacts", MLFLOW_S3_ENDPOINT_URL: "http://minio:9000" });
    expect(env.AWS_SECRET_ACCESS_KEY).not.toBe(envOf(on, "mlflow-dev-tracking-mlflow").AWS_SECRET_ACCESS_KEY);
    const init = on.one(CONTAINER, /^mlflow-dev-backup-identity-mc$/);
    const script = (init.inputs.uploads as Array<{ content: string }>)[0].content;
    const policy = JSON.parse(/<<'POLICY'\n(.*?)\nPOLICY\n/s.exec(script)![1]);
    expect(policy.Statement.flatMap((s: { Action: string[] }) => s.Action).sort()).toEqual(["s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket"]);
    expect(on.one("docker:index/volume:Volume", /^mlflow-dev-backup-artifacts$/).options.retainOnDelete).toBe(true);
});

test("without projects or users only / is dumped; off: nothing else changes", () => {
    expect(envOf(plain, "mlflow-dev-backup-databases-container").BACKUP_DATABASES).toBe("mlflow");
    expect(envOf(plain, "mlflow-dev-backup-databases-container").BACKUP_INTERVAL_SECONDS).toBe("86400");
    expect(off.resources.filter(r => r.urn.includes("Backup") || r.urn.includes("backup"))).toEqual([]);
    expect(on.resources.filter(r => !r.urn.includes("mlflow-dev-backup")).map(r => r.urn).sort()).toEqual(off.resources.map(r => r.urn).sort());
});

test("the backup starts after the servers", () => {
    expect(on.one("mlflow:index:Backup", /^mlflow-dev-backup$/).options.dependsOn).toEqual(expect.arrayContaining(["mlflow-dev-tracking", "mlflow-dev-proxy"]));
});
