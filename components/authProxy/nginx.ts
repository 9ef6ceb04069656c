// nginx configuration for the authenticating proxy, shared by the Docker container, the
// AWS sidecar and the end-to-end tests.
import { KeepAliveChain, keepAliveChain } from "../shared/keepalive";
import { ProjectLocation, projectNames, renderProjectProxyBlocks } from "../shared/projects";
import { ModelRoute, renderModelLocations, renderModelUpstreams } from "../modelServer/serving";
import { MAIN_SERVER_HEADERS, ProxyIdentity, renderIdentityHeaders } from "./identity";
import { REGISTRY_READER_PORT, renderRegistryReaderServer } from "./registryReader";
import { parseSha512Crypt, SHA_CRYPT_MIN_ROUNDS } from "./shaCrypt";
import { renderAccessLogDirective, renderAccessLogFormat } from "./accessLog";
import { renderMetricsLocations } from "./metrics";

export interface ProxyConfigOptions {
    /** Port nginx listens on inside its container or task. */
    readonly listenPort: number;
    /** host:port of the MLflow server as nginx reaches it. */
    readonly upstream: string;
    /** nginx size syntax; "0" disables the limit. */
    readonly maxUploadSize: string;
    /** Read/send timeout towards MLflow and the client; multi-GB artifact transfers need long ones. */
    readonly timeoutSeconds: number;
    /** Path of the htpasswd file as nginx sees it. */
    readonly htpasswdPath: string;
    readonly realm?: string;
    /** Keep-alive timeouts (shared/keepalive.ts); default: no load balancer in front. */
    readonly keepAlive?: KeepAliveChain;
    /** Projects served beside `/` (shared/projects.ts); none: the config is unchanged. */
    readonly projects?: readonly ProjectLocation[];
    /** Served registered models (modelServer/serving.ts): /models/<name>/... behind the same auth. */
    readonly models?: readonly ModelRoute[];
    /**
     * aws target: this proxy is the sidecar of one project's task (shared/projects.ts), with
     * that project's htpasswd at htpasswdPath. Its MLflow serves every route under the static
     * prefix, so the open `/health` (the target group's check) maps to `<prefix>/health`, the
     * project's location is the only authenticated one, and anything else is 404.
     */
    readonly servedProject?: string;
    /**
     * The read-only registry endpoint for model servers (authProxy/registryReader.ts), on
     * REGISTRY_READER_PORT after the main server, with the readers' htpasswd. None: unchanged.
     */
    readonly registryReader?: { readonly htpasswdPath: string };
    /**
     * Team accounts (authProxy/identity.ts): every location that proxies to MLflow (/health, /,
     * projects, the registry reader) tells it the admitted user with the shared token; model
     * routes never do. None: the config as without accounts.
     */
    readonly identity?: ProxyIdentity;
    /**
     * Prometheus scrape locations (authProxy/metrics.ts) behind the scraper's own htpasswd file.
     * None: no scrape location.
     */
    readonly metrics?: { readonly htpasswdPath: string };
}

export const PROXY_LISTEN_PORT = 8080;
export const HTPASSWD_PATH = "/etc/nginx/mlflow.htpasswd";
/** Container healthcheck of the proxy: its own unauthenticated /health (busybox wget in the alpine image). */
export function proxyHealthcheckCommand(listenPort: number): string[] {
    return ["CMD", "wget", "-q", "-O", "/dev/null", `http://127.0.0.1:${listenPort}/health`];
}

/** Where the rendered server block goes in the official nginx image (replaces its default site). */
export const PROXY_CONFIG_PATH = "/etc/nginx/conf.d/default.conf";

/**
 * Renders an http-context snippet (upstream + server) for conf.d. Every location requires
 * basic auth; the one exception is a request whose raw URI is exactly `/health` (a map on
 * $request_uri, so `/x/%2e%2e/health`, which nginx normalises to /health, still needs
 * credentials), and that one reaches MLflow as `/health` whatever the client wrote. No
 * authenticated location uses `return`: it runs before auth_basic and would bypass it.
 */
