// nginx configuration for the authenticating proxy, shared by the Docker container, the
// AWS sidecar and the end-to-end tests.

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
 * Renders an http-context snippet (upstream + server) for conf.d. `/health` is its own
 * exact-match location with auth off; every other path requires basic auth. No location
 * uses `return`: it runs before auth_basic and would bypass it.
 */
export function renderProxyConfig(o: ProxyConfigOptions): string {
    if (!/^[A-Za-z0-9.-]+:\d+$/.test(o.upstream)) {
        throw new Error(`upstream must be host:port, got ${JSON.stringify(o.upstream)}`);
    }
    const realm = (o.realm ?? "MLflow").replace(/["\\]/g, "");
    const t = `${o.timeoutSeconds}s`;
    return `# Rendered by mlflow-platform (components/render/nginx.ts). Edits are overwritten.
upstream mlflow_tracking {
    server ${o.upstream};
    keepalive 16;
}

# Keep the scheme a load balancer in front of us saw; fall back to our own.
map $http_x_forwarded_proto $mlflow_forwarded_proto {
    default $http_x_forwarded_proto;
    ""      $scheme;
}

server {
    listen ${o.listenPort};
    server_name _;
    server_tokens off;

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
        auth_basic off;
        proxy_pass http://mlflow_tracking;
    }

    location / {
        auth_basic "${realm}";
        auth_basic_user_file ${o.htpasswdPath};
        proxy_pass http://mlflow_tracking;
    }
}
`;
}

/** One htpasswd line; `bcryptHash` comes from random.RandomPassword so it is stable across updates. */
export function renderHtpasswd(username: string, bcryptHash: string): string {
    if (username.includes(":") || /[\s]/.test(username) || username === "") {
        throw new Error(`htpasswd user names cannot be empty or contain ':' or spaces: ${JSON.stringify(username)}`);
    }
    if (!/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(bcryptHash)) {
        throw new Error("htpasswd entries here must be bcrypt hashes ($2a$/$2b$/$2y$)");
    }
    return `${username}:${bcryptHash}\n`;
}
