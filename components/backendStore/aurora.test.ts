import { MYSQL_SERVER_ARGS } from "./database";
import { clusterParameterGroupFamily, RDS_CA_BUNDLE_PATH, renderClusterParameters, renderDatabaseTlsQuery, renderTlsDatabaseUri } from "./aurora";

test.each<["mysql" | "postgres", string, string]>([
    ["mysql", "8.0.mysql_aurora.3.10.0", "aurora-mysql8.0"],
    ["mysql", "8.0.mysql_aurora.3.08.2", "aurora-mysql8.0"],
    ["postgres", "16.8", "aurora-postgresql16"],
    ["postgres", "15.7", "aurora-postgresql15"],
])("parameter group family of %s %s is %s", (engine, version, family) => {
    expect(clusterParameterGroupFamily(engine, version)).toBe(family);
});

test.each<["mysql" | "postgres", string]>([
    ["mysql", "8.0"], ["mysql", "3.10.0"], ["postgres", "16"], ["postgres", "16.8.1"], ["postgres", "latest"],
])("an engine version it cannot map is an error: %s %s", (engine, version) => {
    expect(() => clusterParameterGroupFamily(engine, version)).toThrow(/engine version/);
});

test("Aurora MySQL gets the local target's character set and case-sensitive collation", () => {
    const params = Object.fromEntries(renderClusterParameters("mysql", "8.0.mysql_aurora.3.10.0").parameters.map(p => [p.name, p.value]));
    // The same values as the MySQL container's --character-set-server / --collation-server flags.
    const docker = Object.fromEntries(MYSQL_SERVER_ARGS.map(a => a.replace(/^--/, "").split("=")).map(([k, v]) => [k.replace(/-/g, "_"), v]));
    expect(params.character_set_server).toBe(docker.character_set_server);
    expect(params.collation_server).toBe(docker.collation_server);
    expect(params.collation_server).toBe("utf8mb4_bin");
    expect(params.require_secure_transport).toBe("ON");
});

test.each<["mysql" | "postgres", string, Record<string, string>]>([
    ["mysql", "8.0.mysql_aurora.3.10.0", { character_set_server: "utf8mb4", collation_server: "utf8mb4_bin", require_secure_transport: "ON" }],
    ["postgres", "16.8", { "rds.force_ssl": "1" }],
])("%s %s cluster parameters", (engine, version, expected) => {
    const group = renderClusterParameters(engine, version);
    expect(Object.fromEntries(group.parameters.map(p => [p.name, p.value]))).toEqual(expected);
    // Dynamic parameters: a change applies without restarting the instances.
    expect(group.parameters.every(p => p.applyMethod === "immediate")).toBe(true);
});

test.each<["mysql" | "postgres", string]>([
    ["mysql", `ssl_ca=${RDS_CA_BUNDLE_PATH}&ssl_check_hostname=true`],
    ["postgres", `sslmode=verify-full&sslrootcert=${RDS_CA_BUNDLE_PATH}`],
])("TLS query for %s verifies the certificate and the host name", (engine, expected) => {
    expect(renderDatabaseTlsQuery(engine)).toBe(expected);
});

test.each(["relative/ca.pem", "/path with space.pem", "/a&b.pem", ""])("a CA path that would need encoding is refused: %p", path => {
    expect(() => renderDatabaseTlsQuery("mysql", path)).toThrow(/CA bundle path must be an absolute path/);
});

test.each([
    ["mysql", `mysql+pymysql://u:p%40ss@h:3306/mlflow_auth?charset=utf8mb4&ssl_ca=${RDS_CA_BUNDLE_PATH}&ssl_check_hostname=true`],
    ["postgres", `postgresql+psycopg2://u:p%40ss@h:5432/mlflow_auth?sslmode=verify-full&sslrootcert=${RDS_CA_BUNDLE_PATH}`],
] as const)("renderTlsDatabaseUri(%s): the engine's query, then verified TLS, as entrypoint.py composes it", (engine, uri) => {
    expect(renderTlsDatabaseUri({ engine, host: "h", database: "mlflow_auth", username: "u", password: "p@ss" })).toBe(uri);
});
