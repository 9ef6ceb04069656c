// The dev stack with team accounts, evaluated under mocks: each user's login (generated or
// given), the proxy's identity token, MLflow's auth app environment and its own database, the
// outputs, and nothing else of the stack touched but the MLflow and proxy containers.
import { renderDatabaseUri } from "../components/backendStore/database";
import { PROXY_TOKEN_INCLUDE_PATH, renderProxyTokenInclude } from "../components/authProxy/identity";
import { verifySha512Crypt } from "../components/authProxy/shaCrypt";
import { renderProjectDatabaseScript, renderProjectMysqlSql } from "../components/shared/projects";
import { renderAuthIni } from "../components/trackingServer/auth";
import { envRecord, ProgramRun, RecordedResource, runProgram } from "./harness";
import { containerByRole, T } from "./localInvariants";
import { committedUrnSet, urnSet } from "./urnSets";

const DEV = { target: "local", backend: "mysql", hostPort: "5000", bindAddress: "127.0.0.1", mlflowWorkers: "2", projects: '["alpha","beta-2:bob2"]', servedModels: '["churn"]' };
const USERS = [{ name: "alice", role: "editor", projects: ["alpha"] }, { name: "bob", role: "viewer" }, { name: "ops", role: "admin" }];
const BOB_PASSWORD = "bobs-own-chosen-password";
const CONFIG = { ...DEV, users: JSON.stringify(USERS), userPasswords: JSON.stringify({ bob: BOB_PASSWORD }) };
const generated = (name: string) => `pw-${name}-S3cret!@:%`;
const PASSWORDS: Record<string, string> = { alice: generated("mlflow-dev-user-alice-password"), bob: BOB_PASSWORD, ops: generated("mlflow-dev-user-ops-password") };
const TOKEN = generated("mlflow-dev-proxy-token");
const FLASK_KEY = generated("mlflow-dev-flask-secret-key");

let run: ProgramRun;
let without: ProgramRun;
beforeAll(async () => {
    run = await runProgram({ stack: "dev", config: CONFIG });
    without = await runProgram({ stack: "dev", config: DEV });
});

function upload(proxy: RecordedResource, file: string): string {
    const found = (proxy.inputs.uploads as Array<{ file: string; content: string }>).filter(u => u.file === file);
    if (found.length !== 1) throw new Error(`expected one upload ${file}, found ${found.length}`);
    return found[0].content;
}

/** user -> the password among `candidates` its htpasswd line verifies. */
function logins(htpasswd: string, candidates: readonly string[]): Record<string, string | undefined> {
    return Object.fromEntries(htpasswd.trim().split("\n").map(line => {
        const [user, hash] = line.split(":", 2);
        return [user, candidates.find(p => verifySha512Crypt(p, hash))];
    }));
}

test("adds exactly each user's login, the token, the Flask key and the auth database; every URN the stack had stays", () => {
    const before = urnSet(without);
    const added = urnSet(run).filter(u => !before.includes(u)).map(u => u.slice(u.lastIndexOf("::") + 2)).sort();
    expect(urnSet(run)).toEqual(expect.arrayContaining(before));
    expect(added).toEqual([
        "mlflow-dev-auth", "mlflow-dev-auth-image", "mlflow-dev-auth-init", "mlflow-dev-auth-password",
        "mlflow-dev-flask-secret-key",
        // Each project's server gets its own token and Flask key (never `/`'s).
        "mlflow-dev-project-alpha-flask-secret-key", "mlflow-dev-project-alpha-proxy-token",
        "mlflow-dev-project-beta-2-flask-secret-key", "mlflow-dev-project-beta-2-proxy-token",
        "mlflow-dev-proxy-token",
        // bob's password is given: no RandomPassword for it, only the salt of its htpasswd entry.
        "mlflow-dev-user-alice-password", "mlflow-dev-user-alice-salt", "mlflow-dev-user-bob-salt",
        "mlflow-dev-user-ops-password", "mlflow-dev-user-ops-salt",
    ]);
    expect(urnSet(run)).toEqual(committedUrnSet("dev-users", run));
});

