// Aurora specifics both AWS components share: the cluster parameter group that makes Aurora
// MySQL compare names like the local target's MySQL (utf8mb4_bin, case-sensitive), and the
// TLS settings the image's entrypoint adds to the database URI.
import type { BackendEngine } from "../config";
import { DatabaseUriParts, renderDatabaseUri } from "./database";

/**
 * AWS's global bundle of RDS/Aurora CA certificates, documented in "Certificate bundles by AWS
 * Region" (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/UsingWithRDS.SSL.html).
 * The image downloads it at build time (images/tracking-server/Dockerfile) to this path.
 */
export const RDS_CA_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem";
export const RDS_CA_BUNDLE_PATH = "/opt/mlflow/rds-global-bundle.pem";

/** The local target's server flags (backendStore/database.ts MYSQL_SERVER_ARGS), as Aurora parameters. */
export const MYSQL_CHARSET = "utf8mb4";
export const MYSQL_COLLATION = "utf8mb4_bin";

export interface ClusterParameter {
    readonly name: string;
    readonly value: string;
    /** "pending-reboot" for static parameters: they apply at the next restart of the instances. */
    readonly applyMethod: "immediate" | "pending-reboot";
}

export interface ClusterParameterGroup {
    /** Parameter group family, derived from the engine version (e.g. aurora-mysql8.0, aurora-postgresql16). */
    readonly family: string;
    readonly parameters: ClusterParameter[];
}

/** Parameter group family of an Aurora engine version; an unknown version is an error, not a guess. */
export function clusterParameterGroupFamily(engine: BackendEngine, engineVersion: string): string {
    if (engine === "mysql") {
        const m = /^(\d+\.\d+)\.mysql_aurora\.\d+\.\d+\.\d+$/.exec(engineVersion);
        if (!m) throw new Error(`Aurora MySQL engine version ${JSON.stringify(engineVersion)} is not of the form 8.0.mysql_aurora.3.x.y`);
        return `aurora-mysql${m[1]}`;
    }
    const m = /^(\d+)\.\d+$/.exec(engineVersion);
    if (!m) throw new Error(`Aurora PostgreSQL engine version ${JSON.stringify(engineVersion)} is not of the form <major>.<minor>`);
    return `aurora-postgresql${m[1]}`;
}

/**
 * Aurora MySQL defaults to utf8mb4_0900_ai_ci, which is case- and accent-insensitive: two
 * experiments "Churn" and "churn" collide there but not in the local target. The server
 * settings decide the collation of the database Aurora creates with the cluster, and so of
 * every table MLflow creates in it (the URI's charset=utf8mb4 sets only the connection's).
 * Both engines refuse unencrypted connections.
 */
export function renderClusterParameters(engine: BackendEngine, engineVersion: string): ClusterParameterGroup {
    const family = clusterParameterGroupFamily(engine, engineVersion);
    if (engine === "postgres") {
        // PostgreSQL compares text case-sensitively by default, like the local target.
        return { family, parameters: [{ name: "rds.force_ssl", value: "1", applyMethod: "immediate" }] };
    }
    return {
        family,
        parameters: [
            { name: "character_set_server", value: MYSQL_CHARSET, applyMethod: "immediate" },
            { name: "collation_server", value: MYSQL_COLLATION, applyMethod: "immediate" },
            { name: "require_secure_transport", value: "ON", applyMethod: "immediate" },
        ],
    };
}

/**
 * URI query parameters for a verified TLS connection to Aurora, appended by the entrypoint
 * (MLFLOW_DB_TLS_QUERY) to the URI it composes. Both drivers then check the certificate chain
 * against the RDS bundle and the host name against the cluster endpoint:
 * - PyMySQL through SQLAlchemy: ssl_ca makes the ssl dict (CERT_REQUIRED, check_hostname);
 * - psycopg2/libpq: sslmode=verify-full with sslrootcert.
 */
export function renderDatabaseTlsQuery(engine: BackendEngine, caBundlePath: string = RDS_CA_BUNDLE_PATH): string {
    // Plain characters only, so the value needs no URL encoding in the query.
    if (!/^\/[A-Za-z0-9._\/-]+$/.test(caBundlePath)) {
        throw new Error(`CA bundle path must be an absolute path of letters, digits, '.', '_', '-' and '/', got ${JSON.stringify(caBundlePath)}`);
    }
    const params: Array<[string, string]> = engine === "mysql"
        ? [["ssl_ca", caBundlePath], ["ssl_check_hostname", "true"]]
        : [["sslmode", "verify-full"], ["sslrootcert", caBundlePath]];
    return params.map(([k, v]) => `${k}=${v}`).join("&");
}

/** A SQLAlchemy URI to Aurora with verified TLS: renderDatabaseUri plus renderDatabaseTlsQuery (as entrypoint.py composes them). */
export function renderTlsDatabaseUri(p: DatabaseUriParts): string {
    const uri = renderDatabaseUri(p);
    const tls = renderDatabaseTlsQuery(p.engine);
    return uri.includes("?") ? `${uri}&${tls}` : `${uri}?${tls}`;
}
