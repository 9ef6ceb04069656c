import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    isPrunableDatabaseName, PRUNE_DATABASE_PATTERN, renderProjectPruneDatabaseScript, renderProjectPruneMysqlQuery,
    renderProjectPrunePostgresSql, renderProjectPruneStoreScript,
} from "./scripts";
import { projectNames } from "../shared/projects";

const ROOT = { names: ["mlflow", "root", "postgres"] };

describe("isPrunableDatabaseName: only managed project names outside the list", () => {
    test.each([
        ["mlflow_alpha", ["beta"], true],
        ["mlflow_beta_2", ["alpha"], true],
        ["mlflow_alpha", ["alpha"], false],
        ["mlflow_beta_2", ["beta-2"], false],
        // `/`'s database and user, the admins, the reserved name: never.
        ["mlflow", [], false],
        ["root", [], false],
        ["postgres", [], false],
        ["mlflow_default", [], false],
        // Not the naming scheme: upper case, a leading digit or underscore, doubled or trailing `_`, other prefixes.
        ["mlflow_Alpha", [], false],
        ["MLFLOW_ALPHA", [], false],
        ["mlflow_1a", [], false],
        ["mlflow__a", [], false],
        ["mlflow_a__b", [], false],
        ["mlflow_ab_", [], false],
        ["mlflowx_ab", [], false],
        ["xmlflow_ab", [], false],
        ["mlflow_a", [], false],
        ["mlflow_" + "a".repeat(24), [], true],
        ["mlflow_" + "a".repeat(25), [], false],
    ])("%s with kept %j -> %s", (name, kept, expected) => {
        expect(isPrunableDatabaseName(name, kept, ROOT)).toBe(expected);
    });

    test("a protected name is never prunable even if it has the project shape", () => {
        expect(isPrunableDatabaseName("mlflow_main", [], { names: ["mlflow_main"] })).toBe(false);
    });
});

describe("the rendered SQL", () => {
    test("MySQL: users at '%' then databases, both matched by pattern, length and a quoted keep list", () => {
        const sql = renderProjectPruneMysqlQuery(["beta-2", "alpha"], ROOT);
        const keep = "NOT IN ('mlflow', 'mlflow_alpha', 'mlflow_beta_2', 'mlflow_default', 'postgres', 'root')";
        expect(sql).toContain(`FROM mysql.user WHERE Host = '%' AND CAST(User AS BINARY) = CAST(LOWER(User) AS BINARY) AND User REGEXP '${PRUNE_DATABASE_PATTERN}' AND CHAR_LENGTH(User) BETWEEN 9 AND 31 AND User ${keep}`);
        expect(sql).toContain(`FROM information_schema.SCHEMATA WHERE CAST(SCHEMA_NAME AS BINARY) = CAST(LOWER(SCHEMA_NAME) AS BINARY) AND SCHEMA_NAME REGEXP '${PRUNE_DATABASE_PATTERN}' AND CHAR_LENGTH(SCHEMA_NAME) BETWEEN 9 AND 31 AND SCHEMA_NAME ${keep}`);
        expect(sql.indexOf("DROP USER")).toBeLessThan(sql.indexOf("DROP DATABASE"));
        expect(sql).toContain("SELECT 2, CONVERT(CONCAT('DROP DATABASE IF EXISTS `', SCHEMA_NAME, '`;') USING utf8mb4) COLLATE utf8mb4_bin FROM");
        expect(sql).toContain("SELECT 1, CONVERT(CONCAT('DROP USER IF EXISTS ''', User, '''@''%'';') USING utf8mb4) COLLATE utf8mb4_bin FROM");
        expect(sql.match(/CONVERT\(.* USING utf8mb4\) COLLATE utf8mb4_bin/g)).toHaveLength(3);
        expect(sql).toMatch(/ORDER BY k, stmt;\n$/);
    });

    test("PostgreSQL: databases WITH (FORCE) then roles, %I-quoted, same match", () => {
        const sql = renderProjectPrunePostgresSql([], ROOT);
        const keep = "NOT IN ('mlflow', 'mlflow_default', 'postgres', 'root')";
        expect(sql.split("\n")).toEqual([
            `SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', datname) FROM pg_database WHERE datname ~ '${PRUNE_DATABASE_PATTERN}' AND char_length(datname) BETWEEN 9 AND 31 AND datname ${keep} ORDER BY 1\\gexec`,
            `SELECT format('DROP ROLE IF EXISTS %I', rolname) FROM pg_roles WHERE rolname ~ '${PRUNE_DATABASE_PATTERN}' AND char_length(rolname) BETWEEN 9 AND 31 AND rolname ${keep} ORDER BY 1\\gexec`,
            "",
        ]);
    });

    test("the pattern is the database name of every valid project name, and of nothing projectNames refuses", () => {
        const re = new RegExp(PRUNE_DATABASE_PATTERN);
        for (const n of ["ab", "a1", "beta-2", "x-y-z", "a".repeat(24)]) expect(re.test(projectNames(n).database)).toBe(true);
        expect(() => renderProjectPruneMysqlQuery(["Bad"], ROOT)).toThrow(/project name "Bad"/);
        expect(() => renderProjectPruneStoreScript(["default"])).toThrow(/reserved/);
    });

    test.each(["mysql", "postgres"] as const)("%s script: admin password from the environment only, kept names listed", engine => {
        const script = renderProjectPruneDatabaseScript(engine, ["alpha"], ROOT);
        expect(script).toContain("# every project no longer in `projects` (retainDataOnDestroy=false). Kept: alpha\n");
        expect(script).toContain('"${DB_ADMIN_PASSWORD}"');
        expect(script.match(/DB_ADMIN_PASSWORD/g)).toHaveLength(1);
        if (engine === "mysql") expect(script).toContain('mysql "$@" < "$drops"');
        else expect(script).toContain("--dbname postgres <<'SQL'");
    });
});

