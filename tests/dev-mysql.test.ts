// The dev stack (Pulumi.dev.yaml) with its default MySQL backend, evaluated under mocks.
import { DB_FILES, renderDatabaseFiles } from "../components/backendStore/database";
import { parseSha512Crypt, verifySha512Crypt } from "../components/authProxy/shaCrypt";
import { envRecord, ProgramRun, RecordedResource, runFailingProgram, runProgram } from "./harness";
import { containerByRole, describeLocalStackInvariants, T } from "./localInvariants";
import { committedUrnSet, urnSet } from "./urnSets";

const DEV = { target: "local", backend: "mysql", hostPort: "5000", bindAddress: "127.0.0.1" };

let run: ProgramRun;
beforeAll(async () => {
    run = await runProgram({ stack: "dev", config: DEV });
});

describeLocalStackInvariants(() => run);

test("reports the MySQL engine", () => {
    expect(run.outputs.backendEngine).toBe("mysql");
});

test("MySQL 8 with utf8mb4, an application user distinct from root, healthchecked over TCP", () => {
    const db = containerByRole(run, "backend-store");
    const env = envRecord(db.inputs.envs);
    expect(run.one(T.remoteImage, /backend-image$/).inputs.name).toBe("mysql:8.4.6");
    expect(db.inputs.command).toEqual(["--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin"]);
    expect(env).toMatchObject({ MYSQL_DATABASE: "mlflow", MYSQL_USER: "mlflow" });
    expect(env.MYSQL_PASSWORD).not.toBe(env.MYSQL_ROOT_PASSWORD);
    expect(db.inputs.volumes[0].containerPath).toBe("/var/lib/mysql");
    // The wrapper passes the reconcile SQL as --init-file on a kept volume: it must carry this deploy's passwords.
    expect(db.inputs.entrypoints).toEqual([DB_FILES.entrypoint]);
    expect(db.inputs.uploads).toEqual(renderDatabaseFiles("mysql", { database: "mlflow", username: "mlflow", appPassword: env.MYSQL_PASSWORD, adminPassword: env.MYSQL_ROOT_PASSWORD }));
    expect(db.secretInputs).toEqual(expect.arrayContaining(["uploads"]));
    expect(db.inputs.healthcheck.tests).toEqual(["CMD", "mysqladmin", "ping", "--host=127.0.0.1", "--silent"]);
    expect(db.inputs.networksAdvanced[0].aliases).toEqual(["db"]);
});

test("MLflow connects as the application user with the password URL-encoded", () => {
    const db = envRecord(containerByRole(run, "backend-store").inputs.envs);
    const uri = new URL(envRecord(containerByRole(run, "tracking-server").inputs.envs).MLFLOW_BACKEND_STORE_URI);
    expect(uri.protocol).toBe("mysql+pymysql:");
    expect([uri.hostname, uri.port, uri.pathname, uri.search]).toEqual(["db", "3306", "/mlflow", "?charset=utf8mb4"]);
    expect(uri.username).toBe("mlflow");
    expect(uri.password).not.toMatch(/[@:!]/);
    expect(decodeURIComponent(uri.password)).toBe(db.MYSQL_PASSWORD);
});

test("database passwords are generated with the characters that break unencoded URIs", () => {
    const db = run.one(T.password, /backend-app-password$/);
    expect(db.inputs).toMatchObject({ length: 32, special: true });
    expect(db.inputs.overrideSpecial).toEqual(expect.stringContaining("@"));
    expect(db.inputs.overrideSpecial).toEqual(expect.stringContaining(":"));
    expect(db.inputs.overrideSpecial).toEqual(expect.stringContaining("%"));
});

