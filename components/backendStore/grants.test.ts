// Database-level MySQL grants are patterns: in `GRANT ... ON db.*`, `_` matches any one character
// and `%` any run of them, unless escaped with `\`. These tests read every GRANT the platform
// renders the way MySQL/MariaDB read it and check that it covers exactly one database: its own.
import { renderMysqlReconcileSql } from "./database";
import { projectNames, renderProjectInitStatements, renderProjectMysqlSql } from "../shared/projects";

/** The database part of each `GRANT ... ON `<db>`.*` in the text, as MySQL matches it (a RegExp). */
function grantPatterns(sql: string): RegExp[] {
    return [...sql.matchAll(/GRANT [A-Z ]+ ON `((?:[^`]|``)*)`\.\* TO/g)].map(m => {
        const text = m[1].replace(/``/g, "`");
        let re = "";
        for (let i = 0; i < text.length; i++) {
            const c = text[i];
            if (c === "\\" && i + 1 < text.length) re += escapeRegex(text[++i]);
            else if (c === "_") re += ".";
            else if (c === "%") re += ".*";
            else re += escapeRegex(c);
        }
        return new RegExp(`^${re}$`);
    });
}

function escapeRegex(c: string): string {
    return c.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Names one character away at each `_`: what an unescaped pattern would also cover. */
function neighbours(database: string): string[] {
    return [...database].flatMap((c, i) => c === "_" ? [`${database.slice(0, i)}x${database.slice(i + 1)}`] : []);
}

// Pairs chosen to collide under the pattern: a hyphen becomes `_`, which matches the other's letter.
const COLLIDING: Array<[string, string]> = [["zq-7", "zqx7"], ["team-a", "teamxa"], ["a-b-c", "a-bxc"]];

function awsGrantSql(name: string): string {
    return renderProjectInitStatements("mysql", name).map(s => s.sql).join(";\n");
}

describe.each<[string, (database: string, user: string, name: string) => string]>([
    ["Docker project SQL (renderProjectMysqlSql)", (db, user) => renderProjectMysqlSql(db, user, "pw")],
    ["Aurora project init statements (renderProjectInitStatements)", (_db, _user, name) => awsGrantSql(name)],
])("%s", (_, render) => {
    test.each(COLLIDING)("project %s's grant covers its own database and not project %s's", (a, b) => {
        const na = projectNames(a);
        const nb = projectNames(b);
        const patterns = grantPatterns(render(na.database, na.databaseUser, a));
        expect(patterns).toHaveLength(1);
        expect(patterns[0].test(na.database)).toBe(true);
        expect(patterns[0].test(nb.database)).toBe(false);
    });

    test.each(["ab", "zq-7", "team-a-b", "x".repeat(24)])("project %s's grant covers no name it could create besides its own", name => {
        const n = projectNames(name);
        const [pattern] = grantPatterns(render(n.database, n.databaseUser, name));
        expect(neighbours(n.database).length).toBeGreaterThan(0);
        for (const other of neighbours(n.database)) expect(pattern.test(other)).toBe(false);
    });
});

describe("the server at / (renderMysqlReconcileSql)", () => {
    test.each(["mlflow", "ml_flow", "ml%flow"])("its grant on database %s covers that database only", database => {
        const sql = renderMysqlReconcileSql({ database, username: "mlflow", appPassword: "a", adminPassword: "b", charset: "utf8mb4", collation: "utf8mb4_bin" });
        const patterns = grantPatterns(sql);
        expect(patterns).toHaveLength(1);
        expect(patterns[0].test(database)).toBe(true);
        for (const other of ["mlflowx", "ml_flowx", "mlxflow", "ml%flowx", "mlAflow"].filter(o => o !== database)) expect(patterns[0].test(other)).toBe(false);
    });
});

describe("upgrading a server that holds the old pattern grant", () => {
    test("Docker: the unescaped grant is revoked where mysql.db has it, before the escaped grant", () => {
        const sql = renderProjectMysqlSql("mlflow_zq_7", "mlflow_zq_7", "pw");
        const revoke = sql.indexOf("REVOKE ALL PRIVILEGES ON `mlflow_zq_7`.* FROM ''mlflow_zq_7''@''%''");
        expect(revoke).toBeGreaterThan(0);
        expect(sql).toContain("EXISTS (SELECT 1 FROM mysql.db WHERE Host = '%' AND User = 'mlflow_zq_7' AND Db = 'mlflow_zq_7')");
        expect(sql.indexOf("GRANT ALL PRIVILEGES ON `mlflow\\_zq\\_7`.*")).toBeGreaterThan(revoke);
    });

    test("Aurora: the same revoke, skipped by `unless` where the old grant is absent", () => {
        const statements = renderProjectInitStatements("mysql", "zq-7");
        const i = statements.findIndex(s => s.sql.startsWith("REVOKE"));
        expect(statements[i]).toEqual({
            sql: "REVOKE ALL PRIVILEGES ON `mlflow_zq_7`.* FROM 'mlflow_zq_7'@'%'",
            unless: "SELECT 1 FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM mysql.db WHERE Host = '%' AND User = 'mlflow_zq_7' AND Db = 'mlflow_zq_7')",
        });
        expect(statements[i + 1].sql).toBe("GRANT ALL PRIVILEGES ON `mlflow\\_zq\\_7`.* TO 'mlflow_zq_7'@'%'");
    });
});
