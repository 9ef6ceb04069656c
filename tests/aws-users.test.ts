// The aws target with team accounts, under mocks: which resources the accounts add, the task at
// `/` (MLflow's auth env and secrets, the auth database's init container, the sidecar's token
// include), a project's task with its own token, key and accounts, the secrets' contents, the outputs, and
// no password, token or key in anything that is not a secret.
import { awsCalls as calls, REGION } from "./awsMocks";
import { mockVersionId, ProgramRun, RecordedResource, runProgram } from "./harness";
import { committedUrnSet, urnSet } from "./urnSets";
import { PROXY_TOKEN_INCLUDE_PATH, renderProxyTokenInclude } from "../components/authProxy/identity";
import { verifySha512Crypt } from "../components/authProxy/shaCrypt";
import { renderTlsDatabaseUri } from "../components/backendStore/aurora";
import { proxyCommand } from "../components/shared/ecs";
import { renderDatabaseInitStatements } from "../components/shared/projects";
import { renderAuthIni } from "../components/trackingServer/auth";
import { PROJECT_PRUNE_SPEC_ENV } from "../components/projectPrune/awsSpec";

const BASE = { "aws:region": REGION, target: "aws", dbMaxCapacity: "8", projects: '["alpha"]', servedModels: '["churn"]', retainDataOnDestroy: "false" };
const USERS = [{ name: "alice", role: "editor", projects: ["alpha"] }, { name: "bob", role: "viewer" }, { name: "ops", role: "admin" }];
const ARN = (type: string, name: string) => `arn:aws:mock:eu-west-1:123456789012:${type}/${name}`;
const generated = (name: string) => `pw-${name}-S3cret!@:%`;
const PASSWORDS: Record<string, string> = Object.fromEntries(["alice", "bob", "ops"].map(u => [u, generated(`mlflow-aws-user-${u}-password`)]));
const TOKEN = generated("mlflow-aws-proxy-token");
const FLASK_KEY = generated("mlflow-aws-flask-secret-key");
const AUTH_DB_PASSWORD = generated("mlflow-aws-auth-password");

let run: ProgramRun;
let without: ProgramRun;
beforeAll(async () => {
    run = await runProgram({ stack: "aws", config: { ...BASE, users: JSON.stringify(USERS) }, calls });
    without = await runProgram({ stack: "aws", config: BASE, calls });
}, 60000);

const named = (r: ProgramRun, name: string, type: string): RecordedResource => {
    const found = r.resources.filter(x => x.name === name && x.type === type);
    if (found.length !== 1) throw new Error(`expected one ${name} of ${type}, found ${found.length}`);
    return found[0];
};
const TASK = "aws:ecs/taskDefinition:TaskDefinition";
const VERSION = "aws:secretsmanager/secretVersion:SecretVersion";
const containers = (r: ProgramRun, task: string) => JSON.parse(named(r, task, TASK).inputs.containerDefinitions) as Array<Record<string, any>>;
const container = (r: ProgramRun, task: string, name: string) => containers(r, task).find(c => c.name === name)!;
const env = (c: Record<string, any>) => Object.fromEntries((c.environment as Array<{ name: string; value: string }>).map(e => [e.name, e.value]));
const versionOf = (r: ProgramRun, name: string) => named(r, name, VERSION);
const versionId = (r: ProgramRun, name: string) => mockVersionId(name, versionOf(r, name).inputs.secretString);

test("adds exactly the logins, the token and key with their secrets and the auth database; every URN stays", () => {
    const before = urnSet(without);
    expect(urnSet(run)).toEqual(expect.arrayContaining(before));
    const added = run.resources.filter(r => !before.includes(r.urn)).map(r => `${r.name} ${r.type.split(":").pop()}`).sort();
    expect(added).toEqual([
        "mlflow-aws-auth ProjectDatabase", "mlflow-aws-auth-password RandomPassword", "mlflow-aws-auth-secret Secret", "mlflow-aws-auth-secret SecretVersion",
        "mlflow-aws-flask-secret-key RandomPassword", "mlflow-aws-flask-secret-key Secret", "mlflow-aws-flask-secret-key SecretVersion",
        // The project's own token and Flask key: its task reads them, never `/`'s.
        "mlflow-aws-project-alpha-flask-secret-key RandomPassword", "mlflow-aws-project-alpha-flask-secret-key Secret", "mlflow-aws-project-alpha-flask-secret-key SecretVersion",
        "mlflow-aws-project-alpha-proxy-token RandomPassword", "mlflow-aws-project-alpha-proxy-token Secret", "mlflow-aws-project-alpha-proxy-token SecretVersion",
        "mlflow-aws-proxy-token RandomPassword", "mlflow-aws-proxy-token Secret", "mlflow-aws-proxy-token SecretVersion",
        "mlflow-aws-user-alice-password RandomPassword", "mlflow-aws-user-alice-salt RandomString",
        "mlflow-aws-user-bob-password RandomPassword", "mlflow-aws-user-bob-salt RandomString",
        "mlflow-aws-user-ops-password RandomPassword", "mlflow-aws-user-ops-salt RandomString",
    ]);
    expect(urnSet(run)).toEqual(committedUrnSet("aws-users", run));
});

