// Invariants every local (Docker) stack must hold, whatever its backend. Shared by the
// dev-mysql and dev-postgres program tests.
import { isPinnedImage } from "../components/config";
import { renderProxyConfig } from "../components/authProxy/nginx";
import { sha512Crypt } from "../components/authProxy/shaCrypt";
import { envRecord, ProgramRun, RecordedResource } from "./harness";

export const T = {
    container: "docker:index/container:Container",
    remoteImage: "docker:index/remoteImage:RemoteImage",
    image: "docker:index/image:Image",
    volume: "docker:index/volume:Volume",
    network: "docker:index/network:Network",
    password: "random:index/randomPassword:RandomPassword",
    randomString: "random:index/randomString:RandomString",
} as const;

export function containerByRole(run: ProgramRun, role: string): RecordedResource {
    const found = run.ofType(T.container).filter(c => (c.inputs.labels ?? []).some((l: any) => l.label === "mlflow-platform/role" && l.value === role));
    if (found.length !== 1) throw new Error(`expected one ${role} container, found ${found.length}`);
    return found[0];
}

/** Every value the fake random provider generated: none may leak into a command line. */
export function generatedSecrets(run: ProgramRun): string[] {
    return run.ofType(T.password).map(p => `pw-${p.name}-S3cret!@:%`);
}

export function countByType(run: ProgramRun): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of run.resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
    return counts;
}

/** The same graph for either backend: only the images and settings of the database differ. */
export const LOCAL_RESOURCE_COUNTS: Record<string, number> = {
    "mlflow:index:MlflowPlatform": 1, "mlflow:index:Network": 1, "mlflow:index:ArtifactStore": 1, "mlflow:index:BucketInit": 2,
    "mlflow:index:BackendStore": 1, "mlflow:index:TrackingServer": 1, "mlflow:index:AuthProxy": 1, "mlflow:index:GarbageCollection": 1,
    "mlflow:index:Backup": 1,
    // The sixth container is the garbage collection's, the last four the backup's (both on by default):
    // its user's init, its identity's init, the dump loop and the artifact copy, with their two volumes
    // and their pulls of the database and mc images.
    [T.network]: 1, [T.volume]: 4, [T.remoteImage]: 6, [T.image]: 1, [T.container]: 10,
    // MinIO root, MLflow's MinIO secret key, DB admin, DB app user, proxy user, the metrics scraper,
    // the backup's DB user and MinIO secret key.
    [T.password]: 8,
    // The salts of the proxy user's and the scraper's htpasswd entries (kept in state).
    [T.randomString]: 2,
};

