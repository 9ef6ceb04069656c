// Removing a project with retainDataOnDestroy=false: the dev stack evaluated under
// mocks with the project-prune reconciler. It exists whenever retain is false (also with no
// projects, so removing the last one is covered), holds the current list, and removing a
// project changes only it (besides the removed project's resources and the proxy, which every
// project change replaces). With the default retain=true nothing of it exists.
import { PROJECT_PRUNE_TYPE } from "../components/projectPrune";
import { renderProjectPruneDatabaseScript, renderProjectPruneStoreScript } from "../components/projectPrune/scripts";
import { envRecord, ProgramRun, RecordedResource, runProgram } from "./harness";
import { containerByRole, T } from "./localInvariants";
import { committedUrnSet, urnSet } from "./urnSets";

const DEV = { target: "local", backend: "mysql", hostPort: "5000", bindAddress: "127.0.0.1", mlflowWorkers: "2" };
const NO_RETAIN = { ...DEV, retainDataOnDestroy: "false" };

let keepTwo: ProgramRun;
let pruneTwo: ProgramRun;
let pruneOne: ProgramRun;
let pruneNone: ProgramRun;
let base: ProgramRun;
let postgres: ProgramRun;
beforeAll(async () => {
    keepTwo = await runProgram({ stack: "dev", config: { ...DEV, projects: '["alpha","beta-2"]' } });
    pruneTwo = await runProgram({ stack: "dev", config: { ...NO_RETAIN, projects: '["alpha","beta-2"]' } });
    pruneOne = await runProgram({ stack: "dev", config: { ...NO_RETAIN, projects: '["alpha"]' } });
    pruneNone = await runProgram({ stack: "dev", config: NO_RETAIN });
    base = await runProgram({ stack: "dev", config: DEV });
    postgres = await runProgram({ stack: "dev", config: { ...NO_RETAIN, backend: "postgres", projects: '["alpha"]' } });
});

function pruneContainer(run: ProgramRun, part: "db" | "store"): RecordedResource {
    return run.one(T.container, new RegExp(`^mlflow-dev-prune-${part}$`));
}

const PRUNE_URNS = [
    `urn:pulumi:dev::mlflow-platform::mlflow:index:MlflowPlatform$${PROJECT_PRUNE_TYPE}::mlflow-dev-prune`,
    ...["db-image", "mc-image"].map(n => `urn:pulumi:dev::mlflow-platform::mlflow:index:MlflowPlatform$${PROJECT_PRUNE_TYPE}$docker:index/remoteImage:RemoteImage::mlflow-dev-prune-${n}`),
    ...["db", "store"].map(n => `urn:pulumi:dev::mlflow-platform::mlflow:index:MlflowPlatform$${PROJECT_PRUNE_TYPE}$docker:index/container:Container::mlflow-dev-prune-${n}`),
].sort();

test("retain=true (default): no reconciler, the committed URN set of a projects stack is unchanged", () => {
    for (const r of [keepTwo, base]) expect(r.resources.filter(x => x.type === PROJECT_PRUNE_TYPE || x.name.includes("-prune"))).toEqual([]);
    expect(urnSet(base)).toEqual(committedUrnSet("dev-mysql", base));
});

test("retain=false adds the reconciler and nothing else, with or without projects", () => {
    expect(urnSet(pruneNone).filter(u => !urnSet(base).includes(u))).toEqual(PRUNE_URNS);
    expect(urnSet(pruneTwo).filter(u => !urnSet(keepTwo).includes(u))).toEqual(PRUNE_URNS);
    expect(urnSet(base).filter(u => !urnSet(pruneNone).includes(u))).toEqual([]);
});

