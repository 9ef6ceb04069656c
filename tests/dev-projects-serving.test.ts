// Projects and served models in one stack: each feature's resources are
// exactly what it adds alone, and the one proxy routes and follows both kinds of upstream.
import { PROXY_CONFIG_PATH } from "../components/authProxy/nginx";
import { ProgramRun, runProgram } from "./harness";
import { containerByRole, T } from "./localInvariants";
import { composedUrnSet, urnSet } from "./urnSets";

const DEV = { target: "local", backend: "mysql", hostPort: "5000", bindAddress: "127.0.0.1" };
const PROJECTS = { projects: '["alpha"]' };
const MODELS = { servedModels: '["churn"]' };

let plain: ProgramRun;
let projects: ProgramRun;
let models: ProgramRun;
let both: ProgramRun;
beforeAll(async () => {
    plain = await runProgram({ stack: "dev", config: DEV });
    projects = await runProgram({ stack: "dev", config: { ...DEV, ...PROJECTS } });
    models = await runProgram({ stack: "dev", config: { ...DEV, ...MODELS } });
    both = await runProgram({ stack: "dev", config: { ...DEV, ...PROJECTS, ...MODELS } });
});

test("the stack with both holds the base, each feature's additions, and nothing else", () => {
    expect(urnSet(both)).toEqual(composedUrnSet(plain, projects, models));
});

test("the one proxy routes the project and the model, and is replaced with either's container", () => {
    const proxy = containerByRole(both, "auth-proxy");
    const conf: string = proxy.inputs.uploads.find((u: { file: string }) => u.file === PROXY_CONFIG_PATH).content;
    expect(conf).toContain("location /projects/alpha/ {");
    expect(conf).toContain("location = /models/churn/invocations {");
    const labels: string[] = proxy.inputs.labels.map((l: { label: string }) => l.label);
    expect(labels).toEqual(expect.arrayContaining([
        "mlflow-platform.upstream-container",
        "mlflow-platform.project-upstream-container.alpha",
        expect.stringMatching(/churn$/),
    ]));
    // Each label holds the id (the mocks answer `<name>-id`) of the container it follows.
    const value = (label: string | RegExp) => proxy.inputs.labels.find((l: { label: string }) => (typeof label === "string" ? l.label === label : label.test(l.label))).value;
    const containers = both.ofType(T.container).map(c => c.name);
    expect(value("mlflow-platform.upstream-container")).toBe("mlflow-dev-tracking-mlflow-id");
    expect(value("mlflow-platform.project-upstream-container.alpha")).toBe(`${containers.find(n => /project-alpha-tracking/.test(n))}-id`);
    expect(value(/churn$/)).toBe(`${containers.find(n => /model-churn-server$/.test(n))}-id`);
});
