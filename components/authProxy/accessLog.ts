// The proxy's access log: one JSON object per request (docs/observability.md, "Proxy access
// log"), shared by the Docker container, the AWS sidecars and the end-to-end tests.

/** nginx log_format name of the JSON access log. */
export const ACCESS_LOG_FORMAT = "mlflow_json";
/** Where every server block logs: the container's stdout (docker logs, or CloudWatch via awslogs). */
export const ACCESS_LOG_PATH = "/dev/stdout";

/**
 * The fields of one line, in order: [name, nginx value, quoted]. No header, cookie or query
 * string is logged: a client may put a token in any of them. The path is the raw request path
 * without its query. The user name only when nginx accepted the login (not on a 401, where it is
 * whatever the client typed, possibly a password in the wrong field). `server` is the nginx
 * upstream the request went to (mlflow_tracking, mlflow_project_<name>, the model's), empty when
 * nginx answered itself (401, 404).
 */
export const ACCESS_LOG_FIELDS: ReadonlyArray<readonly [string, string, boolean]> = [
    ["time", "$time_iso8601", true],
    ["msec", "$msec", false],
    ["status", "$status", false],
    ["method", "$request_method", true],
    ["path", "$mlflow_log_path", true],
    ["server", "$proxy_host", true],
    ["upstream", "$upstream_addr", true],
    ["upstream_status", "$upstream_status", true],
    ["duration", "$request_time", false],
    ["upstream_duration", "$upstream_response_time", true],
    ["bytes_sent", "$body_bytes_sent", false],
    ["request_bytes", "$request_length", false],
    ["user", "$mlflow_log_user", true],
];

/**
 * http-context text: the maps the format uses and the log_format itself. `escape=json` makes
 * every value a valid JSON string body (quotes, backslashes and control bytes escaped); the
 * unquoted fields are numbers nginx always fills.
 */
export function renderAccessLogFormat(): string {
    const body = ACCESS_LOG_FIELDS.map(([name, value, quoted]) => (quoted ? `"${name}":"${value}"` : `"${name}":${value}`)).join(",");
    return `
# One JSON object per request (components/authProxy/accessLog.ts): no header, cookie or query string.
map $request_uri $mlflow_log_path {
    "~^(?<mlflow_raw_path>[^?]*)" $mlflow_raw_path;
}
# On a 401 the name is what the client typed, not a user nginx admitted.
map $status $mlflow_log_user {
    401     "";
    default $remote_user;
}
log_format ${ACCESS_LOG_FORMAT} escape=json '{${body}}';
`;
}

/** The server-context directive every server block of the proxy carries. */
export function renderAccessLogDirective(): string {
    return `    access_log ${ACCESS_LOG_PATH} ${ACCESS_LOG_FORMAT};\n`;
}
