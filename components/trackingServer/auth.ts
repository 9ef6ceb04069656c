// The MLflow side of team accounts: the auth app's ini, the accounts the image syncs into its
// database, and the environment names both targets use (images/tracking-server
// mlflow_platform_auth.py reads them). Pure: shared by Docker, aws and the e2e suite.
import type { UserConfig, UserRole } from "../config/types";
import { readerUsername } from "../authProxy/registryReader";
import { AUTH_DATABASE_NAME } from "../config/users";

/** Environment of the MLflow container; the secret ones are added by each target as secrets. */
export const AUTH_ENV = {
    /** The auth app's ini without database_uri (renderAuthIni); not secret. */
    ini: "MLFLOW_PLATFORM_AUTH_INI",
    /** The accounts (renderAuthUsers); not secret. */
    users: "MLFLOW_PLATFORM_USERS",
    /** SQLAlchemy URI of the auth app's own database; secret. */
    databaseUri: "MLFLOW_PLATFORM_AUTH_DB_URI",
    /** The token nginx sends with the user header (authProxy/identity.ts); secret. */
    proxyToken: "MLFLOW_PLATFORM_PROXY_TOKEN",
    /** Flask's session key, one per server and shared by its tasks and workers; secret. */
    flaskSecretKey: "MLFLOW_FLASK_SERVER_SECRET_KEY",
    /**
     * Where the auth app's tables are: unset, in the database of databaseUri; AUTH_IN_BACKEND_STORE,
     * in the server's own backend store (a project's server). Not secret.
     */
    database: "MLFLOW_PLATFORM_AUTH_DB",
} as const;

/** AUTH_ENV.database's value for a project's server: its grants live beside its experiments. */
export const AUTH_IN_BACKEND_STORE = "backend-store";

/** The auth app's own database and user on the backend store's server (a second ProjectDatabase). */
export const AUTH_DATABASE = { database: AUTH_DATABASE_NAME, username: AUTH_DATABASE_NAME } as const;

/** Length of the generated Flask secret key (alphanumeric). */
export const FLASK_SECRET_KEY_LENGTH = 48;

export type AuthRole = UserRole | "reader";

/** One account as MLflow's auth app gets it; readers carry the registered models they may read. */
export interface AuthUser {
    readonly name: string;
    readonly role: AuthRole;
    readonly models?: readonly string[];
}

/**
 * Every account of the server at `/`: the username key's login first (an admin, and the ini's
 * admin_username), then the users entries, then one reader per served model (READ on that
 * registered model only, named as in its htpasswd line).
 */
export function platformAuthUsers(p: { username: string; users?: readonly UserConfig[]; servedModels?: readonly string[] }): AuthUser[] {
    return [
        { name: p.username, role: "admin" },
        ...(p.users ?? []).map(u => ({ name: u.name, role: u.role })),
        ...(p.servedModels ?? []).map(model => ({ name: readerUsername(model), role: "reader" as const, models: [model] })),
    ];
}

/**
 * Every account of one project's server: the project's own login first (an admin there, and the
 * ini's admin_username, as its shared login always had every right), then the stack's admins and
 * the project's members with their roles, in the users order. Nobody else: MLflow refuses (401)
 * any other name the proxy could assert. No readers: model servers read the registry at `/`.
 */
export function projectAuthUsers(p: { project: string; projectLogin: string; users: readonly UserConfig[] }): AuthUser[] {
    return [
        { name: p.projectLogin, role: "admin" },
        ...p.users.filter(u => u.role === "admin" || u.projects.includes(p.project)).map(u => ({ name: u.name, role: u.role })),
    ];
}

const ROLES: readonly AuthRole[] = ["admin", "editor", "viewer", "reader"];

function checkUsers(users: readonly AuthUser[]): void {
    const seen = new Set<string>();
    for (const u of users) {
        if (!/^[A-Za-z0-9._@-]{1,64}$/.test(u.name)) throw new Error(`account names are 1-64 letters, digits, '.', '_', '@' or '-', got ${JSON.stringify(u.name)}`);
        if (seen.has(u.name)) throw new Error(`account ${u.name} is listed twice`);
        seen.add(u.name);
        if (!ROLES.includes(u.role)) throw new Error(`account ${u.name} has unknown role ${JSON.stringify(u.role)}`);
        if ((u.role === "reader") !== (u.models !== undefined && u.models.length > 0)) {
            throw new Error(`account ${u.name}: a reader names its models, and only a reader does`);
        }
    }
    if (!users.some(u => u.role === "admin")) throw new Error("at least one admin account is needed (MLflow's admin_username)");
}

/** MLFLOW_PLATFORM_USERS: a JSON list of {name, role[, models]}, in the given order. */
export function renderAuthUsers(users: readonly AuthUser[]): string {
    checkUsers(users);
    return JSON.stringify(users.map(u => u.models === undefined ? { name: u.name, role: u.role } : { name: u.name, role: u.role, models: [...u.models] }));
}

/**
 * MLFLOW_PLATFORM_AUTH_INI: MLflow 3.17's auth config (mlflow/server/auth/config.py) without
 * database_uri, which the entrypoint adds from the secret. Nothing is readable without a grant
 * or a role; identity comes from the proxy (authorization_function), so MLflow never checks a
 * password and its credential cache stays off.
 */
export function renderAuthIni(p: { adminUsername: string }): string {
    if (!/^[A-Za-z0-9._@-]{1,64}$/.test(p.adminUsername)) throw new Error(`adminUsername must be an account name, got ${JSON.stringify(p.adminUsername)}`);
    return [
        "[mlflow]",
        "default_permission = NO_PERMISSIONS",
        "authorization_function = mlflow_platform_auth:authenticate_proxied",
        `admin_username = ${p.adminUsername}`,
        "grant_default_workspace_access = false",
        "auth_cache_ttl_seconds = 0",
        "",
    ].join("\n");
}

/**
 * The non-secret auth environment of the MLflow container (the secrets: AUTH_ENV's others).
 * `inBackendStore`: the auth app's tables go into the server's own database (a project's), and
 * the container gets no databaseUri.
 */
export function renderAuthEnv(users: readonly AuthUser[], opts: { inBackendStore?: boolean } = {}): Record<string, string> {
    const text = renderAuthUsers(users);
    const admin = users.find(u => u.role === "admin")!;
    return {
        [AUTH_ENV.ini]: renderAuthIni({ adminUsername: admin.name }), [AUTH_ENV.users]: text,
        ...(opts.inBackendStore ? { [AUTH_ENV.database]: AUTH_IN_BACKEND_STORE } : {}),
    };
}
