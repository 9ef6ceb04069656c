// Scheduled garbage collection on target aws (components/garbageCollection), under mocks: per
// server (`/` and each project) a Fargate task of its own started by an EventBridge Scheduler
// schedule; its roles reach exactly what its server reaches (the server's artifact policy and
// database secret) and the scheduler role may only start that task. gcEnabled=false removes it all.
import { awsCalls as calls, REGION } from "./awsMocks";
import { ProgramRun, RecordedResource, runProgram } from "./harness";
import { GC_COMMAND } from "../components/garbageCollection/gc";

const BASE = { "aws:region": REGION, target: "aws", dbMaxCapacity: "8", projects: JSON.stringify(["alpha", "beta-2:bob"]) };
const TASK = "aws:ecs/taskDefinition:TaskDefinition";
const ROLE = "aws:iam/role:Role";
const ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy";
const ATTACHMENT = "aws:iam/rolePolicyAttachment:RolePolicyAttachment";
const SCHEDULE = "aws:scheduler/schedule:Schedule";
const ROOT = "mlflow-aws-tracking";
const ALPHA = "mlflow-aws-project-alpha-tracking";
const BETA = "mlflow-aws-project-beta-2-tracking";

let on: ProgramRun;
let off: ProgramRun;
let weekly: ProgramRun;
beforeAll(async () => {
    on = await runProgram({ stack: "aws", config: BASE, calls });
    off = await runProgram({ stack: "aws", config: { ...BASE, gcEnabled: "false" }, calls });
    weekly = await runProgram({ stack: "aws", config: { ...BASE, gcOlderThanDays: "7", gcIntervalHours: "168" }, calls });
}, 180000);

type Def = { name: string; image: string; essential: boolean; entryPoint: string[]; environment: { name: string; value: string }[]; secrets: { name: string; valueFrom: string }[] };
const one = (r: ProgramRun, type: string, name: string): RecordedResource => r.one(type, new RegExp(`^${name}$`));
const defs = (r: ProgramRun, name: string): Def[] => JSON.parse(one(r, TASK, name).inputs.containerDefinitions as string) as Def[];
const envOf = (d: Def) => Object.fromEntries(d.environment.map(e => [e.name, e.value]));
const policy = (r: ProgramRun, name: string) => JSON.parse(one(r, ROLE_POLICY, name).inputs.policy as string);
const arnOf = (type: string, name: string) => `arn:aws:mock:eu-west-1:123456789012:${type.split(":")[1]}/${name}`;
const serverDb = (r: ProgramRun, server: string) => defs(r, `${server}-task`).find(d => d.name === "mlflow")!;

