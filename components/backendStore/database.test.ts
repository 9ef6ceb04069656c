import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import {
    DATA_DIRS, DB_FILES, renderDatabaseFiles, encodeUriComponentStrict, mysqlIdentifier, mysqlString, renderDatabaseUri, renderMysqlEntrypoint,
    renderMysqlReconcileSql, renderPostgresEntrypoint, renderPostgresInitScript, renderPostgresReconcileScript, renderPostgresReconcileSql,
} from "./database";

describe("renderDatabaseUri", () => {
    test.each<["mysql" | "postgres", string]>([
        ["mysql", "mysql+pymysql://mlflow:pw@db:3306/mlflow?charset=utf8mb4"],
        ["postgres", "postgresql+psycopg2://mlflow:pw@db:5432/mlflow"],
    ])("%s uses the driver the image ships", (engine, expected) => {
        expect(renderDatabaseUri({ engine, host: "db", database: "mlflow", username: "mlflow", password: "pw" })).toBe(expected);
    });

    test.each([
        ["p@ss:w%rd/#?", "p%40ss%3Aw%25rd%2F%23%3F"],
        ["it's(*)!", "it%27s%28%2A%29%21"],
        ["a+b=c~d.e_f-g", "a%2Bb%3Dc~d.e_f-g"],
        ["пароль", "%D0%BF%D0%B0%D1%80%D0%BE%D0%BB%D1%8C"],
    ])("password %p is percent-encoded as %p", (password, encoded) => {
        const uri = renderDatabaseUri({ engine: "postgres", host: "h", database: "d", username: "u", password });
        expect(uri).toBe(`postgresql+psycopg2://u:${encoded}@h:5432/d`);
        expect(decodeURIComponent(encoded)).toBe(password);
    });

    test("an explicit port and an Aurora endpoint", () => {
        expect(renderDatabaseUri({ engine: "mysql", host: "c.cluster-x.eu-west-1.rds.amazonaws.com", port: 3307, database: "mlflow", username: "u", password: "p" }))
            .toBe("mysql+pymysql://u:p@c.cluster-x.eu-west-1.rds.amazonaws.com:3307/mlflow?charset=utf8mb4");
    });

    test("an IPv6 host is bracketed", () => {
        expect(renderDatabaseUri({ engine: "postgres", host: "::1", database: "d", username: "u", password: "p" })).toContain("@[::1]:5432/");
    });
});

test("only RFC 3986 unreserved characters stay unencoded", () => {
    const unreserved = "ABCxyz019-._~";
    expect(encodeUriComponentStrict(unreserved)).toBe(unreserved);
    for (const c of "!#$&'()*+,/:;=?@[]% ") expect(encodeUriComponentStrict(c)).toMatch(/^%[0-9A-F]{2}$/);
});