test("only the MLflow servers (/ and each project's), the proxy and the backup's database list change; no store, volume or database does", () => {
    const changed = without.resources.filter(r => {
        const same = run.resources.find(x => x.urn === r.urn)!;
        return JSON.stringify(same.inputs) !== JSON.stringify(r.inputs);
    }).map(r => r.name);
    // The backup's grant init and dump loop add the auth app's database to their list.
    expect(changed.sort()).toEqual([
        "mlflow-dev-backup-databases-container", "mlflow-dev-backup-grant",
        "mlflow-dev-project-alpha-tracking-mlflow", "mlflow-dev-project-beta-2-tracking-mlflow", "mlflow-dev-proxy-nginx", "mlflow-dev-tracking-mlflow",
    ]);
});

test("MLflow gets the auth app's ini, the accounts with model readers, and its secrets, all in the secret env", () => {
    const mlflow = run.one(T.container, /^mlflow-dev-tracking-mlflow$/);
    const env = envRecord(mlflow.inputs.envs);
    expect(mlflow.secretInputs).toContain("envs");
    expect(env.MLFLOW_PLATFORM_AUTH_INI).toBe(renderAuthIni({ adminUsername: "mlflow" }));
    expect(JSON.parse(env.MLFLOW_PLATFORM_USERS)).toEqual([
        { name: "mlflow", role: "admin" }, { name: "alice", role: "editor" }, { name: "bob", role: "viewer" }, { name: "ops", role: "admin" },
        { name: "model-churn", role: "reader", models: ["churn"] },
    ]);
    expect(env.MLFLOW_PLATFORM_AUTH_DB_URI).toBe(renderDatabaseUri({
        engine: "mysql", host: "db", port: 3306, database: "mlflow_auth", username: "mlflow_auth", password: generated("mlflow-dev-auth-password"),
    }));
    expect(env.MLFLOW_PLATFORM_PROXY_TOKEN).toBe(TOKEN);
    expect(env.MLFLOW_FLASK_SERVER_SECRET_KEY).toBe(FLASK_KEY);
    expect(env.MLFLOW_BACKEND_STORE_URI).not.toContain("mlflow_auth");
});

test("each project's MLflow runs the auth app: its login (admin), the admins and its members; its own token and key; tables in its own database", () => {
    const expected: Record<string, { login: string; users: Array<{ name: string; role: string }> }> = {
        alpha: { login: "alpha", users: [{ name: "alpha", role: "admin" }, { name: "alice", role: "editor" }, { name: "ops", role: "admin" }] },
        // bob is a viewer of no project: not an account there (MLflow answers 401 even with the project's token).
        "beta-2": { login: "bob2", users: [{ name: "bob2", role: "admin" }, { name: "ops", role: "admin" }] },
    };
    for (const [project, want] of Object.entries(expected)) {
        const c = run.one(T.container, new RegExp(`^mlflow-dev-project-${project}-tracking-mlflow$`));
        const env = envRecord(c.inputs.envs);
        expect(c.secretInputs).toContain("envs");
        expect(env.MLFLOW_PLATFORM_AUTH_INI).toBe(renderAuthIni({ adminUsername: want.login }));
        expect(JSON.parse(env.MLFLOW_PLATFORM_USERS)).toEqual(want.users);
        // Its grants live beside its experiments: no auth database URI, the backend store's own database.
        expect(env.MLFLOW_PLATFORM_AUTH_DB).toBe("backend-store");
        expect(env.MLFLOW_PLATFORM_AUTH_DB_URI).toBeUndefined();
        expect(env.MLFLOW_BACKEND_STORE_URI).toContain(`/mlflow_${project.replace(/-/g, "_")}?`);
        expect(env.MLFLOW_PLATFORM_PROXY_TOKEN).toBe(generated(`mlflow-dev-project-${project}-proxy-token`));
        expect(env.MLFLOW_FLASK_SERVER_SECRET_KEY).toBe(generated(`mlflow-dev-project-${project}-flask-secret-key`));
        expect([env.MLFLOW_PLATFORM_PROXY_TOKEN, env.MLFLOW_FLASK_SERVER_SECRET_KEY]).not.toContain(TOKEN);
        expect([env.MLFLOW_PLATFORM_PROXY_TOKEN, env.MLFLOW_FLASK_SERVER_SECRET_KEY]).not.toContain(FLASK_KEY);
        // No container of the project waits for `/`'s auth database init.
        expect(run.dependsOn(c, run.one(T.container, /^mlflow-dev-auth-init$/))).toBe(false);
    }
});

