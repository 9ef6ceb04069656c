// The read-only registry endpoint model servers use ("its own minimal credentials"):
// a second nginx server block in front of MLflow that admits only the readers' htpasswd users,
// only GET/HEAD, and only the REST API paths a model download needs. Shared by the Docker proxy
// (authProxy/nginx.ts registryReader), the aws target and the e2e suite (test_serving.py).
import { ProxyIdentity, READER_SERVER_HEADERS, renderIdentityHeaders } from "./identity";
import { renderAccessLogDirective } from "./accessLog";

/** nginx port of the read-only registry endpoint; never published to the host or the LB. */
export const REGISTRY_READER_PORT = 8082;
/** Path of the readers' htpasswd file inside the nginx container/sidecar. */
export const READER_HTPASSWD_PATH = "/etc/nginx/mlflow-readers.htpasswd";
/** local target: the proxy's name on the serving network, the host of the model servers' tracking URI. */
export const REGISTRY_READER_HOST = "mlflow-registry";

/**
 * The MLflow REST paths a model download uses, all read with GET. Seen in the e2e proxy's access
 * log (MLflow 3.17, e2e/test_serving.py, which fails on any other): /api/2.0/mlflow/
 * registered-models/alias, registered-models/get, model-versions/get-download-uri, and the
 * artifacts MLflow proxies, /api/2.0/mlflow-artifacts/artifacts[/...]. The client's
 * /api/3.0/mlflow/server-info probe is left out on purpose (404): without it the client keeps
 * multipart downloads off, which would otherwise fetch from the bucket by presigned URL.
 */
export const REGISTRY_READER_API_PREFIXES: readonly string[] = ["/api/2.0/mlflow/", "/api/2.0/mlflow-artifacts/"];

/** Reader account name of a served model (e.g. `model-<slug>`; valid htpasswd user). */
export function readerUsername(modelName: string): string {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(modelName)) {
        throw new Error(`served model names must be letters, digits, '.', '_' or '-' (at most 64), got ${JSON.stringify(modelName)}`);
    }
    // Lower-cased like the model's container and host names (modelServer/serving.ts modelSlug).
    return `model-${modelName.toLowerCase().replace(/[^a-z0-9-]/g, "-")}`;
}

function escapeRegex(s: string): string {
    return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * A `server { listen <port>; ... }` block: basic auth against htpasswdPath, only GET/HEAD
 * (anything else 403 via limit_except), only MLflow's REST API paths a model download needs
 * (/api/2.0/mlflow/ and /api/2.0/mlflow-artifacts/), everything else 404; proxies to the
 * existing `upstream mlflow_tracking`; Authorization header stripped towards MLflow.
 *
 * nginx matches locations on the normalised URI but, with a bare `proxy_pass`, sends MLflow the
 * client's raw one: the raw URI must start with an allowed prefix too (server-level `return 404`,
 * which runs before auth but answers the same 404 to everybody), so no `..` or `%2e` spelling
 * reaches another MLflow route. The `return` is outside every authenticated location.
 */
export function renderRegistryReaderServer(o: { listenPort: number; htpasswdPath: string; timeoutSeconds: number; pathPrefix?: string; identity?: ProxyIdentity }): string {
    if (!Number.isInteger(o.listenPort) || o.listenPort < 1 || o.listenPort > 65535) throw new Error(`listenPort must be a TCP port, got ${o.listenPort}`);
    if (!/^\/[A-Za-z0-9._\/-]+$/.test(o.htpasswdPath)) throw new Error(`htpasswdPath must be an absolute path, got ${JSON.stringify(o.htpasswdPath)}`);
    if (!Number.isInteger(o.timeoutSeconds) || o.timeoutSeconds < 1) throw new Error(`timeoutSeconds must be a whole number of seconds, got ${o.timeoutSeconds}`);
    const prefix = o.pathPrefix ?? "";
    if (prefix !== "" && !/^(\/[a-z0-9-]+)+$/.test(prefix)) throw new Error(`pathPrefix must be /a/b (an MLflow static prefix), got ${JSON.stringify(prefix)}`);
    const paths = REGISTRY_READER_API_PREFIXES.map(p => `${prefix}${p}`);
    const rawAllowed = `^(${paths.map(escapeRegex).join("|")})`;
    const t = `${o.timeoutSeconds}s`;
    const ids = renderIdentityHeaders(o.identity, READER_SERVER_HEADERS);
    const locations = paths.map(p => `
    location ${p} {
        auth_basic "MLflow registry (read-only)";
        auth_basic_user_file ${o.htpasswdPath};
        # GET implies HEAD; every other method is refused (403) before MLflow sees it.
        limit_except GET {
            deny all;
        }
${ids}        proxy_pass http://mlflow_tracking;
    }
`).join("");
    return `
# Read-only registry endpoint for model servers (render/registryReader.ts): reader accounts only,
# GET/HEAD only, MLflow's REST API only. Not published: reachable from the model servers' network.
server {
    listen ${o.listenPort};
    server_name _;
    server_tokens off;
${renderAccessLogDirective()}    # Redirects as a path, never naming this port or scheme (render/nginx.ts).
    absolute_redirect off;

    # Readers send no bodies (GET); a model download streams back without spooling to disk.
    client_max_body_size 1m;
    proxy_buffering off;
    send_timeout ${t};
    proxy_connect_timeout 30s;
    proxy_send_timeout ${t};
    proxy_read_timeout ${t};
    proxy_next_upstream error timeout;
    proxy_next_upstream_tries 2;

    proxy_http_version 1.1;
    proxy_set_header Connection "";
    # MLflow checks Host against its allowed hosts: the name the model server used.
    proxy_set_header Host $http_host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    # The reader's password stops here; MLflow does not need it.
    proxy_set_header Authorization "";

    # The raw URI (what MLflow receives) must be an API path too, not just its normalised form.
    if ($request_uri !~ "${rawAllowed}") {
        return 404;
    }
${locations}
    # The UI, /ajax-api, /health, /get-artifact and anything else: not for model servers.
    location / {
        return 404;
    }
}
`;
}