/** Runs `script` with `shell`, PATH holding only the given stand-ins; paths in the script are rewritten first. */
function runWithStandIns(shell: string, script: string, standIns: Record<string, string>, env: Record<string, string>,
    rewrite: (dir: string, text: string) => string = (_d, t) => t) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "db-script-"));
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    for (const [name, body] of Object.entries(standIns)) fs.writeFileSync(path.join(bin, name), body.replace(/@DIR@/g, dir), { mode: 0o755 });
    const scriptPath = path.join(dir, "script");
    fs.writeFileSync(scriptPath, rewrite(dir, script), { mode: 0o755 });
    const result = spawnSync(shell, [scriptPath, ...(env.ARGS ? env.ARGS.split(" ") : [])], { env: { ...env, PATH: `${bin}:/usr/bin:/bin` }, encoding: "utf8" });
    const log = fs.existsSync(path.join(dir, "log")) ? fs.readFileSync(path.join(dir, "log"), "utf8") : "";
    return { result, log, dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

// Records argv (one line) and stdin of psql.
const RECORDING_PSQL = `#!/bin/sh
printf 'argv:%s\\n' "$*" >> @DIR@/log
while IFS= read -r l; do printf 'stdin:%s\\n' "$l" >> @DIR@/log; done
`;

const PG_ENV = { POSTGRES_USER: "postgres", POSTGRES_PASSWORD: "adm1n-S3cret@x", MLFLOW_DB_USER: "mlflow", MLFLOW_DB_PASSWORD: "app-S3cret:%y", MLFLOW_DB_NAME: "mlflow" };

describe.each([
    ["init script (empty data directory)", renderPostgresInitScript(), false],
    ["reconcile script (kept data directory)", renderPostgresReconcileScript(), true],
])("PostgreSQL %s run by sh with a recording stand-in psql", (_name, script, admin) => {
    const { result, log, cleanup } = runWithStandIns("/bin/sh", script, { psql: RECORDING_PSQL }, PG_ENV);
    afterAll(cleanup);
    const argv = log.split("\n").filter(l => l.startsWith("argv:"));
    const stdin = log.split("\n").filter(l => l.startsWith("stdin:")).map(l => l.slice(6));

    test("exits 0 and calls psql once", () => {
        expect([result.status, result.stderr]).toEqual([0, ""]);
        expect(argv).toHaveLength(1);
    });

    test("no password, and no other value, on psql's command line", () => {
        for (const secret of [PG_ENV.MLFLOW_DB_PASSWORD, PG_ENV.POSTGRES_PASSWORD]) expect(argv[0]).not.toContain(secret);
        expect(argv[0]).toBe(`argv:-v ON_ERROR_STOP=1 --no-psqlrc --no-password --username postgres --dbname postgres`);
    });

    test("psql reads the values from the environment and sets the passwords idempotently", () => {
        expect(stdin).toEqual(renderPostgresReconcileSql({ admin }).trimEnd().split("\n"));
        expect(stdin).toEqual(expect.arrayContaining([
            "\\getenv app_password MLFLOW_DB_PASSWORD",
            `ALTER ROLE :"app_user" WITH LOGIN PASSWORD :'app_password';`,
        ]));
        expect(stdin.join("\n")).not.toContain(PG_ENV.MLFLOW_DB_PASSWORD);
        expect(stdin.some(l => l.includes("ALTER ROLE :\"admin_user\" PASSWORD :'admin_password'"))).toBe(admin);
    });
});

describe("renderPostgresReconcileSql", () => {
    const sql = renderPostgresReconcileSql({ admin: true });

    test("creates role and database only when missing, then always sets the password", () => {
        expect(sql).toContain("WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user')\\gexec");
        expect(sql).toContain("WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'app_db')\\gexec");
        expect(sql).toContain("OWNER %I ENCODING %L TEMPLATE template0");
        expect(sql).toContain(`REVOKE ALL ON DATABASE :"app_db" FROM PUBLIC;`);
    });
});

describe("PostgreSQL entrypoint wrapper run by bash with stand-ins for the official entrypoint, gosu and id", () => {
    // The official docker-entrypoint.sh: sourced it defines functions, executed it records its argv.
    const official = `#!/usr/bin/env bash
docker_setup_env() { DATABASE_ALREADY_EXISTS="\${FAKE_EXISTS:-}"; echo "setup_env" >> @DIR@/log; }
docker_create_db_directories() { echo "create_dirs uid=$(id -u)" >> @DIR@/log; }
docker_temp_server_start() { echo "temp_start $*" >> @DIR@/log; }
docker_temp_server_stop() { echo "temp_stop" >> @DIR@/log; }
if [ "\${BASH_SOURCE[0]}" = "$0" ]; then echo "official uid=$(id -u) $*" >> @DIR@/log; fi
`;
    const standIns = {
        "docker-entrypoint.sh": official,
        id: "#!/bin/sh\necho \"${FAKE_UID:-0}\"\n",
        gosu: "#!/bin/sh\necho \"gosu $1\" >> @DIR@/log\nshift\nFAKE_UID=999 exec \"$@\"\n",
        "mlflow-db-reconcile.sh": "#!/bin/sh\necho \"reconcile user=$POSTGRES_USER\" >> @DIR@/log\n",
    };
    const run = (exists: string) => runWithStandIns("/bin/bash", renderPostgresEntrypoint(), standIns,
        { ...PG_ENV, FAKE_EXISTS: exists, ARGS: "postgres -c max_connections=50" },
        (dir, text) => text.split(DB_FILES.officialEntrypoint).join(`${dir}/bin/docker-entrypoint.sh`)
            .split(DB_FILES.postgresReconcile).join(`${dir}/bin/mlflow-db-reconcile.sh`));

    test("on a kept data directory: drops to postgres, reconciles on the socket-only server, then runs the official entrypoint", () => {
        const { result, log, cleanup } = run("true");
        cleanup();
        expect([result.status, result.stderr]).toEqual([0, ""]);
        expect(log.trim().split("\n")).toEqual([
            "setup_env", "create_dirs uid=0", "gosu postgres",
            "setup_env", "create_dirs uid=999",
            "temp_start postgres -c max_connections=50", "reconcile user=postgres", "temp_stop",
            "official uid=999 postgres -c max_connections=50",
        ]);
    });

    test("on an empty data directory: leaves initialisation to the official entrypoint", () => {
        const { result, log, cleanup } = run("");
        cleanup();
        expect(result.status).toBe(0);
        expect(log).not.toContain("reconcile");
        expect(log).not.toContain("temp_start");
        expect(log.trim().split("\n").slice(-1)).toEqual(["official uid=999 postgres -c max_connections=50"]);
    });
});

describe("MySQL credentials reconcile", () => {
    const args = { database: "mlflow", username: "mlflow", appPassword: "a'pp\\pw@:%", adminPassword: "r00t-pw", charset: "utf8mb4", collation: "utf8mb4_bin" };
    const sql = renderMysqlReconcileSql(args);
    const statements = sql.split("\n").filter(l => l && !l.startsWith("--"));

    test("one statement per line, each create or alter guarded so it cannot fail on an existing or missing object", () => {
        expect(statements).toEqual([
            "CREATE DATABASE IF NOT EXISTS `mlflow` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;",
            "CREATE USER IF NOT EXISTS 'mlflow'@'%' IDENTIFIED BY 'a''pp\\\\pw@:%';",
            "ALTER USER 'mlflow'@'%' IDENTIFIED BY 'a''pp\\\\pw@:%';",
            "GRANT ALL PRIVILEGES ON `mlflow`.* TO 'mlflow'@'%';",
            "ALTER USER IF EXISTS 'root'@'localhost' IDENTIFIED BY 'r00t-pw';",
            "ALTER USER IF EXISTS 'root'@'%' IDENTIFIED BY 'r00t-pw';",
        ]);
    });

    test.each([["it's", "'it''s'"], ["back\\slash", "'back\\\\slash'"], ["nul\0", "'nul\\0'"]])("string %p is quoted as %p", (v, q) => {
        expect(mysqlString(v)).toBe(q);
    });

    test("identifiers are backtick-quoted", () => {
        expect(mysqlIdentifier("a`b")).toBe("`a``b`");
    });

    function runWrapper(kept: boolean) {
        const official = "#!/bin/sh\nprintf '%s\\n' \"$@\" > @DIR@/log\n";
        const { result, log, cleanup } = runWithStandIns("/bin/bash", renderMysqlEntrypoint(), { "docker-entrypoint.sh": official },
            { ARGS: "--character-set-server=utf8mb4 --collation-server=utf8mb4_bin" },
            (dir, text) => {
                fs.mkdirSync(path.join(dir, "data"));
                if (kept) fs.mkdirSync(path.join(dir, "data", "mysql"));
                return text.split(DB_FILES.officialEntrypoint).join(`${dir}/bin/docker-entrypoint.sh`).split(`"${DATA_DIRS.mysql}/mysql"`).join(`"${dir}/data/mysql"`);
            });
        cleanup();
        expect(result.status).toBe(0);
        return log.trim().split("\n");
    }

    test("the entrypoint adds --init-file on a data directory that holds a database", () => {
        expect(runWrapper(true)).toEqual(["--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin", "--init-file=/docker-entrypoint-initdb.d/10-mlflow.sql"]);
    });

    test("the entrypoint leaves an empty data directory to the official initialisation (bootstrap mode refuses account statements)", () => {
        expect(runWrapper(false)).toEqual(["--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin"]);
    });
});

describe("renderDatabaseFiles", () => {
    const creds = { database: "mlflow", username: "mlflow", appPassword: "app-pw-1", adminPassword: "admin-pw-1" };

    test("MySQL: the wrapper and the reconcile SQL with this deploy's passwords", () => {
        const files = renderDatabaseFiles("mysql", creds);
        expect(files.map(f => [f.file, f.permissions])).toEqual([[DB_FILES.entrypoint, "0755"], [DB_FILES.mysqlReconcile, "0644"]]);
        expect(files[1].content).toContain("IDENTIFIED BY 'app-pw-1'");
        expect(files[1].content).toContain("'root'@'%' IDENTIFIED BY 'admin-pw-1'");
        expect(files[1].content).toContain("CHARACTER SET utf8mb4 COLLATE utf8mb4_bin");
    });

    test("PostgreSQL: wrapper, init and reconcile scripts, none holding a password", () => {
        const files = renderDatabaseFiles("postgres", creds);
        // Executed by the postgres user after gosu: 0755, not the provider's 0744 for `executable`.
        expect(files.map(f => [f.file, f.permissions])).toEqual([[DB_FILES.entrypoint, "0755"], [DB_FILES.postgresInit, "0755"], [DB_FILES.postgresReconcile, "0755"]]);
        for (const f of files) expect(f.content).not.toMatch(/app-pw-1|admin-pw-1/);
    });
});