test("of what the stack had, only the tasks and roles of `/` and the project, the htpasswd files (and the tasks pinned to their versions) and the prune's spec change", () => {
    const changed = without.resources.filter(r => JSON.stringify(run.resources.find(x => x.urn === r.urn)!.inputs) !== JSON.stringify(r.inputs));
    expect(changed.map(r => `${r.name} ${r.type.split(":").pop()}`).sort()).toEqual([
        // The model's and the project's sidecars name the new htpasswd version: they roll to admit the users.
        "mlflow-aws-model-churn-task TaskDefinition", "mlflow-aws-project-alpha-tracking-execution RolePolicy", "mlflow-aws-project-alpha-tracking-task TaskDefinition",
        "mlflow-aws-proxy-htpasswd SecretVersion", "mlflow-aws-proxy-project-alpha-htpasswd SecretVersion",
        "mlflow-aws-tracking-execution RolePolicy", "mlflow-aws-tracking-prune TaskDefinition", "mlflow-aws-tracking-task TaskDefinition",
    ]);
});

test("MLflow at /: the auth env in plain, the URI, token and key by reference, after the auth database's init", () => {
    const mlflow = container(run, "mlflow-aws-tracking-task", "mlflow");
    const e = env(mlflow);
    expect(e.MLFLOW_PLATFORM_AUTH_INI).toBe(renderAuthIni({ adminUsername: "mlflow" }));
    expect(JSON.parse(e.MLFLOW_PLATFORM_USERS)).toEqual([
        { name: "mlflow", role: "admin" }, { name: "alice", role: "editor" }, { name: "bob", role: "viewer" }, { name: "ops", role: "admin" },
        { name: "model-churn", role: "reader", models: ["churn"] },
    ]);
    const token = ARN("secretsmanager/secret", "mlflow-aws-proxy-token");
    expect(mlflow.secrets).toEqual(expect.arrayContaining([
        { name: "MLFLOW_PLATFORM_AUTH_DB_URI", valueFrom: `${ARN("secretsmanager/secret", "mlflow-aws-auth-secret")}:uri::` },
        { name: "MLFLOW_PLATFORM_PROXY_TOKEN", valueFrom: `${token}:token::${versionId(run, "mlflow-aws-proxy-token")}` },
        { name: "MLFLOW_FLASK_SERVER_SECRET_KEY", valueFrom: `${ARN("secretsmanager/secret", "mlflow-aws-flask-secret-key")}:::${versionId(run, "mlflow-aws-flask-secret-key")}` },
    ]));
    expect(mlflow.dependsOn).toEqual([{ containerName: "auth-db-init", condition: "SUCCESS" }]);
});

test("the auth database's init: the master secret `/` already has, its own password, statements for mlflow_auth only", () => {
    const init = container(run, "mlflow-aws-tracking-task", "auth-db-init");
    const master = run.outputs.databaseSecretArn as string;
    expect(init.essential).toBe(false);
    expect(init.entryPoint).toEqual(["python", "/opt/mlflow/project_db_init.py"]);
    expect(init.secrets).toEqual([
        { name: "MLFLOW_DB_USER", valueFrom: `${master}:username::` },
        { name: "MLFLOW_DB_PASSWORD", valueFrom: `${master}:password::` },
        { name: "MLFLOW_PROJECT_DB_PASSWORD", valueFrom: `${ARN("secretsmanager/secret", "mlflow-aws-auth-secret")}:password::` },
    ]);
    expect(JSON.parse(env(init).MLFLOW_PROJECT_DB_STATEMENTS)).toEqual(renderDatabaseInitStatements("mysql", "mlflow_auth", "mlflow_auth"));
});

