// The dev stack with three projects beside the server at `/`, evaluated under mocks: each
// project's database, user, storage identity, policy scope, server, proxy location and
// outputs, and no change to any resource the stack had before the projects were added.
import { artifactAccessPolicy, minioBucketArn } from "../components/bucketInit/bucket";
import { projectNames, renderProjectDatabaseScript, renderProjectMysqlSql } from "../components/shared/projects";
import { verifySha512Crypt } from "../components/authProxy/shaCrypt";
import { envRecord, ProgramRun, RecordedResource, runProgram } from "./harness";
import { containerByRole, generatedSecrets, T } from "./localInvariants";
import { committedUrnSet, urnSet } from "./urnSets";

/** The backup's grant init and dump loop: they name every database, so a project changes their list, nothing else. */
const BACKUP_LISTS = /^mlflow-dev-backup-(grant|databases-container)$/;
function backupWithoutList(r: { inputs: Record<string, any> }): unknown {
    const envs = (r.inputs.envs as string[]).filter(e => !e.startsWith("BACKUP_DATABASES="));
    const uploads = (r.inputs.uploads as Array<{ file: string; content: string }>).map(u => ({ ...u, content: u.content.replace(/^GRANT .*\n/gm, "") }));
    return { ...r.inputs, envs, uploads };
}

const DEV = { target: "local", backend: "mysql", hostPort: "5000", bindAddress: "127.0.0.1" };
const PROJECTS = ["alpha", "beta-2:bob", "gamma"];
const NAMES = ["alpha", "beta-2", "gamma"];
// 4 projects at 4 workers exceed neither engine at 2 workers.
const CONFIG = { ...DEV, mlflowWorkers: "2", projects: JSON.stringify(PROJECTS) };

let run: ProgramRun;
let without: ProgramRun;
beforeAll(async () => {
    run = await runProgram({ stack: "dev", config: CONFIG });
    without = await runProgram({ stack: "dev", config: { ...DEV, mlflowWorkers: "2" } });
});

function labelled(r: ProgramRun, role: string): RecordedResource[] {
    return r.ofType(T.container).filter(c => (c.inputs.labels ?? []).some((l: any) => l.label === "mlflow-platform/role" && l.value === role));
}

function one(r: ProgramRun, role: string, project: string): RecordedResource {
    const found = labelled(r, role).filter(c => c.name.startsWith(`mlflow-dev-project-${project}-`));
    if (found.length !== 1) throw new Error(`expected one ${role} of ${project}, found ${found.length}`);
    return found[0];
}

test("adding projects adds resources and changes no URN the stack had", () => {
    const before = urnSet(without);
    const after = urnSet(run);
    expect(after).toEqual(expect.arrayContaining(before));
    // What is new belongs to a project: every name carries one.
    const added = after.filter(u => !before.includes(u));
    expect(added.filter(u => !NAMES.some(n => u.includes(`mlflow-dev-project-${n}-`) || u.includes(`mlflow-dev-proxy-project-${n}-`)))).toEqual([]);
    // Per project: 3 components (database, bucket init, tracking); children: database 3 (password, image, init),
    // bucket init 3 (secret key, image, mc), tracking 1 (mlflow; the image is shared); the proxy 2 (salt, password);
    // garbage collection 2 (the component and its container).
    expect(added).toHaveLength(NAMES.length * (3 + 3 + 3 + 1 + 2 + 2));
    expect(urnSet(run)).toEqual(committedUrnSet("dev-mysql-projects", run));
});

test("the resources the stack had keep their inputs, except the proxy's config, htpasswd files and labels", () => {
    for (const r of without.resources) {
        const same = run.resources.find(x => x.urn === r.urn)!;
        if (/proxy-nginx$/.test(r.name)) continue;
        // The backup dumps and grants each project's database too: its list is all that changes.
        if (BACKUP_LISTS.test(r.name)) {
            expect(backupWithoutList(same)).toEqual(backupWithoutList(r));
            continue;
        }
        expect({ name: r.name, inputs: same.inputs }).toEqual({ name: r.name, inputs: r.inputs });
    }
    expect(envRecord(run.one(T.container, /^mlflow-dev-backup-databases-container$/).inputs.envs).BACKUP_DATABASES).toBe("mlflow mlflow_alpha mlflow_beta_2 mlflow_gamma");
    const proxy = containerByRole(run, "auth-proxy");
    expect(proxy.inputs.uploads.map((u: any) => u.file)).toEqual([
        "/etc/nginx/conf.d/default.conf", "/etc/nginx/mlflow.htpasswd", "/etc/nginx/metrics.htpasswd",
        ...NAMES.map(n => `/etc/nginx/projects/${n}.htpasswd`),
    ]);
});

