// Removing a project on target aws with retainDataOnDestroy=false: the scheduled project prune
// (components/trackingServer/awsPrune.ts), under mocks. With the default (true) nothing of the
// graph changes. With false: exactly eight resources are added beside `/` (list parameter, task
// definition, three roles with one inline policy each, schedule), `/`'s own task definition is
// that of true (no prune container: no revision of `/` ever holds a list again), and a list
// change touches only the parameter and the added/removed project's resources.
import { awsCalls as calls, REGION } from "./awsMocks";
import { ProgramRun, RecordedResource, runProgram } from "./harness";
import { committedUrnSet, urnSet } from "./urnSets";
import {
    PRUNE_GRACE_SECONDS, PRUNE_SCHEDULE, PROJECT_PRUNE_COMMAND, PROJECT_PRUNE_SPEC_ENV, renderProjectPruneSpec,
} from "../components/projectPrune/awsSpec";

const BASE = { "aws:region": REGION, target: "aws", dbMaxCapacity: "8" };
const PROJECTS = ["alpha", "beta-2:bob", "gamma"];
const TASK = "aws:ecs/taskDefinition:TaskDefinition";
const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const ROOT = "mlflow-aws-tracking";
const ROOT_TASK = `${ROOT}-task`;
const PRUNE = `${ROOT}-prune`;
/** What retain=false adds, by type and name: nothing else. */
const ADDED = [
    ["aws:ssm/parameter:Parameter", `${PRUNE}-projects`],
    [TASK, PRUNE],
    [ROLE, `${PRUNE}-execution`], [ROLE_POLICY, `${PRUNE}-execution`],
    [ROLE, `${PRUNE}-task`], [ROLE_POLICY, `${PRUNE}-task`],
    [ROLE, `${PRUNE}-scheduler`], [ROLE_POLICY, `${PRUNE}-scheduler`],
    ["aws:scheduler/schedule:Schedule", PRUNE],
].map(([t, n]) => `${t}::${n}`).sort();

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
}, 180000);

type Def = { name: string; essential?: boolean; entryPoint?: string[]; dependsOn?: unknown; environment: { name: string; value: string }[]; secrets: { name: string; valueFrom: string }[] };
const one = (r: ProgramRun, type: string, name: string): RecordedResource => r.one(type, new RegExp(`^${name}$`));
const defs = (r: ProgramRun, name: string): Def[] => JSON.parse(one(r, TASK, name).inputs.containerDefinitions as string) as Def[];
const envOf = (d: Def) => Object.fromEntries(d.environment.map(e => [e.name, e.value]));
const policy = (r: ProgramRun, name: string) => JSON.parse(one(r, ROLE_POLICY, name).inputs.policy as string);
const arnOf = (type: string, name: string) => `arn:aws:mock:eu-west-1:123456789012:${type.split(":")[1]}/${name}`;
const masterSecret = (r: ProgramRun) => r.outputs.databaseSecretArn as string;
const parameter = (r: ProgramRun) => one(r, "aws:ssm/parameter:Parameter", `${PRUNE}-projects`);
const keys = (r: ProgramRun) => r.resources.map(x => `${x.type}::${x.name}`);
/** Names of the resources present in both runs whose inputs differ. */
const changed = (a: ProgramRun, b: ProgramRun) => a.resources
    .filter(r => { const o = b.resources.find(x => x.urn === r.urn); return o !== undefined && JSON.stringify(o.inputs) !== JSON.stringify(r.inputs); })
    .map(r => r.name).sort();