function grants(doc: { Statement: { Effect: string; Action: string[]; Resource: string[] }[] }, action: string, arn: string) {
    const glob = (g: string) => new RegExp(`^${g.split("*").map(s => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
    return doc.Statement.filter(s => s.Effect === "Allow" && s.Action.includes(action) && s.Resource.some(g => glob(g).test(arn)));
}

test("one gc per server, each a component with its task, three roles, the attachment and the schedule; off: none, the rest unchanged", () => {
    for (const s of [ROOT, ALPHA, BETA]) {
        const children = on.resources.filter(r => r.options.parent === `${s}-gc`).map(r => `${r.type}::${r.name}`).sort();
        expect(children).toEqual([
            `${TASK}::${s}-gc-task-def`, `${ROLE}::${s}-gc-exec`, `${ROLE}::${s}-gc-sched`, `${ROLE}::${s}-gc-task`,
            `${ATTACHMENT}::${s}-gc-task-artifacts`, `${ROLE_POLICY}::${s}-gc-exec`, `${ROLE_POLICY}::${s}-gc-sched`, `${SCHEDULE}::${s}-gc-schedule`,
        ].sort());
    }
    expect(off.resources.filter(r => r.urn.includes("GarbageCollection"))).toEqual([]);
    const inOff = new Set(off.resources.map(r => r.urn));
    expect(on.resources.filter(r => !r.urn.includes("GarbageCollection")).map(r => r.urn).sort()).toEqual([...inOff].sort());
    for (const r of off.resources) expect([r.name, one(on, r.type, r.name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")).inputs]).toEqual([r.name, r.inputs]);
});

test("the task: the server's image, the gc script, the server's artifact destination and database, its secret by reference only", () => {
    for (const s of [ROOT, ALPHA]) {
        const t = one(on, TASK, `${s}-gc-task-def`).inputs;
        expect(t).toMatchObject({ family: `${s}-gc`, cpu: "256", memory: "512", executionRoleArn: arnOf(ROLE, `${s}-gc-exec`), taskRoleArn: arnOf(ROLE, `${s}-gc-task`) });
        const [gc] = defs(on, `${s}-gc-task-def`);
        const server = serverDb(on, s);
        expect(gc.image).toBe(server.image);
        expect(gc.entryPoint).toEqual(GC_COMMAND);
        const env = envOf(gc);
        const senv = envOf(server);
        for (const k of ["MLFLOW_ARTIFACTS_DESTINATION", "AWS_DEFAULT_REGION", "MLFLOW_DB_ENGINE", "MLFLOW_DB_HOST", "MLFLOW_DB_PORT", "MLFLOW_DB_NAME", "MLFLOW_DB_TLS_QUERY"]) {
            expect([k, env[k]]).toEqual([k, senv[k]]);
        }
        expect(env.MLFLOW_GC_OLDER_THAN).toBe("30d");
        expect(gc.secrets).toEqual(server.secrets.filter(x => x.name === "MLFLOW_DB_USER" || x.name === "MLFLOW_DB_PASSWORD"));
        expect(Object.keys(env).filter(k => /PASSWORD|SECRET|KEY_ID|_USER$|STORE_URI/.test(k))).toEqual([]);
    }
    expect(envOf(defs(on, `${ALPHA}-gc-task-def`)[0]).MLFLOW_ARTIFACTS_DESTINATION).toMatch(/^s3:\/\/.+\/projects\/alpha\/$/);
    expect(envOf(defs(weekly, `${ROOT}-gc-task-def`)[0]).MLFLOW_GC_OLDER_THAN).toBe("7d");
});

test("least privilege: the gc task role has its server's artifact policy only; the execution role only its server's database secret", () => {
    for (const s of [ROOT, ALPHA, BETA]) {
        expect(one(on, ATTACHMENT, `${s}-gc-task-artifacts`).inputs.policyArn).toBe(one(on, ATTACHMENT, `${s}-task-artifacts`).inputs.policyArn);
        expect(on.ofType(ROLE_POLICY).filter(p => p.inputs.role === `${s}-gc-task`)).toEqual([]);
        const secrets = policy(on, `${s}-gc-exec`).Statement.find((x: { Sid: string }) => x.Sid === "Secrets").Resource;
        expect(secrets).toEqual([serverDb(on, s).secrets[0].valueFrom.replace(/:username::$/, "")]);
    }
    // The neighbour: alpha's gc gets neither beta's artifact policy nor beta's secret.
    expect(one(on, ATTACHMENT, `${ALPHA}-gc-task-artifacts`).inputs.policyArn).not.toBe(one(on, ATTACHMENT, `${BETA}-task-artifacts`).inputs.policyArn);
    const betaSecret = serverDb(on, BETA).secrets[0].valueFrom.replace(/:username::$/, "");
    expect(grants(policy(on, `${ALPHA}-gc-exec`), "secretsmanager:GetSecretValue", betaSecret)).toEqual([]);
});

test("the schedule: every gcIntervalHours, RunTask of its own family by a role that may do only that and pass only the gc's roles", () => {
    const cluster = arnOf("aws:ecs/cluster:Cluster", `${ROOT}-cluster`);
    for (const s of [ROOT, ALPHA]) {
        const sch = one(on, SCHEDULE, `${s}-gc-schedule`);
        expect(sch.inputs).toMatchObject({ scheduleExpression: "rate(1 day)", flexibleTimeWindow: { mode: "OFF" } });
        expect(sch.inputs.target).toMatchObject({ arn: cluster, roleArn: arnOf(ROLE, `${s}-gc-sched`), ecsParameters: { taskDefinitionArn: arnOf(TASK, `${s}-gc-task-def`), launchType: "FARGATE", taskCount: 1 } });
        const doc = policy(on, `${s}-gc-sched`);
        expect(doc.Statement).toEqual([
            {
                Sid: "RunGcTask", Effect: "Allow", Action: ["ecs:RunTask"],
                Resource: [`arn:aws:ecs:eu-west-1:123456789012:task-definition/${s}-gc:*`], Condition: { ArnEquals: { "ecs:cluster": cluster } },
            },
            {
                Sid: "PassGcRoles", Effect: "Allow", Action: ["iam:PassRole"], Resource: [arnOf(ROLE, `${s}-gc-exec`), arnOf(ROLE, `${s}-gc-task`)].sort(),
                Condition: { StringEquals: { "iam:PassedToService": "ecs-tasks.amazonaws.com" } },
            },
        ]);
        // Neighbours: the server's own task family and roles, another server's gc.
        expect(grants(doc, "ecs:RunTask", `arn:aws:ecs:eu-west-1:123456789012:task-definition/${s}:3`)).toEqual([]);
        expect(grants(doc, "iam:PassRole", arnOf(ROLE, `${s}-task`))).toEqual([]);
        expect(JSON.parse(one(on, ROLE, `${s}-gc-sched`).inputs.assumeRolePolicy).Statement[0].Principal).toEqual({ Service: "scheduler.amazonaws.com" });
    }
    expect(grants(policy(on, `${ALPHA}-gc-sched`), "ecs:RunTask", `arn:aws:ecs:eu-west-1:123456789012:task-definition/${BETA}-gc:1`)).toEqual([]);
    expect(one(weekly, SCHEDULE, `${ROOT}-gc-schedule`).inputs.scheduleExpression).toBe("rate(7 days)");
});