describe.each(NAMES)("project %s", name => {
    const n = projectNames(name);
    const username = name === "beta-2" ? "bob" : name;

    test("its own database and user, created by a one-shot init container against the db server", () => {
        const init = one(run, "project-database", name);
        const env = envRecord(init.inputs.envs);
        const rootPassword = envRecord(containerByRole(run, "backend-store").inputs.envs).MYSQL_ROOT_PASSWORD;
        expect(env).toMatchObject({ DB_HOST: "db", DB_PORT: "3306", DB_ADMIN_USER: "root", DB_ADMIN_PASSWORD: rootPassword, MLFLOW_DB_USER: n.databaseUser, MLFLOW_DB_NAME: n.database });
        expect(init.inputs.entrypoints).toEqual(["/bin/sh"]);
        expect(init.inputs.command).toEqual(["/init/project-db.sh"]);
        expect(init.inputs.uploads).toEqual([
            { file: "/init/project-db.sh", content: renderProjectDatabaseScript("mysql"), executable: true },
            { file: "/init/project-db.sql", content: renderProjectMysqlSql(n.database, n.databaseUser, env.MLFLOW_DB_PASSWORD) },
        ]);
        expect(init.secretInputs).toEqual(expect.arrayContaining(["envs", "uploads"]));
        expect(init.inputs).toMatchObject({ mustRun: false, restart: "no", image: "sha256:mlflow-dev-project-" + name + "-database-image" });
        expect(init.inputs.ports ?? []).toEqual([]);
    });

    test("its server connects as that user to that database, artifacts under its prefix, routes under its path", () => {
        const server = one(run, "tracking-server", name);
        const env = envRecord(server.inputs.envs);
        const dbPassword = envRecord(one(run, "project-database", name).inputs.envs).MLFLOW_DB_PASSWORD;
        const uri = new URL(env.MLFLOW_BACKEND_STORE_URI);
        expect([uri.hostname, uri.pathname, decodeURIComponent(uri.username), decodeURIComponent(uri.password)]).toEqual(["db", `/${n.database}`, n.databaseUser, dbPassword]);
        expect(env.MLFLOW_STATIC_PREFIX).toBe(`/projects/${name}`);
        expect(env.MLFLOW_ARTIFACTS_DESTINATION).toBe(`s3proxied://mlflow-artifacts/projects/${name}/`);
        expect(server.inputs.networksAdvanced[0].aliases).toEqual([n.hostname]);
        expect(server.inputs.healthcheck.tests[3]).toContain(`/projects/${name}/health`);
        // The image built once for the server at `/`.
        expect(server.inputs.image).toBe(containerByRole(without, "tracking-server").inputs.image);
        expect(server.secretInputs).toContain("envs");
    });

    test("its storage identity: its own key, a policy covering only its prefix", () => {
        const init = one(run, "bucket-init", name);
        const env = envRecord(init.inputs.envs);
        expect(env.MLFLOW_ACCESS_KEY).toBe(n.accessKeyId);
        expect(env.MLFLOW_POLICY_NAME).toBe(`${n.accessKeyId}-artifacts`);
        const script: string = init.inputs.uploads[0].content;
        const policy = JSON.parse(/<<'POLICY'\n([\s\S]*?)\nPOLICY\n/.exec(script)![1]);
        expect(policy).toEqual(artifactAccessPolicy(minioBucketArn("mlflow-artifacts"), `projects/${name}/`));
        const server = envRecord(one(run, "tracking-server", name).inputs.envs);
        expect([server.AWS_ACCESS_KEY_ID, server.AWS_SECRET_ACCESS_KEY]).toEqual([env.MLFLOW_ACCESS_KEY, env.MLFLOW_SECRET_KEY]);
    });

    test("its own login on the proxy and its outputs", () => {
        const proxy = containerByRole(run, "auth-proxy");
        const htpasswd: string = proxy.inputs.uploads.find((u: any) => u.file === n.htpasswdPath).content;
        const out = (run.outputs.projects as Record<string, any>)[name];
        expect(out).toEqual({ trackingUri: `http://localhost:5000/projects/${name}`, username, password: `pw-mlflow-dev-proxy-project-${name}-password-S3cret!@:%` });
        const [user, hash] = htpasswd.trim().split(":");
        expect(user).toBe(username);
        expect(verifySha512Crypt(out.password, hash)).toBe(true);
        expect(proxy.inputs.uploads[0].content).toContain(`location /projects/${name}/ {`);
        const ids = proxy.inputs.labels.filter((l: any) => l.label === `mlflow-platform.project-upstream-container.${name}`);
        expect(ids).toEqual([{ label: `mlflow-platform.project-upstream-container.${name}`, value: `${one(run, "tracking-server", name).name}-id` }]);
    });
});