export function renderProxyConfig(o: ProxyConfigOptions): string {
    if (!/^[A-Za-z0-9.-]+:\d+$/.test(o.upstream)) {
        throw new Error(`upstream must be host:port, got ${JSON.stringify(o.upstream)}`);
    }
    const realm = (o.realm ?? "MLflow").replace(/["\\]/g, "");
    const t = `${o.timeoutSeconds}s`;
    const ka = o.keepAlive ?? keepAliveChain({ proxyTimeoutSeconds: o.timeoutSeconds, loadBalancer: false });
    const projects = renderProjectProxyBlocks(o.projects ?? [], ka, o.identity);
    const ids = renderIdentityHeaders(o.identity, MAIN_SERVER_HEADERS);
    if (o.servedProject !== undefined && (o.projects ?? []).length > 0) throw new Error("a project's sidecar serves that project only: no projects list");
    const served = servedLocations(o, realm);
    const metrics = metricsLocations(o);
    return `# Rendered by mlflow-platform (components/render/nginx.ts). Edits are overwritten.
upstream mlflow_tracking {
    server ${o.upstream};
    keepalive 16;
    # Give idle connections up before uvicorn closes them (render/keepalive.ts).
    keepalive_timeout ${ka.proxyUpstreamKeepaliveSeconds}s;
}
${projects.upstreams}${o.models ? renderModelUpstreams(o.models) : ""}
# Only the exact raw URI /health is open; anything nginx merely normalises to it is not.
map $request_uri $mlflow_auth_realm {
    default "${realm}";
    ~^/health(\\?.*)?$ off;
}
${renderAccessLogFormat()}
# Keep the scheme a load balancer in front of us saw; fall back to our own.
map $http_x_forwarded_proto $mlflow_forwarded_proto {
    default $http_x_forwarded_proto;
    ""      $scheme;
}

server {
    listen ${o.listenPort};
    server_name _;
    server_tokens off;
${renderAccessLogDirective()}    # nginx's own redirects (/projects/<name> to /projects/<name>/) as a path: the client keeps
    # its scheme, host and port; an absolute one would name our listen port and plain http.
    absolute_redirect off;
    # Longer than the load balancer in front keeps idle connections (render/keepalive.ts).
    keepalive_timeout ${ka.proxyClientKeepaliveSeconds}s;

    # Large artifacts: stream request and response bodies instead of spooling them to disk,
    # and allow transfers that take longer than nginx's 60 s defaults.
    client_max_body_size ${o.maxUploadSize};
    proxy_request_buffering off;
    proxy_buffering off;
    client_body_timeout ${t};
    send_timeout ${t};
    proxy_connect_timeout 30s;
    proxy_send_timeout ${t};
    proxy_read_timeout ${t};

    # Another attempt only after a connection error or timeout, and never for a POST, PATCH or
    # LOCK that was already sent (no non_idempotent): MLflow could have applied it.
    proxy_next_upstream error timeout;
    proxy_next_upstream_tries 2;

    proxy_http_version 1.1;
    proxy_set_header Connection "";
    # MLflow checks Host against its allowed hosts: pass the one the client used.
    proxy_set_header Host $http_host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $mlflow_forwarded_proto;
    proxy_set_header X-Forwarded-Host $http_host;
    # The user's password stops here; MLflow does not need it.
    proxy_set_header Authorization "";

    location = /health {
        auth_basic $mlflow_auth_realm;
        auth_basic_user_file ${o.htpasswdPath};
${ids}        # An explicit URI: MLflow gets ${served.health}, never the client's raw (encoded) path.
        proxy_pass http://mlflow_tracking${served.health};
    }
${served.main}${projects.locations}${metrics}}
${o.registryReader ? renderRegistryReaderServer({ listenPort: REGISTRY_READER_PORT, htpasswdPath: o.registryReader.htpasswdPath, timeoutSeconds: o.timeoutSeconds, identity: o.identity }) : ""}`;
}

/** The scrape locations of `/` and the projects (authProxy/metrics.ts), or nothing without the option. */
function metricsLocations(o: ProxyConfigOptions): string {
    if (o.metrics === undefined) return "";
    if (o.servedProject !== undefined) throw new Error("scrape locations are rendered on the proxy of `/` only");
    return renderMetricsLocations({
        htpasswdPath: o.metrics.htpasswdPath, projects: (o.projects ?? []).map(p => p.name), ...(o.identity === undefined ? {} : { identity: o.identity }),
    });
}

/** The health route MLflow answers and the authenticated location(s): `/`, or one project's prefix. */
function servedLocations(o: ProxyConfigOptions, realm: string): { health: string; main: string } {
    const ids = renderIdentityHeaders(o.identity, MAIN_SERVER_HEADERS);
    if (o.servedProject === undefined) {
        return {
            health: "/health",
            main: `
${o.models ? renderModelLocations(o.models, { realm, htpasswdPath: o.htpasswdPath }) : ""}    location / {
        auth_basic "${realm}";
        auth_basic_user_file ${o.htpasswdPath};
${ids}        proxy_pass http://mlflow_tracking;
    }
`,
        };
    }
    const n = projectNames(o.servedProject);
    return {
        // MLflow registers /health under its static prefix (mlflow/server/__init__.py, _add_static_prefix).
        health: `${n.urlPath}/health`,
        main: `
    # Project ${n.name} only: the load balancer routes ${n.urlPath} and ${n.urlPath}/* here.
    location ${n.urlPath}/ {
        auth_basic "MLflow ${n.name}";
        auth_basic_user_file ${o.htpasswdPath};
${ids}        proxy_pass http://mlflow_tracking;
    }

    # Nothing else is served (no return before auth matters here: there is nothing to protect).
    location / {
        return 404;
    }
`,
    };
}

/**
 * The most SHA-512-crypt rounds an htpasswd entry may use: nginx verifies the entry on every
 * request, in its event loop. 5000 rounds measured about 3 ms of CPU on the e2e machine; the
 * budget per authenticated request is 5 ms (docs/security.md, "Proxy authentication cost").
 */
export const HTPASSWD_MAX_ROUNDS = 5000;

/** One htpasswd line with a `$6$rounds=N$salt$hash` entry (authProxy/shaCrypt.ts). */
export function renderHtpasswd(username: string, entry: string): string {
    if (username.includes(":") || /[\s]/.test(username) || username === "") {
        throw new Error(`htpasswd user names cannot be empty or contain ':' or spaces: ${JSON.stringify(username)}`);
    }
    const parts = parseSha512Crypt(entry);
    if (!parts) {
        throw new Error("htpasswd entries here must be SHA-512-crypt ($6$rounds=N$salt$hash); bcrypt costs nginx ~50 ms of CPU per request");
    }
    if (parts.rounds < SHA_CRYPT_MIN_ROUNDS || parts.rounds > HTPASSWD_MAX_ROUNDS) {
        throw new Error(`htpasswd SHA-512-crypt rounds must be ${SHA_CRYPT_MIN_ROUNDS}-${HTPASSWD_MAX_ROUNDS} (checked on every request), got ${parts.rounds}`);
    }
    return `${username}:${entry}\n`;
}

/**
 * An htpasswd file of several users, `[user, entry]` each (renderHtpasswd's checks), in the
 * given order: the caller keeps it stable, so the file only changes when an account does.
 */
export function renderHtpasswdFile(entries: ReadonlyArray<readonly [string, string]>): string {
    const seen = new Set<string>();
    for (const [user] of entries) {
        // nginx takes the first matching line: a second one would be a password that never works.
        if (seen.has(user)) throw new Error(`htpasswd user ${user} is listed twice`);
        seen.add(user);
    }
    return entries.map(([user, entry]) => renderHtpasswd(user, entry)).join("");
}

/** Several renderHtpasswd lines as one file (renderHtpasswdFile's checks: each user once). */
export function joinHtpasswdLines(lines: readonly string[]): string {
    return renderHtpasswdFile(lines.map(line => {
        const text = line.replace(/\n$/, "");
        const colon = text.indexOf(":");
        if (colon < 0 || text.includes("\n")) throw new Error("an htpasswd line is user:entry on one line");
        return [text.slice(0, colon), text.slice(colon + 1)] as const;
    }));
}

/** Label on the proxy container that names the MLflow container it forwards to. */
export const PROXY_UPSTREAM_LABEL = "mlflow-platform.upstream-container";

/**
 * nginx resolves `mlflow` once, at start (upstream `resolve` needs nginx 1.27.3+, and the e2e
 * nginx is 1.22): a replaced MLflow container gets a new address the running proxy never
 * learns. Docker container labels force replacement (`labels` is ForceNew in the provider
 * schema), so carrying MLflow's container id here replaces the proxy together with MLflow.
 */
export function proxyUpstreamLabels(upstreamContainerId: string): Array<{ label: string; value: string }> {
    if (upstreamContainerId === "") throw new Error("the MLflow container id is empty");
    return [{ label: PROXY_UPSTREAM_LABEL, value: upstreamContainerId }];
}
