// The dev stack with servedModels, evaluated under mocks, against the same stack
// without it: the model servers, their reader accounts and one network per model are additions,
// and nothing else changes but MLflow's allowed hosts and the proxy's routes, files, labels and networks.
import { renderHtpasswd, renderProxyConfig } from "../components/authProxy/nginx";
import { READER_HTPASSWD_PATH, REGISTRY_READER_PORT } from "../components/authProxy/registryReader";
import { MODEL_HEALTHCHECK_COMMAND, renderModelServerEnvironment, SERVE_MODEL_COMMAND } from "../components/modelServer/serving";
import { verifySha512Crypt } from "../components/authProxy/shaCrypt";
import { envRecord, ProgramRun, RecordedResource, runFailingProgram, runProgram } from "./harness";
import { containerByRole, T } from "./localInvariants";
import { committedUrnSet, urnSet } from "./urnSets";

const DEV = { target: "local", backend: "mysql", hostPort: "5000", bindAddress: "127.0.0.1" };
const SERVING = { ...DEV, servedModels: '["churn","Fraud.Detector@challenger"]', servingWorkers: "2", servingPollSeconds: "5" };

let plain: ProgramRun;
let run: ProgramRun;
beforeAll(async () => {
    plain = await runProgram({ stack: "dev", config: DEV });
    run = await runProgram({ stack: "dev", config: SERVING });
});

function modelContainers(r: ProgramRun): RecordedResource[] {
    return r.ofType(T.container).filter(c => (c.inputs.labels ?? []).some((l: any) => l.label === "mlflow-platform/role" && l.value === "model-server"));
}

test("adds one ModelServer component and one container per model, and changes no existing URN", () => {
    const added = urnSet(run).filter(u => !urnSet(plain).includes(u));
    expect(urnSet(run)).toEqual(expect.arrayContaining(committedUrnSet("dev-mysql", plain)));
    expect(added).toEqual([
        "urn:pulumi:dev::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$docker:index/container:Container::mlflow-dev-model-churn-server",
        "urn:pulumi:dev::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$docker:index/container:Container::mlflow-dev-model-fraud-detector-server",
        "urn:pulumi:dev::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$random:index/randomPassword:RandomPassword::mlflow-dev-model-churn-reader-password",
        "urn:pulumi:dev::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$random:index/randomPassword:RandomPassword::mlflow-dev-model-fraud-detector-reader-password",
        "urn:pulumi:dev::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$random:index/randomString:RandomString::mlflow-dev-model-churn-reader-salt",
        "urn:pulumi:dev::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer$random:index/randomString:RandomString::mlflow-dev-model-fraud-detector-reader-salt",
        "urn:pulumi:dev::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer::mlflow-dev-model-churn",
        "urn:pulumi:dev::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:ModelServer::mlflow-dev-model-fraud-detector",
        "urn:pulumi:dev::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:Network$docker:index/network:Network::mlflow-dev-network-serving-churn-net",
        "urn:pulumi:dev::mlflow-platform::mlflow:index:MlflowPlatform$mlflow:index:Network$docker:index/network:Network::mlflow-dev-network-serving-fraud-detector-net",
    ]);
    expect(urnSet(run)).toEqual(committedUrnSet("dev-serving", run));
});

test("every other resource has the inputs it has without servedModels, except MLflow's allowed hosts and the proxy's routes, files, labels and networks", () => {
    const byName = new Map(plain.resources.map(r => [r.name, r]));
    for (const r of run.resources) {
        const before = byName.get(r.name);
        if (!before) continue;
        const inputs = { ...r.inputs };
        const was = { ...before.inputs };
        if (r.name === containerByRole(run, "tracking-server").name) {
            const env = envRecord(inputs.envs);
            // The model servers' Host at the proxy's reader port, which passes it on; not MLflow's own name.
            expect(env.MLFLOW_SERVER_ALLOWED_HOSTS).toBe("localhost,localhost:*,127.0.0.1,127.0.0.1:*,mlflow-registry,mlflow-registry:*");
            inputs.envs = Object.entries({ ...env, MLFLOW_SERVER_ALLOWED_HOSTS: envRecord(was.envs).MLFLOW_SERVER_ALLOWED_HOSTS }).map(([k, v]) => `${k}=${v}`).sort();
        }
        if (r.name === containerByRole(run, "auth-proxy").name) {
            for (const k of ["uploads", "labels", "networksAdvanced"]) {
                delete inputs[k];
                delete was[k];
            }
        }
        expect([r.name, inputs]).toEqual([r.name, was]);
        expect([r.name, r.options]).toEqual([r.name, before.options]);
    }
});

/** The platform network's name and each model's network (churn's, then Fraud.Detector's). */
function networks(r: ProgramRun): { platform: string; models: string[] } {
    const names: string[] = r.ofType(T.network).map(n => n.inputs.name);
    return { platform: "mlflow-dev-network-net", models: names.filter(n => n !== "mlflow-dev-network-net") };
}

