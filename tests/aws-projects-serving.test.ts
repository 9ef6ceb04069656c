// The aws target with projects and served models together: each adds
// exactly what it adds alone, every listener rule has its own priority, and only the server at
// `/` is registered in Cloud Map and admits the internal name the model servers use.
import { awsCalls as calls, REGION } from "./awsMocks";
import { ProgramRun, runProgram } from "./harness";
import { composedUrnSet, urnSet } from "./urnSets";

const BASE = { "aws:region": REGION, target: "aws", dbMaxCapacity: "8" };
const PROJECTS = { projects: '["alpha","beta"]' };
const MODELS = { servedModels: '["churn","beta"]' };

let plain: ProgramRun;
let projects: ProgramRun;
let models: ProgramRun;
let both: ProgramRun;
beforeAll(async () => {
    plain = await runProgram({ stack: "aws", config: BASE, calls });
    projects = await runProgram({ stack: "aws", config: { ...BASE, ...PROJECTS }, calls });
    models = await runProgram({ stack: "aws", config: { ...BASE, ...MODELS }, calls });
    both = await runProgram({ stack: "aws", config: { ...BASE, ...PROJECTS, ...MODELS }, calls });
}, 60000);

test("the stack with both holds the base, each feature's additions, and nothing else", () => {
    expect(urnSet(both)).toEqual(composedUrnSet(plain, projects, models));
});

test("every listener rule on a listener has its own priority (a project and a model may share a name)", () => {
    const rules = both.ofType("aws:lb/listenerRule:ListenerRule");
    // Two projects, two models, and `/`'s origin rule behind CloudFront (priority 50000).
    expect(rules.length).toBe(5);
    const byListener = new Map<string, number[]>();
    for (const r of rules) byListener.set(r.inputs.listenerArn, [...(byListener.get(r.inputs.listenerArn) ?? []), r.inputs.priority]);
    for (const priorities of byListener.values()) expect(new Set(priorities).size).toBe(priorities.length);
});

test("only the server at / registers in Cloud Map and admits the internal name", () => {
    const services = both.ofType("aws:ecs/service:Service");
    const registered = services.filter(s => (s.inputs.serviceRegistries ?? undefined) !== undefined);
    expect(registered.map(s => s.name)).toEqual(["mlflow-aws-tracking-service"]);
    const tasks = both.ofType("aws:ecs/taskDefinition:TaskDefinition");
    const allowedHosts = (family: RegExp) => {
        const task = tasks.find(t => family.test(t.name))!;
        const defs = JSON.parse(task.inputs.containerDefinitions) as Array<{ name: string; environment?: Array<{ name: string; value: string }> }>;
        return defs.flatMap(d => d.environment ?? []).find(e => e.name === "MLFLOW_SERVER_ALLOWED_HOSTS")?.value ?? "";
    };
    expect(allowedHosts(/^mlflow-aws-tracking-task$/)).toMatch(/\.internal/);
    expect(allowedHosts(/project-alpha-tracking-task$/)).not.toMatch(/\.internal/);
});

test("only the sidecar at / serves the model servers' read-only endpoint; a project's sidecar is as without models", () => {
    const proxyOf = (r: ProgramRun, family: RegExp) => {
        const task = r.ofType("aws:ecs/taskDefinition:TaskDefinition").find(t => family.test(t.name))!;
        return (JSON.parse(task.inputs.containerDefinitions) as Array<{ name: string; secrets: Array<{ name: string }> }>).find(d => d.name === "proxy")!;
    };
    const root = proxyOf(both, /^mlflow-aws-tracking-task$/);
    expect(root.secrets.map(s => s.name)).toEqual(["HTPASSWD", "READERS_HTPASSWD"]);
    for (const p of ["alpha", "beta"]) {
        const family = new RegExp(`project-${p}-tracking-task$`);
        expect(proxyOf(both, family)).toEqual(proxyOf(projects, family));
    }
});