/**
 * Evaluates the WHERE clause the rendered SQL puts on column `col` for one name: each conjunct
 * must be one of the forms the renderer writes (anything else throws, so a changed clause is
 * looked at, not skipped). Only the list and rules in the rendered text decide.
 */
function renderedMatch(where: string, col: string, name: string): boolean {
    const conjuncts = where.replace(/ BETWEEN (\d+) AND (\d+)/g, " BETWEEN $1..$2").split(" AND ");
    const literal = (text: string) => text.slice(1, -1).replace(/''/g, "'");
    return conjuncts.every(c => {
        let m: RegExpExecArray | null;
        if (c === "Host = '%'") return true;
        if (c === `CAST(${col} AS BINARY) = CAST(LOWER(${col}) AS BINARY)`) return name === name.toLowerCase();
        if ((m = new RegExp(`^${col} (?:REGEXP|~) ('(?:[^']|'')*')$`).exec(c))) return new RegExp(literal(m[1])).test(name);
        if ((m = new RegExp(`^(?:CHAR_LENGTH|char_length)\\(${col}\\) BETWEEN (\\d+)\\.\\.(\\d+)$`).exec(c))) return name.length >= Number(m[1]) && name.length <= Number(m[2]);
        if ((m = new RegExp(`^${col} NOT IN \\((.*)\\)$`).exec(c))) return !(m[1].match(/'(?:[^']|'')*'/g) ?? []).map(literal).includes(name);
        throw new Error(`unexpected condition in the rendered SQL: ${c}`);
    });
}

