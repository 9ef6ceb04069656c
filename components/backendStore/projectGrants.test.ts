// Whatever form the grant statements take, on both targets a project's user is granted
// privileges on its own database and on nothing else (the neighbour's database, every database).
import { projectNames, renderProjectInitStatements, renderProjectMysqlSql } from "../shared/projects";

const NAMES = ["alpha", "beta-2", "x-y-z", "zq-7", "a".repeat(24)];

/** Each MySQL `GRANT <privileges> ON <db>.* TO <user>`: the database unquoted and unescaped, the user's name. */
function mysqlGrants(sql: string): Array<{ database: string; user: string }> {
    const statements = sql.split(/;\s*\n|;$/).map(s => s.trim()).filter(s => /^GRANT\b/i.test(s));
    return statements.map(s => {
        const m = /^GRANT .+? ON (\S+)\.\* TO '([^']+)'@'%'$/i.exec(s);
        if (!m) throw new Error(`a GRANT on something other than one database's tables: ${s}`);
        return { database: m[1].replace(/^`|`$/g, "").replace(/\\([_%\\])/g, "$1"), user: m[2] };
    });
}

describe.each(NAMES)("project %s", name => {
    const n = projectNames(name);

    test("Docker (MySQL script): one grant, on its own database, to its own user", () => {
        expect(mysqlGrants(renderProjectMysqlSql(n.database, n.databaseUser, "pw"))).toEqual([{ database: n.database, user: n.databaseUser }]);
    });

    test("Aurora MySQL (init statements): one grant, on its own database, to its own user", () => {
        const sql = renderProjectInitStatements("mysql", name).map(s => s.sql).join(";\n");
        expect(mysqlGrants(sql)).toEqual([{ database: n.database, user: n.databaseUser }]);
    });

    test("Aurora PostgreSQL: the database it creates is its own, owned by its own role", () => {
        const created = renderProjectInitStatements("postgres", name).map(s => s.sql).filter(s => /^CREATE DATABASE/.test(s));
        expect(created).toHaveLength(1);
        expect(created[0]).toMatch(new RegExp(`^CREATE DATABASE "?${n.database}"? OWNER "?${n.databaseUser}"? `));
    });
});
