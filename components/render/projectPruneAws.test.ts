import { isPrunableDatabaseName, PRUNE_DATABASE_PATTERN } from "./projectPrune";
import {
    PROJECT_PRUNE_COMMAND, PROJECT_PRUNE_SCRIPT, PROJECT_PRUNE_SPEC_ENV, type PruneNameRule, renderProjectPruneSpec,
} from "./projectPruneAws";
import { PROJECT_NAME } from "./projects";

const ROOT = { names: ["mlflow"] };

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
    test.each([[["alpha"]], [["beta-2", "gamma"]], [[]]])("kept %j", kept => {
        const rule = renderProjectPruneSpec("mysql", kept, ROOT, "bucket").database;
        for (const n of names) expect({ n, allowed: allowed(n, rule) }).toEqual({ n, allowed: isPrunableDatabaseName(n, kept, ROOT) });
        // The admin user comes from the secret at run time: the script adds it to the protected names.
        expect(allowed("mlflow_admin", rule, ["mlflow_admin"])).toBe(false);
        expect(allowed("mlflow_admin", rule)).toBe(true);
    });
    test("protected: kept projects' databases, the reserved name, `/`'s database; the pattern is the Docker one", () => {
        const rule = renderProjectPruneSpec("postgres", ["beta-2", "alpha"], ROOT, "bucket").database;
        expect(rule.protected).toEqual(["mlflow", "mlflow_alpha", "mlflow_beta_2", "mlflow_default"]);
        expect([rule.pattern, rule.minLength, rule.maxLength]).toEqual([PRUNE_DATABASE_PATTERN, 9, 31]);
    });
});

describe("renderProjectPruneSpec: SQL per engine", () => {
    test("mysql: users before databases (a removed task loses its grants first), lock wait bounded, names quoted", () => {
        const db = renderProjectPruneSpec("mysql", [], ROOT, "bucket").database;
        expect(db.session).toEqual(["SET SESSION lock_wait_timeout = 60"]);
        expect(db.steps).toEqual([
            { list: "SELECT User FROM mysql.user WHERE Host = '%' ORDER BY 1", drop: "DROP USER IF EXISTS '{name}'@'%'" },
            { list: "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY 1", drop: "DROP DATABASE IF EXISTS `{name}`" },
        ]);
    });
    test("postgres: databases WITH (FORCE) before roles (a role owning a database cannot be dropped)", () => {
        const db = renderProjectPruneSpec("postgres", [], ROOT, "bucket").database;
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
        const store = renderProjectPruneSpec("mysql", kept, ROOT, "my-bucket").store;
        expect(allowed(name, store)).toBe(expected);
        expect([store.bucket, store.prefix, store.pattern]).toEqual(["my-bucket", "projects/", PROJECT_NAME.source]);
    });
    test("a kept name that is not a project name is refused (the config check already ran)", () => {
        expect(() => renderProjectPruneSpec("mysql", ["Bad_Name"], ROOT, "b")).toThrow(/Bad_Name/);
    });
});

describe("the script", () => {
    test("runs from `python -c` (no file in the image), reads only its spec variable, stays small", () => {
        expect(PROJECT_PRUNE_COMMAND).toEqual(["python", "-c", PROJECT_PRUNE_SCRIPT]);
        expect(PROJECT_PRUNE_SCRIPT).toContain(`os.environ["${PROJECT_PRUNE_SPEC_ENV}"]`);
        expect(PROJECT_PRUNE_SCRIPT).toContain("from entrypoint import compose_backend_store_uri");
        // A bounded delete_objects batch (S3 accepts at most 1000 keys per request).
        expect(PROJECT_PRUNE_SCRIPT).toContain("keys[i:i + 1000]");
        expect(Buffer.byteLength(PROJECT_PRUNE_SCRIPT)).toBeLessThan(4096);
    });
});
