import { isPrunableDatabaseName, PRUNE_DATABASE_PATTERN } from "./scripts";
import {
    PROJECT_PRUNE_COMMAND, PROJECT_PRUNE_SCRIPT, PROJECT_PRUNE_SPEC_ENV, PRUNE_GRACE_SECONDS, pruneSchedulerPolicy, pruneSchedulerTrust,
    type PruneNameRule, renderProjectListValue, renderProjectPruneSpec,
} from "./awsSpec";
import { PROJECT_NAME } from "../shared/projects";

const ROOT = { names: ["mlflow"] };
/** The script's database names of the kept projects (read from the list at run time). */
const keptDatabases = (kept: readonly string[]) => kept.map(k => `mlflow_${k.replace(/-/g, "_")}`);

/** The script's `allowed` rule, in TypeScript: the e2e suite runs the Python one on the same names. */
function allowed(name: string, rule: PruneNameRule, extra: readonly string[] = []): boolean {
    return new RegExp(rule.pattern).test(name) && name.length >= rule.minLength && name.length <= rule.maxLength
        && !rule.protected.includes(name) && !extra.includes(name);
}

describe("renderProjectPruneSpec: database names follow the Docker reconciler's rule exactly", () => {
    const names = [
        "mlflow_alpha", "mlflow_beta_2", "mlflow_gamma", "mlflow", "mlflow_default", "root", "postgres", "mlflow_Alpha", "MLFLOW_ALPHA",
        "mlflow_1a", "mlflow__a", "mlflow_a__b", "mlflow_ab_", "mlflow_a", "mlflow_" + "a".repeat(24), "mlflow_" + "a".repeat(25),
        "mlflow_alpha;drop", "mlflow_alpha'", "xmlflow_alpha", "mlflow-alpha", "information_schema", "rdsadmin",
    ];
    test.each([[["alpha"]], [["beta-2", "gamma"]], [["alpha", "beta-2", "gamma"]], [[]]])("kept %j (from the list at run time)", kept => {
        const rule = renderProjectPruneSpec("mysql", ROOT, "bucket", "list").database;
        for (const n of names) expect({ n, allowed: allowed(n, rule, keptDatabases(kept)) }).toEqual({ n, allowed: isPrunableDatabaseName(n, kept, ROOT) });
        // The admin user comes from the secret at run time: the script adds it to the protected names.
        expect(allowed("mlflow_admin", rule, ["mlflow_admin"])).toBe(false);
        expect(allowed("mlflow_admin", rule)).toBe(true);
    });
    test("protected in the spec: the reserved name, `/`'s database (no project: those come from the list); the pattern is the Docker one", () => {
        const rule = renderProjectPruneSpec("postgres", ROOT, "bucket", "list").database;
        expect(rule.protected).toEqual(["mlflow", "mlflow_default"]);
        expect([rule.pattern, rule.minLength, rule.maxLength]).toEqual([PRUNE_DATABASE_PATTERN, 9, 31]);
    });
});

describe("renderProjectPruneSpec: SQL per engine", () => {
    test("mysql: users before databases (a removed task loses its grants first), lock wait bounded, names quoted", () => {
        const db = renderProjectPruneSpec("mysql", ROOT, "bucket", "list").database;
        expect(db.session).toEqual(["SET SESSION lock_wait_timeout = 60"]);
        expect(db.steps).toEqual([
            { list: "SELECT User FROM mysql.user WHERE Host = '%' ORDER BY 1", drop: "DROP USER IF EXISTS '{name}'@'%'" },
            { list: "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1", drop: "DROP DATABASE IF EXISTS `{name}`" },
        ]);
    });
    test("postgres: databases WITH (FORCE) before roles (a role owning a database cannot be dropped)", () => {
        const db = renderProjectPruneSpec("postgres", ROOT, "bucket", "list").database;
        expect(db.session).toEqual([]);
        expect(db.steps.map(s => s.drop)).toEqual(["DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)", "DROP ROLE IF EXISTS \"{name}\""]);
    });
});

