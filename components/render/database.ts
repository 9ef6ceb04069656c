// Database settings shared by the BackendStore flavours, the tracking server and the e2e tests.
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
export const MYSQL_SERVER_ARGS = ["--character-set-server=utf8mb4", "--collation-server=utf8mb4_bin"];

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

/** The SQLAlchemy URI MLflow takes as its backend store, credentials URL-encoded (mlflow#1419, #7851). */
export function renderDatabaseUri(p: DatabaseUriParts): string {
    const e = ENGINES[p.engine];
    const host = p.host.includes(":") && !p.host.startsWith("[") ? `[${p.host}]` : p.host;
    return `${e.dialect}://${encodeUriComponentStrict(p.username)}:${encodeUriComponentStrict(p.password)}@${host}:${p.port ?? e.port}/${encodeUriComponentStrict(p.database)}${e.query}`;
}

/** Environment variable names through which the PostgreSQL init script receives the application role. */
export const POSTGRES_APP_ENV = { user: "MLFLOW_DB_USER", password: "MLFLOW_DB_PASSWORD", database: "MLFLOW_DB_NAME" } as const;

/**
 * Runs once from /docker-entrypoint-initdb.d on an empty data directory, as the superuser:
 * creates the application role (distinct from the superuser) and its database. Values
 * arrive through the environment and psql variables, so no password is on a command line.
 */
export function renderPostgresInitScript(): string {
    return `#!/bin/sh
# Rendered by mlflow-platform (components/render/database.ts).
set -eu
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "\${POSTGRES_DB:-$POSTGRES_USER}" \\
    -v app_user="$${POSTGRES_APP_ENV.user}" -v app_password="$${POSTGRES_APP_ENV.password}" -v app_db="$${POSTGRES_APP_ENV.database}" <<'SQL'
CREATE ROLE :"app_user" LOGIN PASSWORD :'app_password';
CREATE DATABASE :"app_db" OWNER :"app_user" ENCODING 'UTF8' TEMPLATE template0;
REVOKE ALL ON DATABASE :"app_db" FROM PUBLIC;
SQL
`;
}
