// Removing a project on target aws with retainDataOnDestroy=false (issue 11): the project-prune
// container in the task of the server at `/` (render/projectPruneAws.ts), under mocks. With the
// default (true) nothing of the graph changes; with false, no resource is added, only `/`'s task
// definition gains the container, holding the current list, and a list change touches `/`'s task
// definition and the added/removed project's resources only.
import { awsCalls as calls, REGION } from "./awsMocks";
import { ProgramRun, RecordedResource, runProgram } from "./harness";
import { committedUrnSet, urnSet } from "./urnSets";
import { PROJECT_PRUNE_COMMAND, PROJECT_PRUNE_SPEC_ENV, renderProjectPruneSpec } from "../components/render/projectPruneAws";

const BASE = { "aws:region": REGION, target: "aws", dbMaxCapacity: "8" };
const PROJECTS = ["alpha", "beta-2:bob", "gamma"];
const TASK = "aws:ecs/taskDefinition:TaskDefinition";
const ROOT_TASK = "mlflow-aws-tracking-task";

let keep3: ProgramRun;
let keep0: ProgramRun;
let prune3: ProgramRun;
let prune2: ProgramRun;
let prune0: ProgramRun;
let prunePg: ProgramRun;
beforeAll(async () => {
    const projects = (list: string[]) => ({ projects: JSON.stringify(list) });
    // One at a time: the harness isolates the program's modules per run.
    keep3 = await runProgram({ stack: "aws", config: { ...BASE, ...projects(PROJECTS) }, calls });
    keep0 = await runProgram({ stack: "aws", config: BASE, calls });
    prune3 = await runProgram({ stack: "aws", config: { ...BASE, ...projects(PROJECTS), retainDataOnDestroy: "false" }, calls });
    prune2 = await runProgram({ stack: "aws", config: { ...BASE, ...projects(PROJECTS.slice(0, 2)), retainDataOnDestroy: "false" }, calls });
    prune0 = await runProgram({ stack: "aws", config: { ...BASE, retainDataOnDestroy: "false" }, calls });
    prunePg = await runProgram({ stack: "aws", config: { ...BASE, ...projects(["alpha"]), retainDataOnDestroy: "false", backend: "postgres" }, calls });
}, 120000);

type Def = { name: string; essential?: boolean; entryPoint?: string[]; dependsOn?: unknown; environment: { name: string; value: string }[]; secrets: { name: string; valueFrom: string }[] };
const task = (r: ProgramRun, name = ROOT_TASK): RecordedResource => r.one(TASK, new RegExp(`^${name}$`));
const defs = (r: ProgramRun, name = ROOT_TASK): Def[] => JSON.parse(task(r, name).inputs.containerDefinitions as string) as Def[];
const container = (r: ProgramRun, name: string) => defs(r).find(d => d.name === name);
const envOf = (d: Def) => Object.fromEntries(d.environment.map(e => [e.name, e.value]));
const masterSecret = (r: ProgramRun) => r.outputs.databaseSecretArn as string;
/** Names of the resources present in both runs whose inputs differ. */
const changed = (a: ProgramRun, b: ProgramRun) => a.resources
    .filter(r => { const o = b.resources.find(x => x.urn === r.urn); return o !== undefined && JSON.stringify(o.inputs) !== JSON.stringify(r.inputs); })
    .map(r => r.name).sort();

test("retain=true (default): `/`'s task has no prune container, does not depend on the project list, URN set as committed", () => {
    expect(defs(keep3).map(d => d.name)).toEqual(["mlflow", "proxy"]);
    expect(task(keep3).inputs).toEqual(task(keep0).inputs);
    expect(urnSet(keep3)).toEqual(committedUrnSet("aws-mysql-projects", keep3));
});

test("retain=false adds no resource: the same URNs as retain=true", () => {
    expect(urnSet(prune3)).toEqual(urnSet(keep3));
    expect(urnSet(prune0)).toEqual(urnSet(keep0));
});

