// The dev stack with servedModels (issue 12), evaluated under mocks, against the same stack
// without it: the model servers are additions, and nothing else changes but MLflow's allowed
// hosts and the proxy's routes and labels.
import { renderProxyConfig } from "../components/render/nginx";
import { MODEL_HEALTHCHECK_COMMAND, renderModelServerEnvironment, SERVE_MODEL_COMMAND } from "../components/render/serving";
import { envRecord, ProgramRun, RecordedResource, runProgram } from "./harness";
import { containerByRole, generatedSecrets, T } from "./localInvariants";
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
        "urn:pulumi:dev::mlflow-platform::mlflow:index:ModelServer$docker:index/container:Container::mlflow-dev-model-churn-server",
        "urn:pulumi:dev::mlflow-platform::mlflow:index:ModelServer$docker:index/container:Container::mlflow-dev-model-fraud-detector-server",
        "urn:pulumi:dev::mlflow-platform::mlflow:index:ModelServer::mlflow-dev-model-churn",
        "urn:pulumi:dev::mlflow-platform::mlflow:index:ModelServer::mlflow-dev-model-fraud-detector",
    ]);
    expect(urnSet(run)).toEqual(committedUrnSet("dev-serving", run));
});

test("every other resource has the inputs it has without servedModels, except MLflow's allowed hosts and the proxy's routes and labels", () => {
    const byName = new Map(plain.resources.map(r => [r.name, r]));
    for (const r of run.resources) {
        const before = byName.get(r.name);
        if (!before) continue;
        const inputs = { ...r.inputs };
        const was = { ...before.inputs };
        if (r.name === containerByRole(run, "tracking-server").name) {
            const env = envRecord(inputs.envs);
            expect(env.MLFLOW_SERVER_ALLOWED_HOSTS).toBe("localhost,localhost:*,127.0.0.1,127.0.0.1:*,mlflow,mlflow:*");
            inputs.envs = Object.entries({ ...env, MLFLOW_SERVER_ALLOWED_HOSTS: envRecord(was.envs).MLFLOW_SERVER_ALLOWED_HOSTS }).map(([k, v]) => `${k}=${v}`).sort();
        }
        if (r.name === containerByRole(run, "auth-proxy").name) {
            for (const k of ["uploads", "labels"]) {
                delete inputs[k];
                delete was[k];
            }
        }
        expect([r.name, inputs]).toEqual([r.name, was]);
        expect([r.name, r.options]).toEqual([r.name, before.options]);
    }
});

test("each model server runs the supervisor from the tracking-server image, with no credentials and no published port", () => {
    const image = run.one(T.image).inputs.imageName;
    const secrets = generatedSecrets(run);
    const containers = modelContainers(run);
    expect(containers.map(c => c.inputs.name)).toEqual(["mlflow-dev-model-churn-server", "mlflow-dev-model-fraud-detector-server"]);
    for (const [c, model, host] of [[containers[0], { name: "churn", alias: "champion" }, "model-churn"],
        [containers[1], { name: "Fraud.Detector", alias: "challenger" }, "model-fraud-detector"]] as const) {
        expect(c.inputs.image).toBe(image);
        expect(c.inputs.entrypoints).toEqual(SERVE_MODEL_COMMAND);
        expect(envRecord(c.inputs.envs)).toEqual(renderModelServerEnvironment({ trackingUri: "http://mlflow:5000", model, workers: 2, pollSeconds: 5 }));
        for (const s of secrets) expect(JSON.stringify(c.inputs)).not.toContain(s);
        expect(c.inputs.networksAdvanced).toEqual([{ name: run.one(T.network).inputs.name, aliases: [host] }]);
        expect(c.inputs.ports ?? []).toEqual([]);
        expect(c.inputs.healthcheck.tests).toEqual(MODEL_HEALTHCHECK_COMMAND);
        expect(c.inputs.restart).toBe("unless-stopped");
        // Unhealthy until the model is registered: `pulumi up` must not wait for it.
        expect(c.inputs.wait).toBeUndefined();
        expect(c.options.deleteBeforeReplace).toBe(true);
        expect(c.options.parent).toBe(c.name.replace(/-server$/, ""));
    }
});

test("the proxy routes /models/<name>/ to each model server behind the same basic auth, and is replaced with them", () => {
    const proxy = containerByRole(run, "auth-proxy");
    const files = Object.fromEntries(proxy.inputs.uploads.map((u: any) => [u.file, u.content]));
    expect(files["/etc/nginx/conf.d/default.conf"]).toBe(renderProxyConfig({
        listenPort: 8080, upstream: "mlflow:5000", maxUploadSize: "5g", timeoutSeconds: 3600, htpasswdPath: "/etc/nginx/mlflow.htpasswd",
        models: [{ name: "churn", host: "model-churn" }, { name: "Fraud.Detector", host: "model-fraud-detector" }],
    }));
    const plainFiles = Object.fromEntries(containerByRole(plain, "auth-proxy").inputs.uploads.map((u: any) => [u.file, u.content]));
    expect(files["/etc/nginx/mlflow.htpasswd"]).toBe(plainFiles["/etc/nginx/mlflow.htpasswd"]);
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