test("the sidecar at /: writes the token include from its secret, and every MLflow location includes it", () => {
    const proxy = container(run, "mlflow-aws-tracking-task", "proxy");
    expect(proxy.command).toEqual(proxyCommand({ readers: true, identity: true }));
    expect(proxy.command[2]).toContain(`printf '%s' "$PROXY_TOKEN_INCLUDE" > ${PROXY_TOKEN_INCLUDE_PATH}`);
    expect(proxy.secrets).toContainEqual({ name: "PROXY_TOKEN_INCLUDE", valueFrom: `${ARN("secretsmanager/secret", "mlflow-aws-proxy-token")}:include::${versionId(run, "mlflow-aws-proxy-token")}` });
    // /health, / and the two reader API locations.
    expect(env(proxy).NGINX_CONF.split(`include ${PROXY_TOKEN_INCLUDE_PATH};`)).toHaveLength(5);
});

test("a project's task runs the auth app with its own token and key, its tables in its own database; never `/`'s secrets", () => {
    const task = "mlflow-aws-project-alpha-tracking-task";
    const mlflow = container(run, task, "mlflow");
    const e = env(mlflow);
    expect(e.MLFLOW_PLATFORM_AUTH_INI).toBe(renderAuthIni({ adminUsername: "alpha" }));
    // bob lists no project: not an account of alpha's server.
    expect(JSON.parse(e.MLFLOW_PLATFORM_USERS)).toEqual([{ name: "alpha", role: "admin" }, { name: "alice", role: "editor" }, { name: "ops", role: "admin" }]);
    expect(e.MLFLOW_PLATFORM_AUTH_DB).toBe("backend-store");
    expect(e.MLFLOW_DB_NAME).toBe("mlflow_alpha");
    const own = (n: string) => ARN("secretsmanager/secret", `mlflow-aws-project-alpha-${n}`);
    expect(mlflow.secrets.map((x: { name: string }) => x.name)).not.toContain("MLFLOW_PLATFORM_AUTH_DB_URI");
    expect(mlflow.secrets).toEqual(expect.arrayContaining([
        { name: "MLFLOW_PLATFORM_PROXY_TOKEN", valueFrom: `${own("proxy-token")}:token::${versionId(run, "mlflow-aws-project-alpha-proxy-token")}` },
        { name: "MLFLOW_FLASK_SERVER_SECRET_KEY", valueFrom: `${own("flask-secret-key")}:::${versionId(run, "mlflow-aws-project-alpha-flask-secret-key")}` },
    ]));
    // It starts after its own database's init (which holds the auth tables too); there is no auth-db-init in its task.
    expect(mlflow.dependsOn).toEqual([{ containerName: "project-db-init", condition: "SUCCESS" }]);
    expect(containers(run, task).map(c => c.name).sort()).toEqual(["mlflow", "project-db-init", "proxy"]);
    // The sidecar writes the project's token and sends it from /health and the project's location.
    const proxy = container(run, task, "proxy");
    expect(proxy.command).toEqual(proxyCommand({ readers: false, identity: true }));
    expect(proxy.secrets).toContainEqual({ name: "PROXY_TOKEN_INCLUDE", valueFrom: `${own("proxy-token")}:include::${versionId(run, "mlflow-aws-project-alpha-proxy-token")}` });
    expect(env(proxy).NGINX_CONF.split(`include ${PROXY_TOKEN_INCLUDE_PATH};`)).toHaveLength(3);
    const text = JSON.stringify(containers(run, task));
    expect(text).not.toMatch(/mlflow-aws-proxy-token|mlflow-aws-flask-secret-key|mlflow-aws-auth-secret|auth-db-init/);
    expect(JSON.parse(versionOf(run, "mlflow-aws-project-alpha-proxy-token").inputs.secretString).token).toBe(generated("mlflow-aws-project-alpha-proxy-token"));
    expect(generated("mlflow-aws-project-alpha-proxy-token")).not.toBe(TOKEN);
});

