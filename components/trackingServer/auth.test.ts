import { AUTH_ENV, AUTH_IN_BACKEND_STORE, platformAuthUsers, projectAuthUsers, renderAuthEnv, renderAuthIni, renderAuthUsers } from "./auth";

describe("platformAuthUsers", () => {
    test("the username login first as admin, then users, then one reader per served model", () => {
        expect(platformAuthUsers({
            username: "mlflow",
            users: [{ name: "alice", role: "editor", projects: ["vision"] }, { name: "bob", role: "viewer", projects: [] }, { name: "ops", role: "admin", projects: [] }],
            servedModels: ["churn", "Iris.v2"],
        })).toEqual([
            { name: "mlflow", role: "admin" },
            { name: "alice", role: "editor" },
            { name: "bob", role: "viewer" },
            { name: "ops", role: "admin" },
            { name: "model-churn", role: "reader", models: ["churn"] },
            { name: "model-iris-v2", role: "reader", models: ["Iris.v2"] },
        ]);
    });

    test("a stack without users: the single login, an admin", () => {
        expect(platformAuthUsers({ username: "mlflow" })).toEqual([{ name: "mlflow", role: "admin" }]);
    });
});

describe("renderAuthUsers", () => {
    test("JSON as the image reads it", () => {
        expect(renderAuthUsers([{ name: "mlflow", role: "admin" }, { name: "bob", role: "viewer" }, { name: "model-foo", role: "reader", models: ["foo"] }]))
            .toBe('[{"name":"mlflow","role":"admin"},{"name":"bob","role":"viewer"},{"name":"model-foo","role":"reader","models":["foo"]}]');
    });

    test.each<[string, Parameters<typeof renderAuthUsers>[0], RegExp]>([
        ["a name twice", [{ name: "a1", role: "admin" }, { name: "a1", role: "viewer" }], /a1 is listed twice/],
        ["no admin", [{ name: "bob", role: "viewer" }], /at least one admin/],
        ["a reader without models", [{ name: "mlflow", role: "admin" }, { name: "model-x", role: "reader" }], /a reader names its models/],
        ["models on a viewer", [{ name: "mlflow", role: "admin" }, { name: "bob", role: "viewer", models: ["x"] }], /only a reader does/],
        ["a colon in a name", [{ name: "a:b", role: "admin" }], /account names/],
        ["an unknown role", [{ name: "x1", role: "owner" as "admin" }], /unknown role/],
    ])("refuses %s", (_label, users, expected) => {
        expect(() => renderAuthUsers(users)).toThrow(expected);
    });
});

describe("renderAuthIni", () => {
    test("no default rights, identity from the proxy, no credential cache, no database_uri", () => {
        const ini = renderAuthIni({ adminUsername: "mlflow" });
        expect(ini).toBe([
            "[mlflow]", "default_permission = NO_PERMISSIONS", "authorization_function = mlflow_platform_auth:authenticate_proxied",
            "admin_username = mlflow", "grant_default_workspace_access = false", "auth_cache_ttl_seconds = 0", "",
        ].join("\n"));
        expect(ini).not.toMatch(/database_uri|admin_password/);
    });

    test("refuses an admin name that would break the ini", () => {
        expect(() => renderAuthIni({ adminUsername: "x\ndatabase_uri = sqlite://" })).toThrow(/adminUsername/);
    });
});

describe("renderAuthEnv", () => {
    test("exactly the contract's two non-secret variables; the first admin is MLflow's admin_username", () => {
        const env = renderAuthEnv([{ name: "bob", role: "viewer" }, { name: "root", role: "admin" }, { name: "ops", role: "admin" }]);
        expect(Object.keys(env).sort()).toEqual(["MLFLOW_PLATFORM_AUTH_INI", "MLFLOW_PLATFORM_USERS"]);
        expect(env.MLFLOW_PLATFORM_AUTH_INI).toContain("admin_username = root\n");
        expect(JSON.parse(env.MLFLOW_PLATFORM_USERS)).toHaveLength(3);
    });

    test("the secret variables' names", () => {
        expect(AUTH_ENV).toEqual({
            ini: "MLFLOW_PLATFORM_AUTH_INI", users: "MLFLOW_PLATFORM_USERS", databaseUri: "MLFLOW_PLATFORM_AUTH_DB_URI",
            proxyToken: "MLFLOW_PLATFORM_PROXY_TOKEN", flaskSecretKey: "MLFLOW_FLASK_SERVER_SECRET_KEY", database: "MLFLOW_PLATFORM_AUTH_DB",
        });
    });

    test("a project's server: its auth tables in its own backend store, said by a third, non-secret variable", () => {
        const env = renderAuthEnv([{ name: "alpha", role: "admin" }], { inBackendStore: true });
        expect(Object.keys(env).sort()).toEqual(["MLFLOW_PLATFORM_AUTH_DB", "MLFLOW_PLATFORM_AUTH_INI", "MLFLOW_PLATFORM_USERS"]);
        expect(env.MLFLOW_PLATFORM_AUTH_DB).toBe(AUTH_IN_BACKEND_STORE);
        expect(AUTH_IN_BACKEND_STORE).toBe("backend-store");  // what images/tracking-server/mlflow_platform_auth.py expects
    });
});

describe("projectAuthUsers", () => {
    const users = [
        { name: "alice", role: "editor" as const, projects: ["vision"] },
        { name: "bob", role: "viewer" as const, projects: ["vision", "nlp"] },
        { name: "carol", role: "editor" as const, projects: ["nlp"] },
        { name: "ops", role: "admin" as const, projects: [] },
    ];

    test("the project's login first (its admin), then the stack's admins and the project's members with their roles", () => {
        expect(projectAuthUsers({ project: "vision", projectLogin: "vision", users })).toEqual([
            { name: "vision", role: "admin" }, { name: "alice", role: "editor" }, { name: "bob", role: "viewer" }, { name: "ops", role: "admin" },
        ]);
        expect(projectAuthUsers({ project: "nlp", projectLogin: "bob2", users }).map(u => u.name)).toEqual(["bob2", "bob", "carol", "ops"]);
    });

    test("a project nobody lists: its login and the admins only; the project login is MLflow's admin_username there", () => {
        const accounts = projectAuthUsers({ project: "empty", projectLogin: "empty", users });
        expect(accounts).toEqual([{ name: "empty", role: "admin" }, { name: "ops", role: "admin" }]);
        expect(renderAuthEnv(accounts, { inBackendStore: true }).MLFLOW_PLATFORM_AUTH_INI).toContain("admin_username = empty\n");
    });
});