test("the database part: the server's own image and client, the admin password only in its environment", () => {
    const db = pruneContainer(pruneTwo, "db");
    const env = envRecord(db.inputs.envs);
    const rootPassword = envRecord(containerByRole(pruneTwo, "backend-store").inputs.envs).MYSQL_ROOT_PASSWORD;
    expect(env).toEqual({ DB_HOST: "db", DB_PORT: "3306", DB_ADMIN_USER: "root", DB_ADMIN_PASSWORD: rootPassword });
    expect(db.secretInputs).toContain("envs");
    expect(db.inputs).toMatchObject({ entrypoints: ["/bin/sh"], command: ["/init/project-prune-db.sh"], mustRun: false, restart: "no", image: "sha256:mlflow-dev-prune-db-image" });
    expect(db.inputs.uploads).toEqual([{
        file: "/init/project-prune-db.sh", executable: true,
        content: renderProjectPruneDatabaseScript("mysql", ["alpha", "beta-2"], { names: ["root", "mlflow", "mlflow", "mlflow_auth", "mlflow_auth"] }),
    }]);
    expect(pruneTwo.one(T.remoteImage, /prune-db-image$/).inputs.name).toBe(pruneTwo.one(T.remoteImage, /backend-image$/).inputs.name);
    expect(JSON.stringify(db.inputs.uploads)).not.toContain(rootPassword);
    expect(db.options.deleteBeforeReplace).toBe(true);
});

test("postgres: psql script, admin postgres, / database and role protected", () => {
    const db = pruneContainer(postgres, "db");
    expect(envRecord(db.inputs.envs)).toMatchObject({ DB_HOST: "db", DB_PORT: "5432", DB_ADMIN_USER: "postgres" });
    expect(db.inputs.uploads[0].content).toBe(renderProjectPruneDatabaseScript("postgres", ["alpha"], { names: ["postgres", "mlflow", "mlflow", "mlflow_auth", "mlflow_auth"] }));
});

test("the store part: the mc image, MinIO root only in its environment, the current list in its script", () => {
    const store = pruneContainer(pruneTwo, "store");
    const minio = envRecord(containerByRole(pruneTwo, "artifact-store").inputs.envs);
    expect(envRecord(store.inputs.envs)).toEqual({
        MINIO_ENDPOINT: "http://minio:9000", MINIO_ROOT_USER: minio.MINIO_ROOT_USER, MINIO_ROOT_PASSWORD: minio.MINIO_ROOT_PASSWORD, ARTIFACT_BUCKET: "mlflow-artifacts",
    });
    expect(store.secretInputs).toContain("envs");
    expect(store.inputs.uploads).toEqual([{ file: "/init/project-prune-store.sh", executable: true, content: renderProjectPruneStoreScript(["alpha", "beta-2"]) }]);
    expect(pruneNone.one(T.container, /^mlflow-dev-prune-store$/).inputs.uploads[0].content).toBe(renderProjectPruneStoreScript([]));
});

test("removing a project: its resources go, the reconciler's scripts change, nothing else but the proxy", () => {
    const before = urnSet(pruneTwo);
    const after = urnSet(pruneOne);
    const gone = before.filter(u => !after.includes(u));
    expect(after.filter(u => !before.includes(u))).toEqual([]);
    expect(gone.length).toBeGreaterThan(0);
    expect(gone.filter(u => !/mlflow-dev-(proxy-)?project-beta-2-/.test(u))).toEqual([]);
    const changed = pruneOne.resources.filter(r => {
        const was = pruneTwo.resources.find(x => x.urn === r.urn)!;
        return JSON.stringify(was.inputs) !== JSON.stringify(r.inputs);
    }).map(r => r.name).sort();
    // The backup's grant init and dump loop list one database fewer.
    expect(changed).toEqual(["mlflow-dev-backup-databases-container", "mlflow-dev-backup-grant", "mlflow-dev-proxy-nginx", "mlflow-dev-prune-db", "mlflow-dev-prune-store"]);
    expect(pruneContainer(pruneOne, "db").inputs.uploads[0].content).toBe(renderProjectPruneDatabaseScript("mysql", ["alpha"], { names: ["root", "mlflow", "mlflow", "mlflow_auth", "mlflow_auth"] }));
});
