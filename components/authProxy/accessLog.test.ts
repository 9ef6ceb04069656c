import { ACCESS_LOG_FIELDS, ACCESS_LOG_FORMAT, ACCESS_LOG_PATH, renderAccessLogDirective, renderAccessLogFormat } from "./accessLog";
import { HTPASSWD_PATH, renderProxyConfig } from "./nginx";
import { READER_HTPASSWD_PATH } from "./registryReader";

const format = renderAccessLogFormat();
/** The single-quoted template of the log_format line. */
const template = /log_format mlflow_json escape=json '([^']*)';/.exec(format)![1];

/** What nginx would write for one request: each $variable replaced by a value (escape=json's quoting is nginx's). */
function line(values: Record<string, string>): string {
    return template.replace(/\$[a-z_]+/g, v => values[v] ?? "0");
}

describe("renderAccessLogFormat", () => {
    test("is JSON with escape=json, so a quote or backslash in a value cannot break the line", () => {
        expect(format).toContain(`log_format ${ACCESS_LOG_FORMAT} escape=json '{`);
        const parsed = JSON.parse(line({ $time_iso8601: "2026-01-01T00:00:00+00:00", $request_method: "GET", $mlflow_log_path: "/a", $proxy_host: "", $upstream_addr: "", $upstream_status: "", $upstream_response_time: "", $mlflow_log_user: "alice" }));
        expect(Object.keys(parsed)).toEqual(ACCESS_LOG_FIELDS.map(([name]) => name));
        expect(Object.keys(parsed)).toEqual(["time", "msec", "status", "method", "path", "server", "upstream", "upstream_status", "duration",
            "upstream_duration", "bytes_sent", "request_bytes", "user"]);
    });

    test.each([["$http_authorization"], ["$remote_user"], ["$request_uri"], ["$args"], ["$query_string"], ["$http_cookie"], ["$request"], ["$request_body"]])(
        "never logs %s (credentials, tokens, or a query that may carry them)", variable => {
            const used = template.match(/\$[a-z_0-9]+/g) ?? [];
            expect(used.length).toBe(ACCESS_LOG_FIELDS.length);
            expect(used).not.toContain(variable);
            expect(used.filter(v => v.startsWith("$http_") || v.startsWith("$cookie_") || v.startsWith("$arg_"))).toEqual([]);
        });

    test("numbers only where nginx always writes a number; everything else quoted", () => {
        for (const [name, value, quoted] of ACCESS_LOG_FIELDS) {
            expect(template).toContain(quoted ? `"${name}":"${value}"` : `"${name}":${value}`);
            if (!quoted) expect(["$msec", "$status", "$request_time", "$body_bytes_sent", "$request_length"]).toContain(value);
        }
    });

    test("the path is the raw path without its query; the user is empty on a 401", () => {
        expect(format).toMatch(/map \$request_uri \$mlflow_log_path \{\s*"~\^\(\?<mlflow_raw_path>\[\^\?\]\*\)" \$mlflow_raw_path;\s*\}/);
        expect(format).toMatch(/map \$status \$mlflow_log_user \{\s*401\s+"";\s*default \$remote_user;\s*\}/);
    });
});

describe("the proxy's config", () => {
    const base = { listenPort: 8080, upstream: "mlflow:5000", maxUploadSize: "5g", timeoutSeconds: 3600, htpasswdPath: HTPASSWD_PATH };

    test.each([
        ["/ alone", {}],
        ["with projects and the registry reader", { projects: [{ name: "alpha", upstream: "mlflow-alpha:5000" }], registryReader: { htpasswdPath: READER_HTPASSWD_PATH } }],
        ["a project's sidecar", { servedProject: "alpha" }],
    ])("%s: every server block logs JSON to stdout, and the format is defined once", (_, extra) => {
        const conf = renderProxyConfig({ ...base, ...extra });
        const servers = conf.split(/\nserver \{/).slice(1);
        expect(servers.length).toBeGreaterThan(0);
        for (const s of servers) expect(s).toContain(renderAccessLogDirective());
        expect(conf.split("log_format ").length - 1).toBe(1);
        expect(renderAccessLogDirective()).toBe(`    access_log ${ACCESS_LOG_PATH} ${ACCESS_LOG_FORMAT};\n`);
    });
});
