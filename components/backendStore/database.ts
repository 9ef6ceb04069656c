// Database settings shared by the BackendStore targets, the tracking server and the e2e tests.
import type { BackendEngine } from "../config";

export interface EngineSettings {
    readonly port: number;
    /** SQLAlchemy dialect+driver MLflow uses; the drivers are in images/tracking-server/requirements.txt. */
    readonly dialect: string;
    /** Query string appended to the URI. */
    readonly query: string;
}

export const ENGINES: Record<BackendEngine, EngineSettings> = {
    // utf8mb4 so run names, params and tags can hold any Unicode text.
    mysql: { port: 3306, dialect: "mysql+pymysql", query: "?charset=utf8mb4" },
    postgres: { port: 5432, dialect: "postgresql+psycopg2", query: "" },
};

/**
 * Server flags for the MySQL container. utf8mb4_bin keeps names case-sensitive, as they are
 * on PostgreSQL, and exists on MySQL 8 and MariaDB alike.
 */
export const MYSQL_CHARSET = { charset: "utf8mb4", collation: "utf8mb4_bin" } as const;
export const MYSQL_SERVER_ARGS = [`--character-set-server=${MYSQL_CHARSET.charset}`, `--collation-server=${MYSQL_CHARSET.collation}`];

/** Percent-encodes everything but RFC 3986 unreserved characters, so '@', ':', '%', '/' and '#' in passwords survive. */
export function encodeUriComponentStrict(value: string): string {
    return encodeURIComponent(value).replace(/[!'()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

export interface DatabaseUriParts {
    readonly engine: BackendEngine;
    readonly host: string;
    readonly port?: number;
    readonly database: string;
    readonly username: string;
    readonly password: string;
}

/** The SQLAlchemy URI MLflow takes as its backend store, credentials URL-encoded (mlflow#1419, mlflow#7851). */
export function renderDatabaseUri(p: DatabaseUriParts): string {
    const e = ENGINES[p.engine];
    const host = p.host.includes(":") && !p.host.startsWith("[") ? `[${p.host}]` : p.host;
    return `${e.dialect}://${encodeUriComponentStrict(p.username)}:${encodeUriComponentStrict(p.password)}@${host}:${p.port ?? e.port}/${encodeUriComponentStrict(p.database)}${e.query}`;
}

/** Environment variable names through which the PostgreSQL scripts receive the application role. */
export const POSTGRES_APP_ENV = { user: "MLFLOW_DB_USER", password: "MLFLOW_DB_PASSWORD", database: "MLFLOW_DB_NAME" } as const;

/**
 * Files the local target uploads into the database container. The directories exist in the
 * official images (docker-library/mysql 8.4/Dockerfile.oracle, docker-library/postgres
 * 16/bookworm/Dockerfile), so the uploads need no new directories.
 */
export const DB_FILES = {
    /** Wrapper around the official entrypoint that reconciles credentials at every start. */
    entrypoint: "/usr/local/bin/mlflow-db-entrypoint.sh",
    /** The official images' entrypoint, which the wrapper hands over to. */
    officialEntrypoint: "/usr/local/bin/docker-entrypoint.sh",
    /** MySQL: reconcile SQL; run by the official entrypoint on an empty data directory, as --init-file on later starts. */
    mysqlReconcile: "/docker-entrypoint-initdb.d/10-mlflow.sql",
    /** PostgreSQL: init script, run by the official entrypoint on an empty data directory only. */
    postgresInit: "/docker-entrypoint-initdb.d/10-mlflow.sh",
    /** PostgreSQL: reconcile script the wrapper runs on a kept data directory. */
    postgresReconcile: "/usr/local/bin/mlflow-db-reconcile.sh",
} as const;

/** Data directories of the official images (their DATADIR / PGDATA defaults), where the volume is mounted. */
export const DATA_DIRS = { mysql: "/var/lib/mysql", postgres: "/var/lib/postgresql/data" } as const;

/** A MySQL string literal; backslash escapes are on in the default sql_mode. */
export function mysqlString(value: string): string {
    return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "''").replace(/\0/g, "\\0")}'`;
}

/** A MySQL identifier in backticks. */
export function mysqlIdentifier(value: string): string {
    return `\`${value.replace(/`/g, "``")}\``;
}