test("retain=false: the prune container holds the current list, only the master secret, and MLflow at / does not wait for it", () => {
    const prune = container(prune3, "project-prune")!;
    expect(prune.essential).toBe(false);
    expect(prune.entryPoint).toEqual(PROJECT_PRUNE_COMMAND);
    expect(prune.secrets).toEqual([
        { name: "MLFLOW_DB_USER", valueFrom: `${masterSecret(prune3)}:username::` },
        { name: "MLFLOW_DB_PASSWORD", valueFrom: `${masterSecret(prune3)}:password::` },
    ]);
    const env = envOf(prune);
    const mlflow = envOf(container(prune3, "mlflow")!);
    const spec = JSON.parse(env[PROJECT_PRUNE_SPEC_ENV]);
    expect(spec).toEqual(renderProjectPruneSpec("mysql", ["alpha", "beta-2", "gamma"], { names: [mlflow.MLFLOW_DB_NAME] }, prune3.outputs.artifactBucket as string));
    expect(spec.database.protected).toEqual(["mlflow", "mlflow_alpha", "mlflow_beta_2", "mlflow_default", "mlflow_gamma"]);
    // The same connection as MLflow at / (TLS included), without its credentials in the environment.
    for (const k of ["MLFLOW_DB_ENGINE", "MLFLOW_DB_HOST", "MLFLOW_DB_PORT", "MLFLOW_DB_NAME", "MLFLOW_DB_TLS_QUERY", "AWS_DEFAULT_REGION"]) expect(env[k]).toBe(mlflow[k]);
    expect(Object.keys(env).filter(k => /PASSWORD|USER$/.test(k))).toEqual([]);
    // MLflow and the sidecar are exactly as with retain=true: nothing waits for the prune.
    expect(defs(prune3).filter(d => d.name !== "project-prune")).toEqual(defs(keep3));
    // Size: far below ECS's limits on a task definition.
    expect(Buffer.byteLength(task(prune3).inputs.containerDefinitions as string) - Buffer.byteLength(task(keep3).inputs.containerDefinitions as string)).toBeLessThan(6000);
});

test("retain=false on postgres: connects to the `postgres` database; `/`'s database stays protected", () => {
    const env = envOf(container(prunePg, "project-prune")!);
    expect(env.MLFLOW_DB_NAME).toBe("postgres");
    const spec = JSON.parse(env[PROJECT_PRUNE_SPEC_ENV]);
    expect(spec.database.protected).toEqual(["mlflow", "mlflow_alpha", "mlflow_default"]);
    expect(spec.database.steps[0].drop).toContain("WITH (FORCE)");
});

test("retain=false with no projects: the container is there (removing the last project is covered), keeping nothing", () => {
    const spec = JSON.parse(envOf(container(prune0, "project-prune")!)[PROJECT_PRUNE_SPEC_ENV]);
    expect(spec.store.protected).toEqual(["default"]);
    expect(spec.database.protected).toEqual(["mlflow", "mlflow_default"]);
});

test("retain=false: every role, policy and other resource is that of retain=true, except `/`'s task definition", () => {
    // The bucket's inputs already followed retainDataOnDestroy (its forceDestroy) before this feature.
    expect(changed(keep3, prune3)).toEqual(["mlflow-aws-artifacts-bucket", ROOT_TASK]);
    expect(changed(keep0, prune0)).toEqual(["mlflow-aws-artifacts-bucket", ROOT_TASK]);
});

test("removing a project (retain=false) changes only `/`'s task definition (its prune list) of what stays", () => {
    expect(changed(prune3, prune2)).toEqual([ROOT_TASK]);
    const kept = (r: ProgramRun) => JSON.parse(envOf(container(r, "project-prune")!)[PROJECT_PRUNE_SPEC_ENV]).store.protected;
    expect(kept(prune2)).toEqual(["alpha", "beta-2", "default"]);
    // Only the prune container differs.
    expect(defs(prune2).filter(d => d.name !== "project-prune")).toEqual(defs(prune3).filter(d => d.name !== "project-prune"));
    // Every resource prune2 lacks is gamma's.
    const gone = prune3.resources.filter(r => !prune2.resources.some(x => x.urn === r.urn)).map(r => r.name);
    expect(gone.length).toBeGreaterThan(0);
    expect(gone.filter(n => !n.includes("-project-gamma-"))).toEqual([]);
});