/** Allow statements of `doc` granting `action` on `arn` (`*` globs; conditions not evaluated). */
function grants(doc: { Statement: { Effect: string; Action: string[]; Resource: string[] }[] }, action: string, arn: string) {
    const glob = (g: string) => new RegExp(`^${g.split("*").map(s => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    return doc.Statement.filter(s => s.Effect === "Allow" && s.Action.includes(action) && s.Resource.some(g => glob(g).test(arn)));
}

test("retain=true (default): nothing of the prune, `/`'s task as before, project services wait only for their bucket access", () => {
    expect(keys(keep3).filter(k => k.includes("-prune"))).toEqual([]);
    expect(defs(keep3, ROOT_TASK).map(d => d.name)).toEqual(["mlflow", "proxy"]);
    expect(one(keep3, TASK, ROOT_TASK).inputs).toEqual(one(keep0, TASK, ROOT_TASK).inputs);
    expect(urnSet(keep3)).toEqual(committedUrnSet("aws-mysql-projects", keep3));
    expect(one(keep3, "aws:ecs/service:Service", "mlflow-aws-project-alpha-tracking-service").options.dependsOn)
        .toEqual(["mlflow-aws-project-alpha-tracking-execution", "mlflow-aws-project-alpha-tracking-task-artifacts"]);
});

test("retain=false adds exactly the prune's nine resources, children of `/`'s TrackingServer (URN set: additions only)", () => {
    for (const [withPrune, without] of [[prune3, keep3], [prune0, keep0]]) {
        expect(keys(withPrune).filter(k => !keys(without).includes(k)).sort()).toEqual(ADDED);
        expect(urnSet(without).filter(u => !urnSet(withPrune).includes(u))).toEqual([]);
        for (const k of ADDED) expect(withPrune.resources.find(x => `${x.type}::${x.name}` === k)!.options.parent).toBe(ROOT);
    }
});

test("retain=false: `/`'s task definition is exactly retain=true's: no prune container, no project list", () => {
    expect(one(prune3, TASK, ROOT_TASK).inputs).toEqual(one(keep3, TASK, ROOT_TASK).inputs);
    expect(one(prune0, TASK, ROOT_TASK).inputs).toEqual(one(keep0, TASK, ROOT_TASK).inputs);
    // The bucket's inputs already followed retainDataOnDestroy (its forceDestroy) before the prune.
    expect(changed(keep3, prune3)).toEqual(["mlflow-aws-artifacts-bucket"]);
});

test("the list lives in the SSM parameter only: sorted names, plain String; the prune task holds where it is, never a name", () => {
    expect(parameter(prune3).inputs).toMatchObject({ type: "String", tier: "Standard", insecureValue: JSON.stringify(["alpha", "beta-2", "gamma"]) });
    expect(parameter(prune3).inputs.value).toBeUndefined();
    expect(parameter(prune0).inputs.insecureValue).toBe("[]");
    const [prune] = defs(prune3, PRUNE);
    expect(defs(prune3, PRUNE).map(d => d.name)).toEqual(["project-prune"]);
    const env = envOf(prune);
    const mlflow = envOf(defs(prune3, ROOT_TASK)[0]);
    const spec = JSON.parse(env[PROJECT_PRUNE_SPEC_ENV]);
    expect(spec).toEqual(renderProjectPruneSpec("mysql", { names: [mlflow.MLFLOW_DB_NAME] }, prune3.outputs.artifactBucket as string, `${PRUNE}-projects`));
    expect(spec.list).toEqual({ parameter: `${PRUNE}-projects`, graceSeconds: PRUNE_GRACE_SECONDS });
    expect(spec.database.protected).toEqual(["mlflow", "mlflow_default"]);
    expect(JSON.stringify(prune)).not.toMatch(/alpha|beta|gamma/);
    // The same task definition whatever the list: a list change never makes a new revision.
    expect(one(prune2, TASK, PRUNE).inputs).toEqual(one(prune3, TASK, PRUNE).inputs);
    expect(one(prune0, TASK, PRUNE).inputs).toEqual(one(prune3, TASK, PRUNE).inputs);
});

test("the prune task: its own family and roles, the smallest Fargate size, the master secret only, `/`'s connection", () => {
    const t = one(prune3, TASK, PRUNE).inputs;
    expect(t).toMatchObject({
        family: PRUNE, cpu: "256", memory: "512", networkMode: "awsvpc", requiresCompatibilities: ["FARGATE"],
        executionRoleArn: arnOf(ROLE, `${PRUNE}-execution`), taskRoleArn: arnOf(ROLE, `${PRUNE}-task`),
    });
    expect(t.runtimePlatform).toEqual(one(prune3, TASK, ROOT_TASK).inputs.runtimePlatform);
    const [prune] = defs(prune3, PRUNE);
    expect(prune.essential).toBe(true);
    expect(prune.entryPoint).toEqual(PROJECT_PRUNE_COMMAND);
    expect(prune.secrets).toEqual([
        { name: "MLFLOW_DB_USER", valueFrom: `${masterSecret(prune3)}:username::` },
        { name: "MLFLOW_DB_PASSWORD", valueFrom: `${masterSecret(prune3)}:password::` },
    ]);
    const env = envOf(prune);
    const mlflow = envOf(defs(prune3, ROOT_TASK)[0]);
    for (const k of ["MLFLOW_DB_ENGINE", "MLFLOW_DB_HOST", "MLFLOW_DB_PORT", "MLFLOW_DB_NAME", "MLFLOW_DB_TLS_QUERY", "AWS_DEFAULT_REGION"]) expect(env[k]).toBe(mlflow[k]);
    expect(Object.keys(env).filter(k => /PASSWORD|USER$/.test(k))).toEqual([]);
    expect(envOf(defs(prunePg, PRUNE)[0]).MLFLOW_DB_NAME).toBe("postgres");
    expect(JSON.parse(envOf(defs(prunePg, PRUNE)[0])[PROJECT_PRUNE_SPEC_ENV]).database.steps[0].drop).toContain("WITH (FORCE)");
});

test("least privilege: the prune's task role deletes only under projects/, reads only its parameter; `/`'s artifacts and roles untouched", () => {
    const bucket = `arn:aws:s3:::${prune3.outputs.artifactBucket as string}`;
    const doc = policy(prune3, `${PRUNE}-task`);
    expect(doc.Statement).toEqual([
        { Sid: "ListProjectPrefixes", Effect: "Allow", Action: ["s3:ListBucket"], Resource: [bucket], Condition: { StringLike: { "s3:prefix": ["projects/*"] } } },
        { Sid: "DeleteProjectObjects", Effect: "Allow", Action: ["s3:DeleteObject"], Resource: [`${bucket}/projects/*`] },
        { Sid: "ReadProjectList", Effect: "Allow", Action: ["ssm:GetParameterHistory"], Resource: [arnOf("aws:ssm/parameter:Parameter", `${PRUNE}-projects`)] },
    ]);
    // The neighbours: `/`'s objects, an object beside the prefix, another parameter, any write.
    expect(grants(doc, "s3:DeleteObject", `${bucket}/0/run/artifacts/model.pkl`)).toEqual([]);
    expect(grants(doc, "s3:DeleteObject", `${bucket}/projects-notes.txt`)).toEqual([]);
    expect(grants(doc, "s3:DeleteObject", `${bucket}/projects/beta/1/x`)).toHaveLength(1);
    expect(grants(doc, "s3:PutObject", `${bucket}/projects/beta/1/x`)).toEqual([]);
    expect(grants(doc, "ssm:GetParameterHistory", "arn:aws:ssm:eu-west-1:123456789012:parameter/other")).toEqual([]);
    // The execution role injects the master secret, nothing else.
    expect(policy(prune3, `${PRUNE}-execution`).Statement.find((s: { Sid: string }) => s.Sid === "Secrets").Resource).toEqual([masterSecret(prune3)]);
    // Both roles trust ECS tasks only; `/`'s roles are as with retain=true.
    for (const r of ["execution", "task"]) expect(JSON.parse(one(prune3, ROLE, `${PRUNE}-${r}`).inputs.assumeRolePolicy).Statement[0].Principal).toEqual({ Service: "ecs-tasks.amazonaws.com" });
    for (const n of [`${ROOT}-execution`, `${ROOT}-task`]) expect(one(prune3, ROLE, n).inputs).toEqual(one(keep3, ROLE, n).inputs);
});

test("the schedule: RunTask of the prune's task in `/`'s cluster and network, by a role that may do only that", () => {
    const cluster = arnOf("aws:ecs/cluster:Cluster", `${ROOT}-cluster`);
    const s = one(prune3, "aws:scheduler/schedule:Schedule", PRUNE);
    const service = one(prune3, "aws:ecs/service:Service", `${ROOT}-service`).inputs.networkConfiguration;
    expect(s.inputs).toMatchObject({ scheduleExpression: PRUNE_SCHEDULE, flexibleTimeWindow: { mode: "OFF" } });
    expect(s.inputs.target).toEqual({
        arn: cluster, roleArn: arnOf(ROLE, `${PRUNE}-scheduler`),
        ecsParameters: {
            taskDefinitionArn: arnOf(TASK, PRUNE), launchType: "FARGATE", taskCount: 1,
            networkConfiguration: { subnets: service.subnets, securityGroups: service.securityGroups, assignPublicIp: service.assignPublicIp },
        },
        retryPolicy: { maximumRetryAttempts: 3, maximumEventAgeInSeconds: 3600 },
    });
    expect(s.options.dependsOn?.sort()).toEqual([`${PRUNE}-execution`, `${PRUNE}-scheduler`, `${PRUNE}-task`]);
    const trust = JSON.parse(one(prune3, ROLE, `${PRUNE}-scheduler`).inputs.assumeRolePolicy).Statement;
    expect(trust).toEqual([{ Effect: "Allow", Principal: { Service: "scheduler.amazonaws.com" }, Action: "sts:AssumeRole", Condition: { StringEquals: { "aws:SourceAccount": "123456789012" } } }]);
    const doc = policy(prune3, `${PRUNE}-scheduler`);
    expect(doc.Statement).toEqual([
        {
            Sid: "RunPruneTask", Effect: "Allow", Action: ["ecs:RunTask"],
            Resource: [`arn:aws:ecs:eu-west-1:123456789012:task-definition/${PRUNE}:*`], Condition: { ArnEquals: { "ecs:cluster": cluster } },
        },
        {
            Sid: "PassPruneRoles", Effect: "Allow", Action: ["iam:PassRole"], Resource: [arnOf(ROLE, `${PRUNE}-execution`), arnOf(ROLE, `${PRUNE}-task`)],
            Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
        },
    ]);
    // Neighbours: `/`'s task family, `/`'s roles.
    expect(grants(doc, "ecs:RunTask", `arn:aws:ecs:eu-west-1:123456789012:task-definition/${ROOT}:7`)).toEqual([]);
    expect(grants(doc, "ecs:RunTask", `arn:aws:ecs:eu-west-1:123456789012:task-definition/${PRUNE}:7`)).toHaveLength(1);
    expect(grants(doc, "iam:PassRole", arnOf(ROLE, `${ROOT}-task`))).toEqual([]);
});

test("a project's service starts only after the list naming it was written (dependsOn the parameter)", () => {
    for (const p of ["alpha", "beta-2", "gamma"]) {
        expect(one(prune3, "aws:ecs/service:Service", `mlflow-aws-project-${p}-tracking-service`).options.dependsOn)
            .toEqual([`mlflow-aws-project-${p}-tracking-execution`, `mlflow-aws-project-${p}-tracking-task-artifacts`, `${PRUNE}-projects`]);
    }
    expect(one(prune3, "aws:ecs/service:Service", `${ROOT}-service`).options.dependsOn)
        .toEqual([`${ROOT}-execution`, `${ROOT}-task-artifacts`, `${ROOT}-task-rotation-watch`]);
});

test("removing a project (retain=false) changes only the list parameter of what stays, and the dashboard loses its row", () => {
    expect(changed(prune3, prune2)).toEqual(["mlflow-aws-monitoring-dashboard", `${PRUNE}-projects`]);
    expect(parameter(prune2).inputs.insecureValue).toBe(JSON.stringify(["alpha", "beta-2"]));
    const gone = prune3.resources.filter(r => !prune2.resources.some(x => x.urn === r.urn)).map(r => r.name);
    expect(gone.length).toBeGreaterThan(0);
    expect(gone.filter(n => !n.includes("-project-gamma-"))).toEqual([]);
});
