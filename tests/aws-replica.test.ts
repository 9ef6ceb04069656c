// The aws target with Aurora readers (dbReaderInstances), under mocks: exactly what a reader adds,
// that MLflow gets the cluster's reader endpoint for `/` and every project, with the same
// credentials as the writer (Secrets Manager references only), and that 0 readers changes nothing.
import { awsCalls as calls, REGION } from "./awsMocks";
import { ProgramRun, RecordedResource, runProgram } from "./harness";
import { committedUrnSet, urnSet } from "./urnSets";
import { READER_PROMOTION_TIER } from "../components/backendStore/aws";

const BASE = { "aws:region": REGION, target: "aws" };
const INSTANCE = "aws:rds/clusterInstance:ClusterInstance";
const TASK = "aws:ecs/taskDefinition:TaskDefinition";
const CLUSTER_NAME = "mlflow-aws-backend-cluster";
const READER_ENDPOINT = `${CLUSTER_NAME}.cluster-ro-abc123.eu-west-1.rds.amazonaws.com`;

interface Container { name: string; environment?: Array<{ name: string; value: string }>; secrets?: Array<{ name: string; valueFrom: string }> }
const containersOf = (task: RecordedResource): Container[] => JSON.parse(task.inputs.containerDefinitions);
const envOf = (c: Container) => Object.fromEntries((c.environment ?? []).map(e => [e.name, e.value]));
/** The MLflow container of every tracking task (`/` and projects); the prune has none. */
const mlflowContainers = (run: ProgramRun) => run.ofType(TASK).flatMap(t => containersOf(t).filter(c => c.name === "mlflow").map(c => ({ task: t.name, c })));

let none: ProgramRun;
let zero: ProgramRun;
let one: ProgramRun;
let three: ProgramRun;
let projects: ProgramRun;
let postgres: ProgramRun;
beforeAll(async () => {
    none = await runProgram({ stack: "aws", config: BASE, calls });
    zero = await runProgram({ stack: "aws", config: { ...BASE, dbReaderInstances: "0" }, calls });
    one = await runProgram({ stack: "aws", config: { ...BASE, dbReaderInstances: "1" }, calls });
    three = await runProgram({ stack: "aws", config: { ...BASE, dbReaderInstances: "3" }, calls });
    projects = await runProgram({ stack: "aws", config: { ...BASE, dbReaderInstances: "1", projects: '["alpha","beta:bob"]' }, calls });
    postgres = await runProgram({ stack: "aws", config: { ...BASE, backend: "postgres", dbReaderInstances: "1", dbMinCapacity: "0.5" }, calls });
}, 90000);

test("0 readers (the default) is the stack as it was: one writer instance, no reader host", () => {
    expect(urnSet(zero)).toEqual(committedUrnSet("aws-mysql", zero));
    expect(zero.resources.map(r => [r.urn, r.inputs])).toEqual(none.resources.map(r => [r.urn, r.inputs]));
    expect(zero.ofType(INSTANCE).map(r => r.name)).toEqual(["mlflow-aws-backend-writer"]);
    for (const { c } of mlflowContainers(zero)) expect(envOf(c).MLFLOW_DB_READER_HOST).toBeUndefined();
});

test("1 reader adds exactly one instance, the writer's twin in promotion tier 2, created after the writer and not retained", () => {
    const before = new Map(none.resources.map(r => [r.urn, r]));
    const added = one.resources.filter(r => !before.has(r.urn));
    expect(added.map(r => [r.type, r.name])).toEqual([[INSTANCE, "mlflow-aws-backend-reader-1"]]);
    const [reader] = added;
    const writer = one.one(INSTANCE, /-writer$/);
    expect(reader.inputs).toEqual({ ...writer.inputs, promotionTier: READER_PROMOTION_TIER });
    expect(reader.inputs).toMatchObject({ instanceClass: "db.serverless", publiclyAccessible: false, clusterIdentifier: `${CLUSTER_NAME}-id` });
    expect(reader.options).toMatchObject({ parent: "mlflow-aws-backend", dependsOn: ["mlflow-aws-backend-writer"] });
    expect(reader.options.retainOnDelete).toBeFalsy();
    expect(one.dependsOn(reader, writer)).toBe(true);
    // Nothing else moves: same URNs, and the same inputs except MLflow's environment in the task definition.
    expect(one.resources.filter(r => r !== reader).map(r => r.urn)).toEqual(none.resources.map(r => r.urn));
    const changed = one.resources.filter(r => before.has(r.urn) && JSON.stringify(r.inputs) !== JSON.stringify(before.get(r.urn)!.inputs));
    expect(changed.map(r => r.name)).toEqual(["mlflow-aws-tracking-task"]);
});

test("3 readers: three instances, reader-1 to reader-3", () => {
    expect(three.ofType(INSTANCE).map(r => r.name)).toEqual(["mlflow-aws-backend-writer", ...[1, 2, 3].map(i => `mlflow-aws-backend-reader-${i}`)]);
});

test.each([["mysql", () => one], ["postgres", () => postgres]] as const)("%s: MLflow reads at the cluster's reader endpoint with the writer's credentials", (_engine, get) => {
    const run = get();
    const [{ c }] = mlflowContainers(run);
    const env = envOf(c);
    expect(env.MLFLOW_DB_READER_HOST).toBe(READER_ENDPOINT);
    expect(env.MLFLOW_DB_HOST).toBe(run.outputs.databaseEndpoint);
    expect(env.MLFLOW_DB_READER_HOST).not.toBe(env.MLFLOW_DB_HOST);
    // The entrypoint composes both URIs from these secrets; no URI, no password in the task definition.
    const dbSecret = run.outputs.databaseSecretArn as string;
    expect(c.secrets).toEqual([
        { name: "MLFLOW_DB_USER", valueFrom: `${dbSecret}:username::` },
        { name: "MLFLOW_DB_PASSWORD", valueFrom: `${dbSecret}:password::` },
    ]);
    const text = run.one(TASK, /-tracking-task$/).inputs.containerDefinitions as string;
    expect(text).not.toMatch(/MLFLOW_BACKEND_STORE_URI|MLFLOW_READ_REPLICA_BACKEND_STORE_URI|pw-|:\/\/[^"]*@/);
    for (const e of c.environment ?? []) expect(e.name).not.toMatch(/PASSWORD|SECRET|TOKEN/);
});

test("each project reads its own database on the same reader endpoint, with its own secret", () => {
    const servers = mlflowContainers(projects);
    expect(servers.map(s => s.task).sort()).toEqual(["mlflow-aws-project-alpha-tracking-task", "mlflow-aws-project-beta-tracking-task", "mlflow-aws-tracking-task"]);
    for (const { task, c } of servers) {
        const env = envOf(c);
        expect({ task, reader: env.MLFLOW_DB_READER_HOST }).toEqual({ task, reader: READER_ENDPOINT });
        if (task.includes("-project-")) {
            const name = /-project-([a-z]+)-/.exec(task)![1];
            expect(env.MLFLOW_DB_NAME).toBe(`mlflow_${name}`);
            expect(c.secrets!.map(s => s.valueFrom)).not.toContain(`${projects.outputs.databaseSecretArn as string}:password::`);
        }
    }
});