test("the auth database: its own database and user on the db server, by a one-shot init like a project's", () => {
    const init = run.one(T.container, /^mlflow-dev-auth-init$/);
    const env = envRecord(init.inputs.envs);
    expect(env).toMatchObject({ DB_HOST: "db", DB_ADMIN_USER: "root", MLFLOW_DB_USER: "mlflow_auth", MLFLOW_DB_NAME: "mlflow_auth", MLFLOW_DB_PASSWORD: generated("mlflow-dev-auth-password") });
    expect(init.inputs.uploads).toEqual([
        { file: "/init/project-db.sh", content: renderProjectDatabaseScript("mysql"), executable: true },
        { file: "/init/project-db.sql", content: renderProjectMysqlSql("mlflow_auth", "mlflow_auth", env.MLFLOW_DB_PASSWORD) },
    ]);
    expect(init.secretInputs).toEqual(expect.arrayContaining(["envs", "uploads"]));
    // MLflow waits for it (its URI resolves after the init exited 0).
    expect(run.dependsOn(run.one(T.container, /^mlflow-dev-tracking-mlflow$/), init)).toBe(true);
});

test("the proxy: every user in /'s htpasswd, members and admins in a project's, the token in a secret include", () => {
    const proxy = containerByRole(run, "auth-proxy");
    const all = [...Object.values(PASSWORDS), generated("mlflow-dev-proxy-password"), generated("mlflow-dev-proxy-project-alpha-password"), generated("mlflow-dev-proxy-project-beta-2-password")];
    expect(logins(upload(proxy, "/etc/nginx/mlflow.htpasswd"), all)).toEqual({
        mlflow: generated("mlflow-dev-proxy-password"), alice: PASSWORDS.alice, bob: BOB_PASSWORD, ops: PASSWORDS.ops,
    });
    expect(logins(upload(proxy, "/etc/nginx/projects/alpha.htpasswd"), all)).toEqual({ alpha: generated("mlflow-dev-proxy-project-alpha-password"), alice: PASSWORDS.alice, ops: PASSWORDS.ops });
    expect(logins(upload(proxy, "/etc/nginx/projects/beta-2.htpasswd"), all)).toEqual({ bob2: generated("mlflow-dev-proxy-project-beta-2-password"), ops: PASSWORDS.ops });
    expect(upload(proxy, PROXY_TOKEN_INCLUDE_PATH)).toBe(renderProxyTokenInclude(TOKEN));
    expect(proxy.secretInputs).toContain("uploads");
    const conf = upload(proxy, "/etc/nginx/conf.d/default.conf");
    // /health, / and the two reader API locations and /'s scrape path send `/`'s token; each project's location and scrape path its own.
    expect(conf.split(`include ${PROXY_TOKEN_INCLUDE_PATH};`)).toHaveLength(6);
    expect(conf).toContain('proxy_set_header X-Mlflow-Platform-User "platform:metrics-scraper";');
    for (const p of ["alpha", "beta-2"]) {
        const own = generated(`mlflow-dev-project-${p}-proxy-token`);
        expect(upload(proxy, `/etc/nginx/projects/${p}-token.inc`)).toBe(renderProxyTokenInclude(own));
        expect(conf.split(`include /etc/nginx/projects/${p}-token.inc;`)).toHaveLength(3);
        expect(conf).not.toContain(own);
    }
    expect(conf).not.toContain(TOKEN);
});