describe("renderProjectPruneSpec: store prefixes", () => {
    test.each<[string, string[], boolean]>([
        ["beta", ["alpha"], true],
        ["beta-2", ["alpha"], true],
        ["alpha", ["alpha"], false],
        ["default", [], false],
        ["Upper", [], false],
        ["a", [], false],
        ["a--b", [], false],
        ["x-", [], false],
        ["1abc", [], false],
        ["a".repeat(24), [], true],
        ["a".repeat(25), [], false],
        ["", [], false],
    ])("projects/%s/ with kept %j: %s", (name, kept, expected) => {
        const store = renderProjectPruneSpec("mysql", ROOT, "my-bucket", "list").store;
        expect(allowed(name, store, kept)).toBe(expected);
        expect([store.bucket, store.prefix, store.pattern]).toEqual(["my-bucket", "projects/", PROJECT_NAME.source]);
    });
    test("the spec names the list parameter and the grace period, and no project", () => {
        expect(renderProjectPruneSpec("mysql", ROOT, "b", "mlflow-aws-tracking-prune-projects-0a1b2c3").list)
            .toEqual({ parameter: "mlflow-aws-tracking-prune-projects-0a1b2c3", graceSeconds: PRUNE_GRACE_SECONDS });
        expect(PRUNE_GRACE_SECONDS).toBeGreaterThanOrEqual(3600);
    });
});

describe("renderProjectListValue: what pulumi up writes to the parameter", () => {
    test("sorted, unique JSON names; a name that is not a project name is refused (the config check already ran)", () => {
        expect(renderProjectListValue(["gamma", "alpha", "beta-2", "alpha"])).toBe('["alpha","beta-2","gamma"]');
        expect(renderProjectListValue([])).toBe("[]");
        expect(() => renderProjectListValue(["Bad_Name"])).toThrow(/Bad_Name/);
    });
    test("40 projects of the longest name fit a Standard parameter (4 KB)", () => {
        const names = Array.from({ length: 40 }, (_, i) => `p${String(i).padStart(2, "0")}${"a".repeat(21)}`);
        expect(Buffer.byteLength(renderProjectListValue(names))).toBeLessThan(4096);
    });
});

describe("the scheduler role's documents", () => {
    const cluster = "arn:aws:ecs:eu-west-1:123456789012:cluster/mlflow-aws-tracking-cluster-0a1b";
    test("trust: EventBridge Scheduler of this account only", () => {
        expect(JSON.parse(pruneSchedulerTrust(cluster)).Statement[0].Condition).toEqual({ StringEquals: { "aws:SourceAccount": "123456789012" } });
    });
    test("RunTask of the family's revisions in the one cluster; PassRole of the given roles to ECS tasks; other partitions kept", () => {
        const doc = pruneSchedulerPolicy({ clusterArn: cluster.replace("arn:aws:", "arn:aws-cn:"), family: "f", roleArns: ["r2", "r1"] });
        expect(doc.Statement[0].Resource).toEqual(["arn:aws-cn:ecs:eu-west-1:123456789012:task-definition/f:*"]);
        expect(doc.Statement[1].Resource).toEqual(["r1", "r2"]);
    });
    test("not a regional ARN: refused", () => {
        expect(() => pruneSchedulerTrust("mlflow-aws-tracking-cluster")).toThrow(/not a regional ARN/);
    });
});

describe("the script", () => {
    test("runs from `python -c` (no file in the image), reads only its spec variable, stays small", () => {
        expect(PROJECT_PRUNE_COMMAND).toEqual(["python", "-c", PROJECT_PRUNE_SCRIPT]);
        expect(PROJECT_PRUNE_SCRIPT).toContain(`os.environ["${PROJECT_PRUNE_SPEC_ENV}"]`);
        expect(PROJECT_PRUNE_SCRIPT).toContain("from entrypoint import compose_backend_store_uri");
        // A bounded delete_objects batch (S3 accepts at most 1000 keys per request).
        expect(PROJECT_PRUNE_SCRIPT).toContain("keys[i:i + 1000]");
        expect(Buffer.byteLength(PROJECT_PRUNE_SCRIPT)).toBeLessThan(8192);
    });
    test("each part lists what exists BEFORE it reads the list (a project's data exists only after the list names it)", () => {
        const body = (fn: string) => PROJECT_PRUNE_SCRIPT.slice(PROJECT_PRUNE_SCRIPT.indexOf(`def ${fn}(`), PROJECT_PRUNE_SCRIPT.indexOf("\ndef ", PROJECT_PRUNE_SCRIPT.indexOf(`def ${fn}(`) + 1));
        const db = body("prune_database");
        expect(db.indexOf("cur.fetchall()")).toBeGreaterThan(0);
        expect(db.indexOf("read_kept(spec)")).toBeGreaterThan(db.indexOf("cur.fetchall()"));
        expect(db.indexOf("step[\"drop\"]")).toBeGreaterThan(db.indexOf("read_kept(spec)"));
        const store = body("prune_store");
        expect(store.indexOf("read_kept(spec)")).toBeGreaterThan(store.indexOf("CommonPrefixes"));
        expect(store.indexOf("delete_objects")).toBeGreaterThan(store.indexOf("read_kept(spec)"));
    });
});