describe("the rendered SQL with three kept projects drops exactly the removed ones", () => {
    // Kept names that are prefixes and extensions of removed ones, unsorted.
    const kept = ["gamma", "beta", "alpha-2"];
    const candidates = ["mlflow_gamma", "mlflow_beta", "mlflow_alpha_2", "mlflow_alpha", "mlflow_beta_2", "mlflow_a_beta", "mlflow", "root", "postgres", "mlflow_default"];
    const removed = ["mlflow_a_beta", "mlflow_alpha", "mlflow_beta_2"];
    const where = (sql: string, from: string) => {
        const m = new RegExp(`FROM ${from} WHERE (.*?)(?: ORDER BY 1\\\\gexec)?$`, "m").exec(sql);
        if (!m) throw new Error(`no WHERE clause on ${from} in:\n${sql}`);
        return m[1];
    };
    test.each([
        ["mysql users", () => where(renderProjectPruneMysqlQuery(kept, ROOT), "mysql.user"), "User"],
        ["mysql databases", () => where(renderProjectPruneMysqlQuery(kept, ROOT), "information_schema.SCHEMATA"), "SCHEMA_NAME"],
        ["postgres databases", () => where(renderProjectPrunePostgresSql(kept, ROOT), "pg_database"), "datname"],
        ["postgres roles", () => where(renderProjectPrunePostgresSql(kept, ROOT), "pg_roles"), "rolname"],
    ] as const)("%s", (_label, clause, col) => {
        const dropped = candidates.filter(n => renderedMatch(clause(), col, n)).sort();
        expect(dropped).toEqual(removed);
        expect(candidates.filter(n => isPrunableDatabaseName(n, kept, ROOT)).sort()).toEqual(removed);
    });

    test.each(["mysql", "postgres"] as const)("the %s script carries that SQL", engine => {
        const script = renderProjectPruneDatabaseScript(engine, kept, ROOT);
        expect(script).toContain(engine === "mysql" ? renderProjectPruneMysqlQuery(kept, ROOT) : renderProjectPrunePostgresSql(kept, ROOT));
        expect(script).toContain("Kept: gamma beta alpha-2\n");
    });
});

