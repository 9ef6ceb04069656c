// Scheduled garbage collection on the local target (components/garbageCollection), under mocks:
// one long-running container per server from the server's own image, with the server's database
// URI and storage identity as its only secrets, a healthcheck on its last run; off: none.
import { ProgramRun, runProgram } from "./harness";
import { GC_HEALTHCHECK_COMMAND, GC_LOOP_COMMAND } from "../components/garbageCollection/gc";

const DEV = { target: "local", backend: "mysql", projects: JSON.stringify(["alpha", "beta-2:bob"]), mlflowWorkers: "2" };
const CONTAINER = "docker:index/container:Container";

let on: ProgramRun;
let off: ProgramRun;
beforeAll(async () => {
    on = await runProgram({ stack: "dev", config: DEV });
    off = await runProgram({ stack: "dev", config: { ...DEV, gcEnabled: "false", gcOlderThanDays: "7" } });
}, 120000);

const envOf = (r: ProgramRun, name: string): Record<string, string> =>
    Object.fromEntries((r.one(CONTAINER, new RegExp(`^${name}$`)).inputs.envs as string[]).map(e => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));

test("one gc container per server, its server's image and network, healthcheck on the last run; off: nothing else changes", () => {
    for (const [gc, server] of [["mlflow-dev-gc", "mlflow-dev-tracking-mlflow"], ["mlflow-dev-project-alpha-gc", "mlflow-dev-project-alpha-tracking-mlflow"]]) {
        const c = on.one(CONTAINER, new RegExp(`^${gc}-container$`));
        const s = on.one(CONTAINER, new RegExp(`^${server}$`));
        expect(c.inputs).toMatchObject({ name: gc, image: s.inputs.image, entrypoints: GC_LOOP_COMMAND, restart: "unless-stopped" });
        expect(c.inputs.healthcheck.tests).toEqual(GC_HEALTHCHECK_COMMAND);
        expect(c.inputs.networksAdvanced).toEqual([{ name: s.inputs.networksAdvanced[0].name }]);
        expect(c.inputs.ports ?? []).toEqual([]);
        expect(c.options.deleteBeforeReplace).toBe(true);
        expect(on.one("mlflow:index:GarbageCollection", new RegExp(`^${gc}$`)).options.dependsOn).toContain(server.replace(/-mlflow$/, ""));
    }
    expect(on.ofType("mlflow:index:GarbageCollection")).toHaveLength(3);
    expect(off.resources.filter(r => r.urn.includes("GarbageCollection"))).toEqual([]);
    expect(on.resources.filter(r => !r.urn.includes("GarbageCollection")).map(r => r.urn).sort()).toEqual(off.resources.map(r => r.urn).sort());
});

test("the gc's credentials are exactly its server's, and only as secrets; settings from the server's environment", () => {
    for (const [gc, server] of [["mlflow-dev-gc", "mlflow-dev-tracking-mlflow"], ["mlflow-dev-project-beta-2-gc", "mlflow-dev-project-beta-2-tracking-mlflow"]]) {
        const env = envOf(on, `${gc}-container`);
        const senv = envOf(on, server);
        for (const k of ["MLFLOW_BACKEND_STORE_URI", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MLFLOW_ARTIFACTS_DESTINATION", "MLFLOW_S3_ENDPOINT_URL", "AWS_DEFAULT_REGION"]) {
            expect([k, env[k]]).toEqual([k, senv[k]]);
        }
        expect(Object.keys(env).sort()).toEqual([
            "AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION", "AWS_SECRET_ACCESS_KEY", "MLFLOW_ARTIFACTS_DESTINATION", "MLFLOW_BACKEND_STORE_URI", "MLFLOW_GC_INTERVAL_SECONDS",
            "MLFLOW_GC_OLDER_THAN", "MLFLOW_GC_STATUS_FILE", "MLFLOW_S3_ENDPOINT_URL", "MLFLOW_SQLALCHEMYSTORE_POOLCLASS",
        ]);
        expect(env.MLFLOW_GC_OLDER_THAN).toBe("30d");
        expect(env.MLFLOW_GC_INTERVAL_SECONDS).toBe("86400");
        expect(on.one(CONTAINER, new RegExp(`^${gc}-container$`)).secretInputs).toContain("envs");
        expect(JSON.stringify(on.one(CONTAINER, new RegExp(`^${gc}-container$`)).inputs.entrypoints)).not.toContain(env.AWS_SECRET_ACCESS_KEY);
    }
    // The neighbour: alpha's gc holds alpha's database user and prefix, not beta's or /'s.
    const alpha = envOf(on, "mlflow-dev-project-alpha-gc-container");
    expect(alpha.MLFLOW_ARTIFACTS_DESTINATION).toBe("s3proxied://mlflow-artifacts/projects/alpha/");
    expect(alpha.MLFLOW_BACKEND_STORE_URI).not.toBe(envOf(on, "mlflow-dev-project-beta-2-tracking-mlflow").MLFLOW_BACKEND_STORE_URI);
    expect(alpha.AWS_ACCESS_KEY_ID).not.toBe(envOf(on, "mlflow-dev-tracking-mlflow").AWS_ACCESS_KEY_ID);
});