test("a project's htpasswd holds its login, members and admins; its role reads its own secrets only", () => {
    const lines = (versionOf(run, "mlflow-aws-proxy-project-alpha-htpasswd").inputs.secretString as string).trim().split("\n");
    const users = lines.map(l => l.split(":")[0]);
    expect(users).toEqual(["alpha", "alice", "ops"]);
    for (const [i, u] of users.entries()) if (u !== "alpha") expect(verifySha512Crypt(PASSWORDS[u], lines[i].split(":")[1])).toBe(true);
    const projectPolicy = JSON.stringify(run.resources.find(r => r.name === "mlflow-aws-project-alpha-tracking-execution" && r.type === "aws:iam/rolePolicy:RolePolicy")!.inputs.policy);
    expect(projectPolicy).not.toMatch(/mlflow-aws-proxy-token|mlflow-aws-flask-secret-key|auth-secret/);
    for (const n of ["proxy-token", "flask-secret-key"]) expect(projectPolicy).toContain(`mlflow-aws-project-alpha-${n}`);
});

test("`/`'s execution role may read the three auth secrets; `/`'s htpasswd holds every user", () => {
    const policy = JSON.parse(named(run, "mlflow-aws-tracking-execution", "aws:iam/rolePolicy:RolePolicy").inputs.policy);
    const secrets = policy.Statement.find((s: any) => s.Sid === "Secrets").Resource as string[];
    for (const n of ["mlflow-aws-auth-secret", "mlflow-aws-proxy-token", "mlflow-aws-flask-secret-key"]) expect(secrets).toContain(ARN("secretsmanager/secret", n));
    const root = (versionOf(run, "mlflow-aws-proxy-htpasswd").inputs.secretString as string).trim().split("\n").map(l => l.split(":")[0]);
    expect(root).toEqual(["mlflow", "alice", "bob", "ops"]);
});

test("the secrets' contents: the auth database's URI with TLS, the token and its include, the key", () => {
    const auth = versionOf(run, "mlflow-aws-auth-secret");
    expect(auth.secretInputs).toContain("secretString");
    expect(JSON.parse(auth.inputs.secretString)).toEqual({
        username: "mlflow_auth", password: AUTH_DB_PASSWORD,
        uri: renderTlsDatabaseUri({ engine: "mysql", host: "mlflow-aws-backend-cluster.cluster-abc123.eu-west-1.rds.amazonaws.com", port: 3306, database: "mlflow_auth", username: "mlflow_auth", password: AUTH_DB_PASSWORD }),
    });
    expect(JSON.parse(versionOf(run, "mlflow-aws-proxy-token").inputs.secretString)).toEqual({ token: TOKEN, include: renderProxyTokenInclude(TOKEN) });
    expect(versionOf(run, "mlflow-aws-flask-secret-key").inputs.secretString).toBe(FLASK_KEY);
    for (const n of ["mlflow-aws-proxy-token", "mlflow-aws-flask-secret-key"]) expect(versionOf(run, n).secretInputs).toContain("secretString");
});

test("the project prune never drops the auth database", () => {
    const prune = containers(run, "mlflow-aws-tracking-prune")[0];
    expect(JSON.parse(env(prune)[PROJECT_PRUNE_SPEC_ENV]).database.protected).toContain("mlflow_auth");
});

test("outputs: users plain, each password secret", () => {
    expect(run.outputs.users).toEqual({ alice: { role: "editor", projects: ["alpha"] }, bob: { role: "viewer", projects: [] }, ops: { role: "admin", projects: [] } });
    for (const [u, p] of Object.entries(PASSWORDS)) {
        expect(run.outputs[`userPassword-${u}`]).toBe(p);
        expect(run.secretOutputs[`userPassword-${u}`]).toBe(true);
    }
});

test("no password, token or key in any input that is not secret (task definitions included)", () => {
    const secrets = [...Object.values(PASSWORDS), TOKEN, FLASK_KEY, AUTH_DB_PASSWORD,
        generated("mlflow-aws-project-alpha-proxy-token"), generated("mlflow-aws-project-alpha-flask-secret-key")];
    for (const r of run.resources) {
        for (const [key, value] of Object.entries(r.inputs)) {
            if (r.secretInputs.includes(key)) continue;
            const text = JSON.stringify(value) ?? "";
            for (const s of secrets) expect([r.name, key, text.includes(s)]).toEqual([r.name, key, false]);
        }
    }
});