test("the server at `/`'s storage identity is denied every project's prefix, whatever the project list", () => {
    const policyOf = (r: ProgramRun) => {
        const roots = labelled(r, "bucket-init").filter(c => !c.name.startsWith("mlflow-dev-project-"));
        expect(roots).toHaveLength(1);
        return JSON.parse(/<<'POLICY'\n([\s\S]*?)\nPOLICY\n/.exec(roots[0].inputs.uploads[0].content)![1]);
    };
    const policy = policyOf(run);
    expect(policy).toEqual(artifactAccessPolicy(minioBucketArn("mlflow-artifacts")));
    const deny = policy.Statement.filter((st: any) => st.Effect === "Deny");
    expect(deny).toEqual([expect.objectContaining({ Resource: ["arn:aws:s3:::mlflow-artifacts/projects/*"] })]);
    for (const n of NAMES) expect(projectNames(n).artifactPrefix.startsWith("projects/")).toBe(true);
    // The same document without projects: adding one never rewrites `/`'s identity.
    expect(policyOf(without)).toEqual(policy);
});

test("projects output: passwords secret, no project's secret on any command line", () => {
    expect(run.secretOutputs.projects).toBe(true);
    const secrets = generatedSecrets(run);
    for (const c of run.ofType(T.container)) {
        const argv = JSON.stringify([c.inputs.command ?? [], c.inputs.entrypoints ?? []]);
        for (const s of secrets) expect(argv).not.toContain(s);
    }
});

test("adding a third project changes nothing of the first two but the proxy's config, htpasswd files and labels", async () => {
    const two = await runProgram({ stack: "dev", config: { ...CONFIG, projects: JSON.stringify(PROJECTS.slice(0, 2)) } });
    expect(urnSet(run)).toEqual(expect.arrayContaining(urnSet(two)));
    for (const r of two.resources) {
        if (/proxy-nginx$/.test(r.name)) continue;
        const same = run.resources.find(x => x.urn === r.urn)!;
        if (BACKUP_LISTS.test(r.name)) {
            expect(backupWithoutList(same)).toEqual(backupWithoutList(r));
            continue;
        }
        expect({ name: r.name, inputs: same.inputs }).toEqual({ name: r.name, inputs: r.inputs });
    }
});

test("without projects there is no projects output", () => {
    expect(without.outputs.projects).toBeUndefined();
});

test("postgres: the init script runs psql with PGPASSWORD from the environment, nothing secret uploaded", async () => {
    const pg = await runProgram({ stack: "dev", config: { ...CONFIG, backend: "postgres" } });
    const init = one(pg, "project-database", "alpha");
    const env = envRecord(init.inputs.envs);
    expect(env).toMatchObject({ DB_HOST: "db", DB_PORT: "5432", DB_ADMIN_USER: "postgres", MLFLOW_DB_USER: "mlflow_alpha", MLFLOW_DB_NAME: "mlflow_alpha" });
    expect(env.DB_ADMIN_PASSWORD).toBe(envRecord(containerByRole(pg, "backend-store").inputs.envs).POSTGRES_PASSWORD);
    expect(init.inputs.uploads).toEqual([{ file: "/init/project-db.sh", content: renderProjectDatabaseScript("postgres"), executable: true }]);
    expect(new URL(envRecord(one(pg, "tracking-server", "alpha").inputs.envs).MLFLOW_BACKEND_STORE_URI).protocol).toBe("postgresql+psycopg2:");
});
