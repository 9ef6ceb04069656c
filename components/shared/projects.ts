// Several projects on one platform: what each project is called where (database, user,
// storage identity, URL path, artifact prefix, container), its nginx location and the
// script that creates its database. Pure: shared by the local target, the config checks
// and the e2e suite.
import { projectNameProblem, projectPrincipalNames } from "../config/checks";
import type { BackendEngine } from "../config/types";
import { MYSQL_CHARSET, mysqlGrantDatabase, mysqlIdentifier, mysqlString, POSTGRES_APP_ENV, renderPostgresReconcileSql } from "../backendStore/database";
import type { KeepAliveChain } from "./keepalive";
import { MAIN_SERVER_HEADERS, ProxyIdentity, renderIdentityHeaders } from "../authProxy/identity";

export {
    fnv1a32, PROJECT_NAME, PROJECT_NAME_MAX, PROJECT_PRIORITY_MAX, PROJECT_PRIORITY_MIN, projectListenerPriority, projectNameProblem, projectPriorityCollisions,
    RESERVED_PROJECT_NAMES,
} from "../config/checks";

/** Everything a project is called, derived from its name only, so adding one renames nothing. */
export interface ProjectNames {
    readonly name: string;
    /** URL path clients use, without a trailing slash: MLflow's static prefix (MLFLOW_STATIC_PREFIX). */
    readonly urlPath: string;
    /** Key prefix in the shared bucket, with a trailing slash. */
    readonly artifactPrefix: string;
    readonly database: string;
    readonly databaseUser: string;
    /** MinIO user (access key) limited to the prefix. */
    readonly accessKeyId: string;
    /** Network alias of the project's MLflow container. */
    readonly hostname: string;
    /** nginx upstream block name. */
    readonly upstreamName: string;
    /** htpasswd file as nginx sees it. */
    readonly htpasswdPath: string;
    /** Team accounts: the file with the project's own token header (authProxy/identity.ts), as the Docker proxy sees it. */
    readonly tokenIncludePath: string;
}

export function projectNames(name: string): ProjectNames {
    const problem = projectNameProblem(name);
    if (problem !== undefined) throw new Error(`project name ${JSON.stringify(name)} ${problem}`);
    const snake = name.replace(/-/g, "_");
    const principal = projectPrincipalNames(name);
    return {
        name,
        urlPath: `/projects/${name}`,
        artifactPrefix: `projects/${name}/`,
        database: principal.database,
        databaseUser: principal.databaseUser,
        accessKeyId: principal.accessKeyId,
        hostname: principal.hostname,
        upstreamName: `mlflow_project_${snake}`,
        htpasswdPath: `/etc/nginx/projects/${name}.htpasswd`,
        tokenIncludePath: `/etc/nginx/projects/${name}-token.inc`,
    };
}

/** What nginx needs of one project. */
export interface ProjectLocation {
    readonly name: string;
    /** host:port of the project's MLflow server. */
    readonly upstream: string;
}

/**
 * The http-context upstream blocks and server-context locations of the projects, for
 * renderProxyConfig. Each project's location has its own realm and htpasswd file, so one
 * project's credentials get 401 on another's URL, and on `/`. A prefix location ending in
 * `/` with proxy_pass answers `/projects/<name>` with a 301 to `/projects/<name>/` by itself
 * (nginx docs, `location`), so no `return` is needed (it would run before auth_basic). The
 * URI is passed unchanged: MLflow serves every route under its static prefix. With team
 * accounts (`identity`), each location sends its project's own token (ProjectNames
 * tokenIncludePath), never `/`'s: a project's server cannot assert a user to another server.
 */
export function renderProjectProxyBlocks(projects: readonly ProjectLocation[], ka: KeepAliveChain, identity?: ProxyIdentity): { upstreams: string; locations: string } {
    const seen = new Set<string>();
    const upstreams: string[] = [];
    const locations: string[] = [];
    for (const p of projects) {
        const n = projectNames(p.name);
        const ids = renderIdentityHeaders(identity === undefined ? undefined : { tokenIncludePath: n.tokenIncludePath }, MAIN_SERVER_HEADERS);
        if (seen.has(p.name)) throw new Error(`project ${p.name} is listed twice`);
        seen.add(p.name);
        if (!/^[A-Za-z0-9.-]+:\d+$/.test(p.upstream)) throw new Error(`upstream of project ${p.name} must be host:port, got ${JSON.stringify(p.upstream)}`);
        upstreams.push(`
upstream ${n.upstreamName} {
    server ${p.upstream};
    keepalive 16;
    keepalive_timeout ${ka.proxyUpstreamKeepaliveSeconds}s;
}
`);
        locations.push(`
    # Project ${p.name}: its own credentials only (not those of / or of another project).
    location ${n.urlPath}/ {
        auth_basic "MLflow ${p.name}";
        auth_basic_user_file ${n.htpasswdPath};
${ids}        proxy_pass http://${n.upstreamName};
    }
`);
    }
    return { upstreams: upstreams.join(""), locations: locations.join("") };
}