test("each model has its own internal network with no host-side address; MinIO, the database and MLflow stay off them", () => {
    expect(plain.ofType(T.network)).toHaveLength(1);
    const { platform, models } = networks(run);
    expect([platform, ...models]).toEqual(["mlflow-dev-network-net", "mlflow-dev-network-serving-churn-net", "mlflow-dev-network-serving-fraud-detector-net"]);
    for (const n of run.ofType(T.network).filter(x => models.includes(x.inputs.name))) {
        // internal: no route off the bridge (no internet); inhibit_ipv4: no address on the host's side, so no host port either.
        expect([n.name, n.inputs.internal, n.inputs.options]).toEqual([n.name, true, { "com.docker.network.bridge.inhibit_ipv4": "true" }]);
        expect(n.inputs.driver).toBe("bridge");
    }
    // The platform network keeps its inputs (an upgrading stack's network is not replaced).
    expect(run.ofType(T.network).find(n => n.inputs.name === platform)!.inputs).toEqual(plain.one(T.network).inputs);
    for (const role of ["artifact-store", "backend-store", "tracking-server", "bucket-init"]) {
        expect([role, containerByRole(run, role).inputs.networksAdvanced.map((n: any) => n.name)]).toEqual([role, [platform]]);
    }
});

test("no two model containers share a network: a model's code cannot call another model's unauthenticated ports", () => {
    const [churn, fraud] = modelContainers(run).map(c => c.inputs.networksAdvanced.map((n: any) => n.name));
    expect(churn).toEqual([networks(run).models[0]]);
    expect(fraud).toEqual([networks(run).models[1]]);
    // Only the proxy is on both (every container on a model's network: that model's and the proxy).
    for (const net of networks(run).models) {
        const members = run.ofType(T.container).filter(c => c.inputs.networksAdvanced.some((n: any) => n.name === net)).map(c => c.inputs.name);
        expect(members).toHaveLength(2);
        expect(members).toContain("mlflow-dev-proxy-nginx");
    }
});

test("each model container has a hard memory limit, 2048 MiB by default, no swap on top; servingMemoryMb sets it", async () => {
    for (const c of modelContainers(run)) expect([c.name, c.inputs.memory, c.inputs.memorySwap]).toEqual([c.name, 2048, 2048]);
    const small = await runProgram({ stack: "dev", config: { ...SERVING, servingMemoryMb: "512" } });
    for (const c of modelContainers(small)) expect([c.name, c.inputs.memory, c.inputs.memorySwap]).toEqual([c.name, 512, 512]);
    // No other container gets a limit from it.
    for (const c of small.ofType(T.container).filter(x => !modelContainers(small).includes(x))) expect([c.name, c.inputs.memory]).toEqual([c.name, undefined]);
});

test.each([["100", "must be a whole number from 256 to 1048576"], ["2g", "must be a whole number"]])("servingMemoryMb %s is refused before anything is created", async (value, why) => {
    const { error, registered } = await runFailingProgram({ stack: "dev", config: { ...SERVING, servingMemoryMb: value } });
    expect(error.message).toContain(`mlflow-platform:servingMemoryMb = "${value}" is invalid: ${why}`);
    expect(error.message).toMatch(/Fix: pulumi config set servingMemoryMb 2048/);
    expect(registered).toBe(0);
});

test("each model server runs the supervisor from the tracking-server image, on the serving network only, with no published port", () => {
    const image = run.one(T.image).inputs.imageName;
    const containers = modelContainers(run);
    expect(containers.map(c => c.inputs.name)).toEqual(["mlflow-dev-model-churn-server", "mlflow-dev-model-fraud-detector-server"]);
    for (const [c, host] of [[containers[0], "model-churn"], [containers[1], "model-fraud-detector"]] as const) {
        expect(c.inputs.image).toBe(image);
        expect(c.inputs.entrypoints).toEqual(SERVE_MODEL_COMMAND);
        expect(c.inputs.networksAdvanced).toEqual([{ name: networks(run).models[containers.indexOf(c)], aliases: [host] }]);
        expect(c.inputs.ports ?? []).toEqual([]);
        expect(c.inputs.healthcheck.tests).toEqual(MODEL_HEALTHCHECK_COMMAND);
        expect(c.inputs.restart).toBe("unless-stopped");
        // Unhealthy until the model is registered: `pulumi up` must not wait for it.
        expect(c.inputs.wait).toBeUndefined();
        expect(c.options.deleteBeforeReplace).toBe(true);
        expect(c.options.parent).toBe(c.name.replace(/-server$/, ""));
    }
});