describe("with the MinIO console, a given password, a LAN binding and data not retained", () => {
    let custom: ProgramRun;
    beforeAll(async () => {
        custom = await runProgram({
            stack: "dev",
            config: {
                ...DEV, exposeMinioConsole: "true", minioConsolePort: "9101", password: "correct-horse-battery",
                bindAddress: "0.0.0.0", hostPort: "8081", allowedHosts: '["mlflow.lan"]', retainDataOnDestroy: "false",
                maxUploadSize: "0",
            },
        });
    });

    test("publishes the console, and only the console besides the proxy", () => {
        const minio = containerByRole(custom, "artifact-store");
        expect(minio.inputs.ports).toEqual([{ internal: 9001, external: 9101, ip: "0.0.0.0", protocol: "tcp" }]);
        expect(envRecord(minio.inputs.envs).MINIO_BROWSER).toBe("on");
        expect(custom.outputs.minioConsoleUrl).toBe("http://localhost:9101");
        expect(containerByRole(custom, "backend-store").inputs.ports ?? []).toEqual([]);
        expect(containerByRole(custom, "tracking-server").inputs.ports ?? []).toEqual([]);
    });

    test("hashes the given password with a salt kept in state, and generates none", () => {
        expect(custom.ofType(T.password).map(p => p.name)).not.toContain("mlflow-dev-proxy-password");
        const salt = custom.one(T.randomString, /proxy-salt$/);
        expect(salt.inputs).toMatchObject({ length: 22, overrideSpecial: "./" });
        const files = Object.fromEntries(containerByRole(custom, "auth-proxy").inputs.uploads.map((u: any) => [u.file, u.content]));
        const [user, hash] = files["/etc/nginx/mlflow.htpasswd"].trim().split(":");
        expect(user).toBe("mlflow");
        expect(verifySha512Crypt("correct-horse-battery", hash)).toBe(true);
        // A user-chosen password gets the slower rounds, the salt kept in state (its first 16 characters).
        expect(parseSha512Crypt(hash)).toMatchObject({ rounds: 5000, salt: "abcdefghijklmnop" });
        expect(custom.outputs.password).toBe("correct-horse-battery");
        expect(custom.secretOutputs.password).toBe(true);
    });

    test("MLflow accepts the LAN name on any port, and its UI origin", () => {
        const env = envRecord(containerByRole(custom, "tracking-server").inputs.envs);
        expect(env.MLFLOW_SERVER_ALLOWED_HOSTS).toBe("mlflow.lan,mlflow.lan:*");
        expect(env.MLFLOW_SERVER_CORS_ALLOWED_ORIGINS).toBe("http://mlflow.lan:8081");
    });

    test("the proxy binds the chosen address and port and has no upload limit", () => {
        const proxy = containerByRole(custom, "auth-proxy");
        expect(proxy.inputs.ports).toEqual([{ internal: 8080, external: 8081, ip: "0.0.0.0", protocol: "tcp" }]);
        expect(proxy.inputs.uploads[0].content).toContain("client_max_body_size 0;");
        // MLflow accepts only mlflow.lan here: the exported URI uses it.
        expect(custom.outputs.trackingUri).toBe("http://mlflow.lan:8081");
    });

    test("volumes are deleted with the stack when asked; the backup's are kept whatever retainDataOnDestroy says", () => {
        const retained = (v: RecordedResource) => [v.inputs.name, v.options.retainOnDelete];
        expect(custom.ofType(T.volume).map(retained).sort()).toEqual([
            ["mlflow-dev-artifacts-data", false], ["mlflow-dev-backend-data", false], ["mlflow-dev-backup-artifacts", true], ["mlflow-dev-backup-databases", true],
        ]);
    });
});

test("bound to one LAN address: the exported trackingUri uses it and MLflow accepts it", async () => {
    const lan = await runProgram({ stack: "dev", config: { ...DEV, bindAddress: "192.168.1.10" } });
    expect(lan.outputs.trackingUri).toBe("http://192.168.1.10:5000");
    const env = envRecord(containerByRole(lan, "tracking-server").inputs.envs);
    expect(env.MLFLOW_SERVER_ALLOWED_HOSTS.split(",")).toEqual(expect.arrayContaining(["192.168.1.10", "192.168.1.10:*", "localhost"]));
    expect(env.MLFLOW_SERVER_CORS_ALLOWED_ORIGINS.split(",")).toContain("http://192.168.1.10:5000");
});

test("bad config stops the program before any resource is registered", async () => {
    const { error, registered } = await runFailingProgram({ stack: "dev", config: { ...DEV, hostPort: "99999", username: "a:b" } });
    expect(error.message).toMatch(/mlflow-platform:hostPort = "99999" is invalid: must be a whole number from 1 to 65535\. Fix: pulumi config set hostPort 5000/);
    expect(error.message).toMatch(/mlflow-platform:username = "a:b" is invalid/);
    expect(registered).toBe(0);
});

test("the URNs are the committed ones: an existing dev stack sees no replacement", () => {
    expect(urnSet(run)).toEqual(committedUrnSet("dev-mysql", run));
});