/** Environment of the one-shot database init container (values only through the environment). */
export const PROJECT_DB_ENV = {
    host: "DB_HOST",
    port: "DB_PORT",
    adminUser: "DB_ADMIN_USER",
    adminPassword: "DB_ADMIN_PASSWORD",
    ...POSTGRES_APP_ENV,
} as const;

export const PROJECT_DB_FILES = { script: "/init/project-db.sh", mysqlSql: "/init/project-db.sql" } as const;

/**
 * MySQL: a project's grant on its database, and the grant earlier versions made on the unescaped
 * name (a pattern: mlflow_zq_7 also covered mlflow_zqx7), which a kept server still holds. The
 * old grant is revoked only where mysql.db has it (REVOKE of a missing grant is an error, and
 * MariaDB has no REVOKE IF EXISTS); `legacyExists` is that condition.
 */
export function renderProjectMysqlGrants(database: string, username: string): { grant: string; legacyRevoke: string; legacyExists: string } {
    const user = `${mysqlString(username)}@'%'`;
    return {
        grant: `GRANT ALL PRIVILEGES ON ${mysqlGrantDatabase(database)}.* TO ${user}`,
        legacyRevoke: `REVOKE ALL PRIVILEGES ON ${mysqlIdentifier(database)}.* FROM ${user}`,
        legacyExists: `EXISTS (SELECT 1 FROM mysql.db WHERE Host = '%' AND User = ${mysqlString(username)} AND Db = ${mysqlString(database)})`,
    };
}

/**
 * MySQL: the project's database and user, the user's password, and privileges on that
 * database only (its name escaped: see mysqlGrantDatabase). Idempotent (IF [NOT] EXISTS,
 * ALTER USER, the old pattern grant revoked only where present), so it runs again on every
 * change. It holds the project's password: upload it as a secret.
 */
export function renderProjectMysqlSql(database: string, username: string, password: string): string {
    const db = mysqlIdentifier(database);
    const user = `${mysqlString(username)}@'%'`;
    const pw = mysqlString(password);
    const g = renderProjectMysqlGrants(database, username);
    return `-- Rendered by mlflow-platform (components/render/projects.ts): project database and user.
CREATE DATABASE IF NOT EXISTS ${db} CHARACTER SET ${MYSQL_CHARSET.charset} COLLATE ${MYSQL_CHARSET.collation};
CREATE USER IF NOT EXISTS ${user} IDENTIFIED BY ${pw};
ALTER USER ${user} IDENTIFIED BY ${pw};
SET @mlflow_legacy_grant = IF(${g.legacyExists}, ${mysqlString(g.legacyRevoke)}, 'DO 0');
PREPARE mlflow_legacy_grant FROM @mlflow_legacy_grant;
EXECUTE mlflow_legacy_grant;
DEALLOCATE PREPARE mlflow_legacy_grant;
${g.grant};
`;
}

/**
 * The init container's script, run with the database image's own client against the
 * platform's database server as its administrator. The admin password comes from the
 * environment: MySQL reads it from an option file written with shell builtins (never an
 * argument); psql from PGPASSWORD. PostgreSQL's statements are the backend store's own
 * (backendStore/database.ts): role, database owned by it, REVOKE ALL (CONNECT included) FROM PUBLIC.
 */
export function renderProjectDatabaseScript(engine: BackendEngine): string {
    const e = PROJECT_DB_ENV;
    const head = `#!/bin/sh
# Rendered by mlflow-platform (components/render/projects.ts): project database, user and grants.
set -eu
`;
    if (engine === "mysql") {
        return `${head}umask 077
# The admin password goes into an option file, not onto the command line.
cnf="\${TMPDIR:-/tmp}/project-db-admin.cnf"
printf '[client]\\nuser=%s\\npassword="%s"\\n' "\${${e.adminUser}}" "\${${e.adminPassword}}" > "$cnf"
mysql --defaults-extra-file="$cnf" --host="\${${e.host}}" --port="\${${e.port}}" --protocol=TCP < ${PROJECT_DB_FILES.mysqlSql}
echo "project database ready"
`;
    }
    return `${head}export PGPASSWORD="\${${e.adminPassword}}"
psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --host "\${${e.host}}" --port "\${${e.port}}" --username "\${${e.adminUser}}" --dbname postgres <<'SQL'
${renderPostgresReconcileSql({ admin: false })}SQL
echo "project database ready"
`;
}

/** Error for an init container that exited non-zero: where its output is, how to run it again. */
export function projectDatabaseFailureMessage(exitCode: number, containerName: string, urn: string): string {
    return `project database init exited with ${exitCode}. Its output: \`docker logs ${containerName}\`. `
        + "It runs again only when its inputs change, so after fixing the cause (database server healthy, its admin password) run it again with: "
        + `pulumi up --replace '${urn}'`;
}

/** Labels on the proxy naming each project's MLflow container: a new one replaces the proxy (see proxyUpstreamLabels). */
export function projectUpstreamLabels(names: readonly string[], containerIds: readonly string[]): Array<{ label: string; value: string }> {
    if (names.length !== containerIds.length) throw new Error("one container id per project");
    return names.map((n, i) => {
        if (containerIds[i] === "") throw new Error(`the MLflow container id of project ${n} is empty`);
        return { label: `mlflow-platform.project-upstream-container.${n}`, value: containerIds[i] };
    });
}