/**
 * The database of a database-level grant, `GRANT ... ON <this>.*`. There `_` and `%` are
 * wildcards (MySQL 8.4 manual, GRANT: "to use a _ character as part of a database name, specify
 * it using the \\ escape character as \\_ ... to prevent the user from being able to access
 * additional databases matching the wildcard pattern"; MariaDB alike), so an unescaped grant on
 * mlflow_zq_7 also covers mlflow_zqx7 and any database created later that matches. Escaped, the
 * grant names exactly one database.
 */
export function mysqlGrantDatabase(value: string): string {
    return mysqlIdentifier(value.replace(/[\\_%]/g, c => `\\${c}`));
}

export interface MysqlReconcileArgs {
    readonly database: string;
    readonly username: string;
    readonly appPassword: string;
    readonly adminPassword: string;
    readonly charset: string;
    readonly collation: string;
}

/**
 * Idempotent SQL that makes the database, the application user and root carry the passwords
 * of this deploy, whatever an earlier deploy left in a kept volume. One statement per line
 * and no statement that fails when its object already exists or is missing (IF [NOT] EXISTS),
 * so it is safe on an empty data directory (run by the official entrypoint from
 * /docker-entrypoint-initdb.d, after it created root and MYSQL_USER with the same passwords)
 * and on a kept one (run by mysqld itself as --init-file, before it accepts connections).
 * It holds passwords: the local target uploads it as a Pulumi secret.
 */
export function renderMysqlReconcileSql(a: MysqlReconcileArgs): string {
    const db = mysqlIdentifier(a.database);
    const app = `${mysqlString(a.username)}@'%'`;
    const appPw = mysqlString(a.appPassword);
    const rootPw = mysqlString(a.adminPassword);
    return `-- Rendered by mlflow-platform (components/render/database.ts): credentials reconcile.
CREATE DATABASE IF NOT EXISTS ${db} CHARACTER SET ${a.charset} COLLATE ${a.collation};
CREATE USER IF NOT EXISTS ${app} IDENTIFIED BY ${appPw};
ALTER USER ${app} IDENTIFIED BY ${appPw};
GRANT ALL PRIVILEGES ON ${mysqlGrantDatabase(a.database)}.* TO ${app};
ALTER USER IF EXISTS 'root'@'localhost' IDENTIFIED BY ${rootPw};
ALTER USER IF EXISTS 'root'@'%' IDENTIFIED BY ${rootPw};
`;
}

/**
 * Entrypoint of the MySQL container. The official entrypoint (docker-library/mysql
 * 8.4/docker-entrypoint.sh) initialises only when "$DATADIR/mysql" does not exist and passes
 * its arguments to `mysqld --initialize-insecure` as well, where account statements are
 * refused (bootstrap mode, MySQL 8.4 manual on init_file). So --init-file is added only when
 * the data directory already holds a database; on an empty one the same file runs from
 * /docker-entrypoint-initdb.d.
 */
export function renderMysqlEntrypoint(): string {
    return `#!/bin/bash
# Rendered by mlflow-platform (components/render/database.ts).
set -euo pipefail
if [ -d "${DATA_DIRS.mysql}/mysql" ]; then
    # A kept data directory: the official entrypoint ignores MYSQL_* here, so mysqld applies
    # this deploy's credentials itself at startup.
    set -- "$@" --init-file=${DB_FILES.mysqlReconcile}
fi
exec ${DB_FILES.officialEntrypoint} "$@"
`;
}

/**
 * psql input that creates the application role and database when missing and sets the
 * role's password; with `admin`, also the superuser's (POSTGRES_USER / POSTGRES_PASSWORD).
 * Values come from the environment through psql's \\getenv (psql 15+; the image ships 16),
 * never from a command line.
 */
export function renderPostgresReconcileSql(opts: { readonly admin: boolean }): string {
    const e = POSTGRES_APP_ENV;
    const lines = [
        `\\getenv app_user ${e.user}`,
        `\\getenv app_password ${e.password}`,
        `\\getenv app_db ${e.database}`,
        `SELECT format('CREATE ROLE %I LOGIN', :'app_user') WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'app_user')\\gexec`,
        `ALTER ROLE :"app_user" WITH LOGIN PASSWORD :'app_password';`,
        `SELECT format('CREATE DATABASE %I OWNER %I ENCODING %L TEMPLATE template0', :'app_db', :'app_user', 'UTF8') WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'app_db')\\gexec`,
        `REVOKE ALL ON DATABASE :"app_db" FROM PUBLIC;`,
    ];
    if (opts.admin) {
        lines.push(`\\getenv admin_user POSTGRES_USER`, `\\getenv admin_password POSTGRES_PASSWORD`,
            `ALTER ROLE :"admin_user" PASSWORD :'admin_password';`);
    }
    return lines.join("\n") + "\n";
}