describe("the store prune script run by sh with a stand-in mc over a fake MinIO", () => {
    // A stand-in mc answers from files (users, folders), prints --json as the real mc does (admin
    // user ls: indented; ls: one line per entry) and records every call. PATH holds mc alone.
    function runScript(shell: string, kept: string[], users: string[], folders: string[], failPolicyRm = false, failLs = "") {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "prune-store-"));
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        const log = path.join(dir, "calls.log");
        fs.writeFileSync(path.join(dir, "users"), users.map(u => `${u}\n`).join(""));
        fs.writeFileSync(path.join(dir, "folders"), folders.map(f => `${f}\n`).join(""));
        fs.writeFileSync(path.join(bin, "mc"), `#!/bin/sh
printf 'argv=%s|host=%s\\n' "$*" "$MC_HOST_store" >> "${log}"
if [ "$*" = "${failLs}" ]; then echo "mc: <ERROR> Unable to list folder." >&2; exit 1; fi
case "$1 $2 $3" in
    "admin user ls")
        while IFS= read -r u; do printf '{\\n "status": "success",\\n "accessKey": "%s",\\n "policyName": "%s-artifacts",\\n "userStatus": "enabled"\\n}\\n' "$u" "$u"; done < "${dir}/users" ;;
    "ls --json store/mlflow-artifacts/")
        printf '{"status":"success","type":"folder","lastModified":"2026-11-25T22:00:00Z","size":0,"key":"0/","etag":"","url":"http://minio:9000/mlflow-artifacts/"}\n'
        if [ -s "${dir}/folders" ]; then printf '{"status":"success","type":"folder","size":0,"key":"projects/"}\n'; fi ;;
    "ls --json store/mlflow-artifacts/projects/")
        while IFS= read -r f; do printf '{"status":"success","type":"folder","lastModified":"2026-11-25T22:00:00Z","size":0,"key":"%s","etag":"","url":"http://minio:9000/mlflow-artifacts/projects/","versionOrdinal":1}\\n' "$f"; done < "${dir}/folders" ;;
    "admin policy rm") ${failPolicyRm ? 'echo "mc: <ERROR> policy not found" >&2; exit 1' : ":"} ;;
esac
exit 0
`, { mode: 0o755 });
        const scriptPath = path.join(dir, "prune.sh");
        fs.writeFileSync(scriptPath, renderProjectPruneStoreScript(kept));
        const env = { PATH: bin, MINIO_ENDPOINT: "http://minio:9000", MINIO_ROOT_USER: "minio-root", MINIO_ROOT_PASSWORD: "rootpw123", ARTIFACT_BUCKET: "mlflow-artifacts" };
        const result = spawnSync(shell, [scriptPath], { env, encoding: "utf8" });
        const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
        fs.rmSync(dir, { recursive: true, force: true });
        return { status: result.status, stdout: result.stdout, stderr: result.stderr, argv: calls.map(c => c.split("|")[0]), calls };
    }
    const LISTS = ["argv=ready store", "argv=admin user ls store --json", "argv=ls --json store/mlflow-artifacts/", "argv=ls --json store/mlflow-artifacts/projects/"];
    const NO_FOLDER = LISTS.slice(0, 3);

    test.each(["/bin/sh", "/bin/bash"])("%s: removes only managed names outside the list; never / or another identity", shell => {
        const users = ["mlflow-tracking", "mlflow-project-alpha", "mlflow-project-beta-2", "mlflow-project-default", "mlflow-project-Bad", "someone-else"];
        const folders = ["alpha/", "beta-2/", "gamma/", "default/", "x/", "Upper/", "a--b/", "stray.txt"];
        const { status, stderr, argv, calls } = runScript(shell, ["alpha"], users, folders);
        expect([status, stderr]).toEqual([0, ""]);
        expect(argv).toEqual([
            ...LISTS,
            "argv=rm --recursive --force store/mlflow-artifacts/projects/beta-2/",
            "argv=admin user rm store mlflow-project-beta-2",
            "argv=admin policy rm store mlflow-project-beta-2-artifacts",
            "argv=rm --recursive --force store/mlflow-artifacts/projects/gamma/",
        ]);
        expect(calls.every(c => c.endsWith("|host=http://minio-root:rootpw123@minio:9000"))).toBe(true);
    });

    // Kept names that are prefixes, suffixes and extensions of removed ones, listed unsorted: the
    // keep match is on whole names, for every kept project, not the first or the last only.
    test.each(["/bin/sh", "/bin/bash"])("%s: with three kept projects, all three survive and only the removed ones go", shell => {
        const kept = ["gamma", "beta", "alpha-2"];
        const present = ["alpha", "alpha-2", "a-beta", "beta", "beta-2", "gamma"];
        const { status, stderr, argv, stdout } = runScript(shell, kept, present.map(n => `mlflow-project-${n}`), present.map(n => `${n}/`));
        expect([status, stderr]).toEqual([0, ""]);
        const removed = argv.slice(LISTS.length);
        expect(removed).toEqual(["alpha", "a-beta", "beta-2"].flatMap(n => [
            `argv=rm --recursive --force store/mlflow-artifacts/projects/${n}/`,
            `argv=admin user rm store mlflow-project-${n}`,
            `argv=admin policy rm store mlflow-project-${n}-artifacts`,
        ]));
        const touches = (k: string) => (c: string) => [` mlflow-project-${k}`, ` mlflow-project-${k}-artifacts`, `/projects/${k}/`].some(end => c.endsWith(end));
        for (const k of kept) expect(removed.filter(touches(k))).toEqual([]);
        expect(stdout).toContain("kept: gamma beta alpha-2 \n");
    });

    test("nothing left to remove: only the listings (idempotent), also with the last project removed", () => {
        expect(runScript("/bin/sh", ["alpha"], ["mlflow-tracking", "mlflow-project-alpha"], ["alpha/"]).argv).toEqual(LISTS);
        expect(runScript("/bin/sh", [], ["mlflow-tracking"], []).argv).toEqual(NO_FOLDER);
        const last = runScript("/bin/sh", [], ["mlflow-tracking", "mlflow-project-alpha"], []);
        expect(last.argv).toEqual([...NO_FOLDER, "argv=admin user rm store mlflow-project-alpha", "argv=admin policy rm store mlflow-project-alpha-artifacts"]);
    });

    test.each(LISTS.slice(1).map(l => l.slice("argv=".length)))("a failing `mc %s` stops the run before anything is removed", listing => {
        const { status, argv } = runScript("/bin/sh", [], ["mlflow-project-alpha"], ["alpha/"], false, listing);
        expect(status).not.toBe(0);
        expect(argv).toEqual(LISTS.slice(0, LISTS.indexOf(`argv=${listing}`) + 1));
    });

    test("a policy that cannot be removed is reported and does not fail the run", () => {
        const { status, stdout } = runScript("/bin/sh", [], ["mlflow-project-alpha"], ["alpha/"], true);
        expect(status).toBe(0);
        expect(stdout).toContain("prune: policy mlflow-project-alpha-artifacts not removed");
    });
});