/** ALB path patterns of a project's rule: the exact prefix (nginx redirects it to the slash) and everything under it. */
export function projectPathPatterns(name: string): string[] {
    const n = projectNames(name);
    return [n.urlPath, `${n.urlPath}/*`];
}

/**
 * One statement of the AWS init container's runner (images/tracking-server/project_db_init.py).
 * The runner executes them in order, autocommit, as the Aurora master user. `unless`: a query
 * that, when it returns a row, skips the statement (PostgreSQL has no CREATE ROLE/DATABASE IF
 * NOT EXISTS). `bindsPassword`: the statement takes the project's password as the bound
 * parameter `%(password)s` (the driver quotes it; a literal `%` is written `%%`); the others run
 * without parameters. No value in these statements is secret: they can sit in the task
 * definition's environment.
 */
export interface ProjectInitStatement {
    readonly sql: string;
    readonly unless?: string;
    readonly bindsPassword?: true;
}

function pgIdentifier(value: string): string {
    return `"${value.replace(/"/g, '""')}"`;
}

function pgString(value: string): string {
    return `'${value.replace(/'/g, "''")}'`;
}

/**
 * The statements of renderProjectMysqlSql / renderProjectDatabaseScript, for a runner that
 * talks to the database through the tracking server's own drivers and TLS settings instead of
 * a command-line client. Same effect: idempotent, the project user owns (PostgreSQL) or has
 * all privileges on (MySQL, escaped name, old pattern grant revoked) its database only, PUBLIC
 * loses CONNECT. PostgreSQL adds one
 * statement the local target's superuser does not need: Aurora's master user is not a
 * superuser, and CREATE DATABASE ... OWNER needs membership in the owner role (PostgreSQL 16,
 * "CREATE DATABASE": "must be able to SET ROLE to the owner"), so the master grants itself
 * the project role first (allowed: it created the role, CREATEROLE gives it ADMIN OPTION).
 */
export function renderProjectInitStatements(engine: BackendEngine, name: string): ProjectInitStatement[] {
    const n = projectNames(name);
    return renderDatabaseInitStatements(engine, n.database, n.databaseUser);
}

/** The same for any database and user of the platform's own (the auth app's: trackingServer/auth.ts). */
export function renderDatabaseInitStatements(engine: BackendEngine, database: string, databaseUser: string): ProjectInitStatement[] {
    const n = { database, databaseUser };
    if (engine === "mysql") {
        const db = mysqlIdentifier(n.database);
        const user = `${mysqlString(n.databaseUser)}@'%%'`;
        const g = renderProjectMysqlGrants(n.database, n.databaseUser);
        return [
            { sql: `CREATE DATABASE IF NOT EXISTS ${db} CHARACTER SET ${MYSQL_CHARSET.charset} COLLATE ${MYSQL_CHARSET.collation}` },
            { sql: `CREATE USER IF NOT EXISTS ${user} IDENTIFIED BY %(password)s`, bindsPassword: true },
            { sql: `ALTER USER ${user} IDENTIFIED BY %(password)s`, bindsPassword: true },
            { sql: g.legacyRevoke, unless: `SELECT 1 FROM DUAL WHERE NOT ${g.legacyExists}` },
            { sql: g.grant },
        ];
    }
    const role = pgIdentifier(n.databaseUser);
    const db = pgIdentifier(n.database);
    return [
        { sql: `CREATE ROLE ${role} LOGIN`, unless: `SELECT 1 FROM pg_roles WHERE rolname = ${pgString(n.databaseUser)}` },
        { sql: `ALTER ROLE ${role} WITH LOGIN PASSWORD %(password)s`, bindsPassword: true },
        {
            sql: `GRANT ${role} TO CURRENT_USER`,
            unless: `SELECT 1 FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE r.rolname = ${pgString(n.databaseUser)} AND m.member = (SELECT oid FROM pg_roles WHERE rolname = CURRENT_USER)`,
        },
        { sql: `CREATE DATABASE ${db} OWNER ${role} ENCODING 'UTF8' TEMPLATE template0`, unless: `SELECT 1 FROM pg_database WHERE datname = ${pgString(n.database)}` },
        { sql: `REVOKE ALL ON DATABASE ${db} FROM PUBLIC` },
    ];
}

/** Environment of the AWS init container besides the entrypoint's MLFLOW_DB_* (admin) variables. */
export const PROJECT_INIT_ENV = {
    statements: "MLFLOW_PROJECT_DB_STATEMENTS",
    password: "MLFLOW_PROJECT_DB_PASSWORD",
} as const;

/** Where the runner lives in the tracking-server image (images/tracking-server/Dockerfile). */
export const PROJECT_INIT_COMMAND = ["python", "/opt/mlflow/project_db_init.py"];

/** The database the init container connects to as master: one that always exists. */
export function projectInitAdminDatabase(engine: BackendEngine, clusterDatabase: string): string {
    return engine === "postgres" ? "postgres" : clusterDatabase;
}