export function describeLocalStackInvariants(getRun: () => ProgramRun): void {
    const LONG_RUNNING = ["artifact-store", "backend-store", "tracking-server", "auth-proxy"];

    test("creates exactly these resources", () => {
        expect(countByType(getRun())).toEqual(LOCAL_RESOURCE_COUNTS);
    });

    test("one of each component, with type tokens mlflow:index:<Name>", () => {
        const components = getRun().resources.filter(r => r.type.startsWith("mlflow:index:")).map(r => r.type).sort();
        expect(components).toEqual([
            "mlflow:index:ArtifactStore", "mlflow:index:AuthProxy", "mlflow:index:BackendStore",
            "mlflow:index:Backup", "mlflow:index:BucketInit", "mlflow:index:BucketInit", "mlflow:index:GarbageCollection", "mlflow:index:MlflowPlatform",
            "mlflow:index:Network", "mlflow:index:TrackingServer",
        ]);
    });

    test("every resource is a child of a component", () => {
        const run = getRun();
        const componentNames = new Set(run.resources.filter(r => r.type.startsWith("mlflow:index:")).map(r => r.name));
        for (const r of run.resources.filter(r => !r.type.startsWith("mlflow:index:"))) {
            expect([r.name, componentNames.has(r.options.parent ?? "")]).toEqual([r.name, true]);
            expect(r.name.startsWith(r.options.parent!)).toBe(true);
        }
    });

    test("only the proxy publishes a host port, on 127.0.0.1:5000 by default", () => {
        const run = getRun();
        for (const c of run.ofType(T.container)) {
            const ports = c.inputs.ports ?? [];
            if (c.name.endsWith("-nginx")) {
                expect(ports).toEqual([{ internal: 8080, external: 5000, ip: "127.0.0.1", protocol: "tcp" }]);
            } else {
                expect([c.name, ports]).toEqual([c.name, []]);
            }
        }
    });

    test("every long-running container has a healthcheck, waits healthy and restarts unless stopped", () => {
        const run = getRun();
        for (const role of LONG_RUNNING) {
            const c = containerByRole(run, role);
            expect([role, c.inputs.healthcheck?.tests?.length > 1]).toEqual([role, true]);
            expect([role, c.inputs.restart, c.inputs.wait]).toEqual([role, "unless-stopped", true]);
        }
    });

    test("every long-running container rotates its log (json-file, 5 x 10 MB); the one-shot ones are left as they were", () => {
        const run = getRun();
        for (const role of [...LONG_RUNNING, "garbage-collection"]) {
            const c = containerByRole(run, role);
            expect([role, c.inputs.logDriver, c.inputs.logOpts]).toEqual([role, "json-file", { "max-size": "10m", "max-file": "5" }]);
        }
        expect(containerByRole(run, "bucket-init").inputs.logOpts).toBeUndefined();
    });

    test("the scrape endpoint: the scraper's own generated login in a file of its own, its password a secret output", () => {
        const run = getRun();
        const proxy = containerByRole(run, "auth-proxy");
        const files = Object.fromEntries(proxy.inputs.uploads.map((u: any) => [u.file, u.content]));
        expect(files["/etc/nginx/metrics.htpasswd"]).toBe(`metrics:${sha512Crypt("pw-mlflow-dev-proxy-metrics-password-S3cret!@:%", "abcdefghijklmnop", 1000)}\n`);
        expect(run.outputs.metrics).toEqual({ urls: ["http://localhost:5000/metrics/tracking"], username: "metrics" });
        expect(run.outputs.metricsPassword).toBe("pw-mlflow-dev-proxy-metrics-password-S3cret!@:%");
        expect(run.secretOutputs.metricsPassword).toBe(true);
        expect(run.secretOutputs.metrics).toBeFalsy();
        expect(envRecord(containerByRole(run, "tracking-server").inputs.envs).MLFLOW_EXPOSE_PROMETHEUS).toBe("/tmp/mlflow-prometheus");
    });

    test("bucket init is a one-shot container that must finish", () => {
        const init = containerByRole(getRun(), "bucket-init");
        expect(init.inputs).toMatchObject({ mustRun: false, attach: true, restart: "no" });
    });

    test("all containers share one private network", () => {
        const run = getRun();
        const network = run.one(T.network);
        for (const c of run.ofType(T.container)) {
            expect(c.inputs.networksAdvanced.map((n: any) => n.name)).toEqual([network.inputs.name]);
        }
    });

    test("no image is untagged or latest", () => {
        const run = getRun();
        for (const image of run.ofType(T.remoteImage)) expect([image.inputs.name, isPinnedImage(image.inputs.name)]).toEqual([image.inputs.name, true]);
        const built = run.one(T.image);
        expect(built.inputs.imageName).toMatch(/^mlflow-platform\/tracking-server:3\.\d+\.\d+-[0-9a-f]{12}$/);
        expect(isPinnedImage(built.inputs.build.args.PYTHON_IMAGE)).toBe(true);
        expect(built.inputs.skipPush).toBe(true);
    });

    test("MinIO and the database keep their data in named volumes that survive destroy", () => {
        const run = getRun();
        const volumes = run.ofType(T.volume);
        expect(volumes.map(v => v.options.retainOnDelete)).toEqual([true, true, true, true]);
        const volumeOf = (role: string) => containerByRole(run, role).inputs.volumes?.map((v: any) => v.volumeName) ?? [];
        expect(volumeOf("artifact-store")).toEqual([expect.stringMatching(/artifacts-data$/)]);
        expect(volumeOf("backend-store")).toEqual([expect.stringMatching(/backend-data$/)]);
        // Beside them, the backup's two volumes (tests/dev-backup.test.ts).
        expect(volumes.map(v => v.inputs.name).sort()).toEqual([...volumeOf("artifact-store"), ...volumeOf("backend-store"), "mlflow-dev-backup-artifacts", "mlflow-dev-backup-databases"].sort());
    });

    test("no generated secret appears in any command, entrypoint or healthcheck", () => {
        const run = getRun();
        const secrets = generatedSecrets(run);
        expect(secrets.length).toBeGreaterThanOrEqual(5);
        for (const c of run.ofType(T.container)) {
            const argv = JSON.stringify([c.inputs.command ?? [], c.inputs.entrypoints ?? [], c.inputs.healthcheck ?? {}]);
            for (const s of secrets) expect([c.name, argv.includes(s)]).toEqual([c.name, false]);
        }
    });

    test("environments and files that carry credentials are marked secret", () => {
        const run = getRun();
        for (const role of ["artifact-store", "bucket-init", "backend-store", "tracking-server"]) {
            expect([role, containerByRole(run, role).secretInputs]).toEqual([role, expect.arrayContaining(["envs"])]);
        }
        expect(containerByRole(run, "auth-proxy").secretInputs).toEqual(expect.arrayContaining(["uploads"]));
    });

    test("the password output is secret, and the outputs clients need are there", () => {
        const run = getRun();
        expect(run.secretOutputs.password).toBe(true);
        expect(run.outputs).toMatchObject({ trackingUri: "http://localhost:5000", username: "mlflow", artifactBucket: "mlflow-artifacts" });
        expect(run.outputs.password).toBe("pw-mlflow-dev-proxy-password-S3cret!@:%");
        expect(run.outputs.minioConsoleUrl).toBeUndefined();
    });

    test("MLflow gets the bucket-limited identity, never the MinIO root credentials", () => {
        const run = getRun();
        const minio = envRecord(containerByRole(run, "artifact-store").inputs.envs);
        const init = envRecord(containerByRole(run, "bucket-init").inputs.envs);
        const mlflow = envRecord(containerByRole(run, "tracking-server").inputs.envs);
        const mlflowEnv = JSON.stringify(mlflow);
        expect(mlflowEnv).not.toContain(minio.MINIO_ROOT_PASSWORD);
        expect(mlflowEnv).not.toContain(minio.MINIO_ROOT_USER);
        expect(mlflow.AWS_ACCESS_KEY_ID).toBe(init.MLFLOW_ACCESS_KEY);
        expect(mlflow.AWS_SECRET_ACCESS_KEY).toBe(init.MLFLOW_SECRET_KEY);
        // BucketInit, and only BucketInit, holds the root identity.
        expect([init.MINIO_ROOT_USER, init.MINIO_ROOT_PASSWORD]).toEqual([minio.MINIO_ROOT_USER, minio.MINIO_ROOT_PASSWORD]);
    });

    test("the MinIO console is off and unpublished by default", () => {
        const minio = containerByRole(getRun(), "artifact-store");
        expect(envRecord(minio.inputs.envs).MINIO_BROWSER).toBe("off");
        expect(minio.inputs.ports ?? []).toEqual([]);
    });

    test("bucket init targets the MinIO container MLflow also uses, with a bucket-only policy", () => {
        const run = getRun();
        const init = containerByRole(run, "bucket-init");
        const env = envRecord(init.inputs.envs);
        expect(env.MINIO_ENDPOINT).toBe("http://minio:9000");
        expect(env.ARTIFACT_BUCKET).toBe("mlflow-artifacts");
        expect(envRecord(containerByRole(run, "tracking-server").inputs.envs).MLFLOW_S3_ENDPOINT_URL).toBe(env.MINIO_ENDPOINT);
        expect(containerByRole(run, "artifact-store").inputs.networksAdvanced[0].aliases).toEqual(["minio"]);
        const script: string = init.inputs.uploads[0].content;
        expect(init.inputs.uploads[0].file).toBe(init.inputs.command[0]);
        const policy = JSON.parse(script.slice(script.indexOf("<<'POLICY'\n") + 11, script.indexOf("\nPOLICY\n")));
        const allowed = policy.Statement.filter((s: any) => s.Effect === "Allow").flatMap((s: any) => s.Resource);
        expect([...new Set(allowed)].sort()).toEqual(["arn:aws:s3:::mlflow-artifacts", "arn:aws:s3:::mlflow-artifacts/*"]);
        expect(policy.Statement.filter((s: any) => s.Effect === "Deny").flatMap((s: any) => s.Resource)).toEqual(["arn:aws:s3:::mlflow-artifacts/projects/*"]);
    });

    test("MLflow runs the image's entrypoint with settings only in its environment", () => {
        const mlflow = containerByRole(getRun(), "tracking-server");
        expect(mlflow.inputs.entrypoints).toEqual(["python", "/opt/mlflow/entrypoint.py"]);
        expect(mlflow.inputs.command ?? []).toEqual([]);
        const env = envRecord(mlflow.inputs.envs);
        expect(env).toMatchObject({
            MLFLOW_SERVE_ARTIFACTS: "true",
            MLFLOW_ARTIFACTS_DESTINATION: "s3proxied://mlflow-artifacts/",
            MLFLOW_HOST: "0.0.0.0",
            MLFLOW_PORT: "5000",
            MLFLOW_SERVER_ALLOWED_HOSTS: "localhost,localhost:*,127.0.0.1,127.0.0.1:*",
            MLFLOW_DB_UPGRADE: "true",
            MLFLOW_UVICORN_OPTS: "--timeout-keep-alive 12 --timeout-worker-healthcheck 60",
        });
        expect(env.MLFLOW_SERVER_DISABLE_SECURITY_MIDDLEWARE).toBeUndefined();
        expect(mlflow.inputs.networksAdvanced[0].aliases).toEqual(["mlflow"]);
    });

    test("a replaced MLflow container replaces the proxy: its labels carry MLflow's container id (labels force replacement)", () => {
        const run = getRun();
        const mlflow = containerByRole(run, "tracking-server");
        // The mocks give every resource the id `${name}-id`.
        expect(containerByRole(run, "auth-proxy").inputs.labels).toEqual(expect.arrayContaining([
            { label: "mlflow-platform.upstream-container", value: `${mlflow.name}-id` },
        ]));
    });

    test("MLflow and the proxy are deleted before their replacements are created (fixed names, the one host port)", () => {
        const run = getRun();
        for (const role of ["tracking-server", "auth-proxy"]) {
            expect(containerByRole(run, role).options.deleteBeforeReplace).toBe(true);
        }
    });

    test("every Docker container with a fixed name is deleted before its replacement is created", () => {
        const named = getRun().ofType("docker:index/container:Container").filter(c => typeof c.inputs.name === "string");
        // MinIO, the database, bucket-init's mc, MLflow, the gc, nginx, the backup's four: all named, so none may be missed.
        expect(named).toHaveLength(10);
        expect(named.filter(c => c.options.deleteBeforeReplace !== true).map(c => c.inputs.name)).toEqual([]);
    });

    test("the proxy runs the rendered config against MLflow's alias, with the generated user", () => {
        const proxy = containerByRole(getRun(), "auth-proxy");
        const files = Object.fromEntries(proxy.inputs.uploads.map((u: any) => [u.file, u.content]));
        expect(files["/etc/nginx/conf.d/default.conf"]).toBe(renderProxyConfig({
            listenPort: 8080, upstream: "mlflow:5000", maxUploadSize: "5g", timeoutSeconds: 3600, htpasswdPath: "/etc/nginx/mlflow.htpasswd",
            metrics: { htpasswdPath: "/etc/nginx/metrics.htpasswd" },
        }));
        // SHA-512-crypt of the generated password with the kept salt: the spec's minimum rounds.
        expect(files["/etc/nginx/mlflow.htpasswd"]).toBe(`mlflow:${sha512Crypt("pw-mlflow-dev-proxy-password-S3cret!@:%", "abcdefghijklmnop", 1000)}\n`);
        expect(getRun().one("random:index/randomString:RandomString", /proxy-salt$/).inputs).toMatchObject({ length: 22, overrideSpecial: "./" });
    });
}
