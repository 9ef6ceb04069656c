// How the proxy tells MLflow who the client is: after basic auth, nginx sets the user header
// from $remote_user and a shared token only nginx and MLflow know (images/tracking-server
// mlflow_platform_auth.py trusts the user header only with that token). Pure: shared by the
// Docker proxy, the aws sidecar and the e2e suite.

export const PROXY_USER_HEADER = "X-Mlflow-Platform-User";
export const PROXY_TOKEN_HEADER = "X-Mlflow-Platform-Token";
/** The file holding the token's proxy_set_header line; outside conf.d, which nginx includes at http level. */
export const PROXY_TOKEN_INCLUDE_PATH = "/etc/nginx/mlflow-proxy-token.inc";
/** Length of the generated token (alphanumeric: safe inside a quoted nginx string). */
export const PROXY_TOKEN_LENGTH = 48;

/** What a location that proxies to MLflow needs to assert the identity. */
export interface ProxyIdentity {
    /** Path of the file renderProxyTokenInclude's text is uploaded to. */
    readonly tokenIncludePath: string;
}

/** The include file's content: holds the token, so it is uploaded as a secret and never logged. */
export function renderProxyTokenInclude(token: string): string {
    // Nothing that ends the quoted string or starts a variable ($) in nginx.
    if (!/^[A-Za-z0-9!@:%._~+=-]{16,256}$/.test(token)) throw new Error("the proxy token must be 16-256 letters, digits or !@:%._~+=-");
    return `proxy_set_header ${PROXY_TOKEN_HEADER} "${token}";\n`;
}

/**
 * The header set of one location that proxies to MLflow. A location with any proxy_set_header
 * inherits none of the server's, so `serverHeaders` (the server block's own lines) are repeated
 * here, then the identity: nginx sends each header once, replacing what a client sent under
 * that name. Without an identity: nothing, the location inherits the server's set as before.
 */
export function renderIdentityHeaders(identity: ProxyIdentity | undefined, serverHeaders: readonly string[], indent = "        "): string {
    if (identity === undefined) return "";
    if (!/^\/[A-Za-z0-9._\/-]+$/.test(identity.tokenIncludePath)) throw new Error(`tokenIncludePath must be an absolute path, got ${JSON.stringify(identity.tokenIncludePath)}`);
    const lines = [
        "# Every header again (a location that sets one inherits none), then who the proxy admitted.",
        ...serverHeaders.map(h => `proxy_set_header ${h};`),
        `proxy_set_header ${PROXY_USER_HEADER} $remote_user;`,
        `include ${identity.tokenIncludePath};`,
    ];
    return lines.map(l => `${indent}${l}\n`).join("");
}

/** The main server block's proxy headers (authProxy/nginx.ts), as `Name value`. */
export const MAIN_SERVER_HEADERS: readonly string[] = [
    "Connection \"\"",
    "Host $http_host",
    "X-Real-IP $remote_addr",
    "X-Forwarded-For $proxy_add_x_forwarded_for",
    "X-Forwarded-Proto $mlflow_forwarded_proto",
    "X-Forwarded-Host $http_host",
    "Authorization \"\"",
];

/** The registry reader server's proxy headers (authProxy/registryReader.ts). */
export const READER_SERVER_HEADERS: readonly string[] = [
    "Connection \"\"",
    "Host $http_host",
    "X-Real-IP $remote_addr",
    "X-Forwarded-For $proxy_add_x_forwarded_for",
    "Authorization \"\"",
];