test("each generated password is a 24-character RandomPassword; token and Flask key 48 alphanumerics", () => {
    for (const u of ["alice", "ops"]) expect(run.one(T.password, new RegExp(`^mlflow-dev-user-${u}-password$`)).inputs).toMatchObject({ length: 24, special: false });
    for (const n of ["proxy-token", "flask-secret-key", "project-alpha-proxy-token", "project-alpha-flask-secret-key"]) {
        expect(run.one(T.password, new RegExp(`^mlflow-dev-${n}$`)).inputs).toMatchObject({ length: 48, special: false });
    }
});

test("outputs: users not secret, one secret password per user, given or generated", () => {
    expect(run.outputs.users).toEqual({ alice: { role: "editor", projects: ["alpha"] }, bob: { role: "viewer", projects: [] }, ops: { role: "admin", projects: [] } });
    expect(run.secretOutputs.users).toBe(false);
    for (const [user, password] of Object.entries(PASSWORDS)) {
        expect(run.outputs[`userPassword-${user}`]).toBe(password);
        expect(run.secretOutputs[`userPassword-${user}`]).toBe(true);
    }
    expect(Object.keys(without.outputs).filter(k => k === "users" || k.startsWith("userPassword-"))).toEqual([]);
});

test("no password, token or key in any input that is not secret, nor in any plain output", () => {
    const secrets = [...Object.values(PASSWORDS), TOKEN, FLASK_KEY, generated("mlflow-dev-auth-password"),
        ...["alpha", "beta-2"].flatMap(p => [generated(`mlflow-dev-project-${p}-proxy-token`), generated(`mlflow-dev-project-${p}-flask-secret-key`)])];
    for (const r of run.resources) {
        for (const [key, value] of Object.entries(r.inputs)) {
            if (r.secretInputs.includes(key)) continue;
            const text = JSON.stringify(value) ?? "";
            for (const s of secrets) expect([r.name, key, text.includes(s)]).toEqual([r.name, key, false]);
        }
    }
    for (const [key, value] of Object.entries(run.outputs)) {
        if (run.secretOutputs[key]) continue;
        for (const s of secrets) expect([key, JSON.stringify(value).includes(s)]).toEqual([key, false]);
    }
});

test("a changed password changes only that user's line: the others' entries stay byte for byte", async () => {
    const changed = await runProgram({ stack: "dev", config: { ...CONFIG, userPasswords: JSON.stringify({ bob: "a-new-password-for-bob" }) } });
    const lines = (r: ProgramRun) => upload(containerByRole(r, "auth-proxy"), "/etc/nginx/mlflow.htpasswd").trim().split("\n");
    const [a, b] = [lines(run), lines(changed)];
    expect(b.filter(l => !a.includes(l)).map(l => l.split(":")[0])).toEqual(["bob"]);
});

test("revoking alice (a member of alpha) changes alpha's htpasswd and alpha's accounts, and no other project's server", async () => {
    const removed = await runProgram({ stack: "dev", config: { ...CONFIG, users: JSON.stringify(USERS.filter(u => u.name !== "alice")) } });
    const users = (r: ProgramRun, project: string) =>
        (JSON.parse(envRecord(r.one(T.container, new RegExp(`^mlflow-dev-project-${project}-tracking-mlflow$`)).inputs.envs).MLFLOW_PLATFORM_USERS) as Array<{ name: string }>).map(u => u.name);
    // A changed env replaces the container: its entrypoint syncs again and deletes alice with her grants there.
    expect(users(removed, "alpha")).toEqual(["alpha", "ops"]);
    expect(Object.keys(logins(upload(containerByRole(removed, "auth-proxy"), "/etc/nginx/projects/alpha.htpasswd"), []))).toEqual(["alpha", "ops"]);
    const beta = (r: ProgramRun) => r.one(T.container, /^mlflow-dev-project-beta-2-tracking-mlflow$/).inputs;
    expect(JSON.stringify(beta(removed))).toBe(JSON.stringify(beta(run)));
});