test("each model server reads the registry at the proxy's reader port with its own account: user in the env, password secret", () => {
    const containers = modelContainers(run);
    const proxyPassword = `pw-${run.ofType(T.password).find(p => p.name === "mlflow-dev-proxy-password")!.name}-S3cret!@:%`;
    expect(proxyPassword).toBe("pw-mlflow-dev-proxy-password-S3cret!@:%");
    for (const [c, model, user] of [[containers[0], { name: "churn", alias: "champion" }, "model-churn"],
        [containers[1], { name: "Fraud.Detector", alias: "challenger" }, "model-fraud-detector"]] as const) {
        const password = `pw-${c.options.parent}-reader-password-S3cret!@:%`;
        expect(envRecord(c.inputs.envs)).toEqual({
            ...renderModelServerEnvironment({ trackingUri: `http://mlflow-registry:${REGISTRY_READER_PORT}`, model, workers: 2, pollSeconds: 5, readerUsername: user }),
            MLFLOW_TRACKING_PASSWORD: password,
        });
        expect(envRecord(c.inputs.envs).MLFLOW_TRACKING_URI).toBe("http://mlflow-registry:8082");
        expect(c.secretInputs).toContain("envs");
        // Nothing of MLflow's, MinIO's or the database's, nor the users' password.
        for (const s of run.ofType(T.password).map(p => `pw-${p.name}-S3cret!@:%`).filter(s => s !== password)) {
            expect(JSON.stringify(c.inputs)).not.toContain(s);
        }
        expect(JSON.stringify(c.inputs)).not.toContain(proxyPassword);
        expect(JSON.stringify(c.inputs)).not.toMatch(/mlflow:5000|minio|AWS_/i);
    }
});

test("the proxy routes /models/<name>/ behind the users' basic auth, serves the readers' endpoint on every network, and is replaced with the models", () => {
    const proxy = containerByRole(run, "auth-proxy");
    const files = Object.fromEntries(proxy.inputs.uploads.map((u: any) => [u.file, u.content]));
    expect(files["/etc/nginx/conf.d/default.conf"]).toBe(renderProxyConfig({
        listenPort: 8080, upstream: "mlflow:5000", maxUploadSize: "5g", timeoutSeconds: 3600, htpasswdPath: "/etc/nginx/mlflow.htpasswd",
        models: [{ name: "churn", host: "model-churn" }, { name: "Fraud.Detector", host: "model-fraud-detector" }],
        registryReader: { htpasswdPath: READER_HTPASSWD_PATH }, metrics: { htpasswdPath: "/etc/nginx/metrics.htpasswd" },
    }));
    const plainFiles = Object.fromEntries(containerByRole(plain, "auth-proxy").inputs.uploads.map((u: any) => [u.file, u.content]));
    expect(files["/etc/nginx/mlflow.htpasswd"]).toBe(plainFiles["/etc/nginx/mlflow.htpasswd"]);
    expect(Object.keys(files).sort()).toEqual([...Object.keys(plainFiles), READER_HTPASSWD_PATH].sort());
    // One line per model, each the model server's own password with a kept salt; the users' file holds none of them.
    const lines = files[READER_HTPASSWD_PATH].split("\n").filter(Boolean);
    expect(lines.map((l: string) => l.split(":")[0])).toEqual(["model-churn", "model-fraud-detector"]);
    for (const [line, c] of lines.map((l: string, i: number) => [l, modelContainers(run)[i]] as const)) {
        expect(renderHtpasswd(line.split(":")[0], line.slice(line.indexOf(":") + 1))).toBe(`${line}\n`);
        expect(verifySha512Crypt(envRecord(c.inputs.envs).MLFLOW_TRACKING_PASSWORD, line.slice(line.indexOf(":") + 1))).toBe(true);
        expect(files["/etc/nginx/mlflow.htpasswd"]).not.toContain(line.split(":")[0]);
    }
    expect(proxy.secretInputs).toContain("uploads");
    // The reader port is not published: the host still reaches the proxy's 8080 only.
    expect(proxy.inputs.ports).toEqual(containerByRole(plain, "auth-proxy").inputs.ports);
    expect(proxy.inputs.networksAdvanced).toEqual([{ name: networks(run).platform }, ...networks(run).models.map(name => ({ name, aliases: ["mlflow-registry"] }))]);
    expect(containerByRole(plain, "auth-proxy").inputs.networksAdvanced).toEqual([{ name: networks(run).platform }]);
    expect(proxy.inputs.labels).toEqual(expect.arrayContaining([
        { label: "mlflow-platform.model-container.churn", value: "mlflow-dev-model-churn-server-id" },
        { label: "mlflow-platform.model-container.fraud-detector", value: "mlflow-dev-model-fraud-detector-server-id" },
        { label: "mlflow-platform.upstream-container", value: `${containerByRole(run, "tracking-server").name}-id` },
    ]));
});

test("outputs the invocation URL of each model; the stack without servedModels has no such output", () => {
    expect(run.outputs.servedModels).toEqual({
        "churn": "http://localhost:5000/models/churn/invocations",
        "Fraud.Detector": "http://localhost:5000/models/Fraud.Detector/invocations",
    });
    expect("servedModels" in plain.outputs).toBe(false);
});