function psqlScript(purpose: string, sql: string, dbname: string): string {
    return `#!/bin/sh
# Rendered by mlflow-platform (components/render/database.ts): ${purpose}
set -eu
# Every value reaches psql through the environment (\\getenv), so no password is on a command line.
psql -v ON_ERROR_STOP=1 --no-psqlrc --no-password --username "$POSTGRES_USER" --dbname "${dbname}" <<'SQL'
${sql}SQL
`;
}

/**
 * Runs once from /docker-entrypoint-initdb.d on an empty data directory, as the superuser:
 * creates the application role (distinct from the superuser) and its database.
 */
export function renderPostgresInitScript(): string {
    return psqlScript("application role and database, first start.", renderPostgresReconcileSql({ admin: false }), "${POSTGRES_DB:-$POSTGRES_USER}");
}

/** Run by the entrypoint wrapper on a kept data directory: this deploy's passwords for both roles. */
export function renderPostgresReconcileScript(): string {
    return psqlScript("credentials reconcile on a kept data directory.", renderPostgresReconcileSql({ admin: true }), "postgres");
}

/**
 * Entrypoint of the PostgreSQL container. The official entrypoint runs
 * /docker-entrypoint-initdb.d only on an empty PGDATA (docker-library/postgres
 * 16/bookworm/docker-entrypoint.sh, _main). This wrapper reuses its functions the way its
 * own docker-ensure-initdb.sh does: on a kept PGDATA it starts the socket-only temporary
 * server (listen_addresses=''), where local connections are trusted (initdb's default, the
 * image adds password auth for "host" lines only), applies the reconcile script, stops it,
 * then hands over to the official entrypoint. Nothing serves TCP before the passwords match.
 */
export function renderPostgresEntrypoint(): string {
    return `#!/usr/bin/env bash
# Rendered by mlflow-platform (components/render/database.ts).
set -Eeo pipefail
# Defines the official functions only: it calls _main when executed, not when sourced.
source ${DB_FILES.officialEntrypoint}
if [ "$#" -eq 0 ] || [ "\${1:0:1}" = '-' ]; then
    set -- postgres "$@"
fi
docker_setup_env
docker_create_db_directories
if [ "$(id -u)" = '0' ]; then
    exec gosu postgres "$BASH_SOURCE" "$@"
fi
if [ -n "$DATABASE_ALREADY_EXISTS" ]; then
    docker_temp_server_start "$@"
    ${DB_FILES.postgresReconcile}
    docker_temp_server_stop
fi
exec ${DB_FILES.officialEntrypoint} "$@"
`;
}

export interface DatabaseFile {
    readonly file: string;
    readonly content: string;
    readonly executable: boolean;
    /**
     * Octal mode. The Docker provider's `executable` alone gives 0744 (kreuzwerker
     * terraform-provider-docker, container upload), which the postgres user the entrypoint
     * switches to (gosu) cannot execute.
     */
    readonly permissions: "0755" | "0644";
}

export interface DatabaseCredentials {
    readonly database: string;
    readonly username: string;
    readonly appPassword: string;
    readonly adminPassword: string;
}

/**
 * Every file the local target uploads into the database container; the container's
 * entrypoint is DB_FILES.entrypoint. The MySQL list holds passwords (upload it as a secret);
 * the PostgreSQL scripts read theirs from the environment.
 */
export function renderDatabaseFiles(engine: BackendEngine, c: DatabaseCredentials): DatabaseFile[] {
    if (engine === "mysql") {
        return [
            { file: DB_FILES.entrypoint, content: renderMysqlEntrypoint(), executable: true, permissions: "0755" },
            // Read by mysqld, which runs as the image's mysql user.
            { file: DB_FILES.mysqlReconcile, content: renderMysqlReconcileSql({ ...c, ...MYSQL_CHARSET }), executable: false, permissions: "0644" },
        ];
    }
    return [
        { file: DB_FILES.entrypoint, content: renderPostgresEntrypoint(), executable: true, permissions: "0755" },
        { file: DB_FILES.postgresInit, content: renderPostgresInitScript(), executable: true, permissions: "0755" },
        { file: DB_FILES.postgresReconcile, content: renderPostgresReconcileScript(), executable: true, permissions: "0755" },
    ];
}
