// Serving registered models over REST: what a model server container runs with, and
// the nginx upstreams and locations that put it behind the proxy's basic auth. Shared by the
// local target, the proxy's config (authProxy/nginx.ts) and the e2e suite (test_serving.py).

/** The supervisor in the tracking-server image (images/tracking-server/serve_model.py). */
export const SERVE_MODEL_PATH = "/opt/mlflow/serve_model.py";
export const SERVE_MODEL_COMMAND = ["python", SERVE_MODEL_PATH];
/** Healthy when one of the two ports answers /ping with 200 (serve_model.py `healthcheck`). */
export const MODEL_HEALTHCHECK_COMMAND = ["CMD", "python", SERVE_MODEL_PATH, "healthcheck"];
/**
 * The supervisor serves on the first port. A new version starts on the second one; once it
 * answers /ping the old process stops, and the new version is started again on the first port
 * and the second process stopped. The proxy tries the first port, then the second (`backup`):
 * a refused connection is passed on (nothing was sent, so POSTs too), so a swap drops no
 * request, and in steady state no attempt is refused (nginx logs an error for each refusal).
 */
export const MODEL_SERVER_PORTS: readonly number[] = [8080, 8081];
export const DEFAULT_MODEL_ALIAS = "champion";
/** Default seconds between two alias look-ups (servingPollSeconds). */
export const DEFAULT_POLL_SECONDS = 30;

/** Letters, digits, '.', '_' and '-': safe in a URL path, a container name and nginx config. */
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
/** MLflow's alias rule (letters, digits, '_', '-'), without its reserved `latest` and `v<digits>`. */
const MODEL_ALIAS = /^[A-Za-z0-9_-]{1,63}$/;

export interface ServedModel {
    readonly name: string;
    readonly alias: string;
}

/** `name` or `name@alias` (alias defaults to champion); undefined when either part is invalid. */
export function parseServedModel(entry: string): ServedModel | undefined {
    const at = entry.indexOf("@");
    const name = at < 0 ? entry : entry.slice(0, at);
    const alias = at < 0 ? DEFAULT_MODEL_ALIAS : entry.slice(at + 1);
    if (!MODEL_NAME.test(name) || !MODEL_ALIAS.test(alias)) return undefined;
    if (/^(latest|v\d+)$/i.test(alias)) return undefined;
    return { name, alias };
}

/** Lower-case name with anything but letters, digits and '-' as '-': container names and DNS aliases. */
export function modelSlug(name: string): string {
    return name.toLowerCase().replace(/[^a-z0-9-]/g, "-");
}

/** The model server's host name on the platform network. */
export function modelServerHost(name: string): string {
    return `model-${modelSlug(name)}`;
}

/** What the proxy needs to route one model: its public name and the host serving it. */
export interface ModelRoute {
    readonly name: string;
    readonly host: string;
}

/** Path prefix of a model behind the proxy. */
export function modelPath(name: string): string {
    return `/models/${name}`;
}

/** The URL clients POST to, from the proxy's base URL. */
export function modelInvocationUrl(baseUrl: string, name: string): string {
    return `${baseUrl.replace(/\/+$/, "")}${modelPath(name)}/invocations`;
}

function upstreamName(route: ModelRoute): string {
    return `mlflow_model_${modelSlug(route.name).replace(/-/g, "_")}`;
}

function checkRoutes(routes: readonly ModelRoute[]): void {
    const seen = new Set<string>();
    for (const r of routes) {
        if (!MODEL_NAME.test(r.name)) throw new Error(`served model names must match ${MODEL_NAME}, got ${JSON.stringify(r.name)}`);
        if (!/^[A-Za-z0-9.-]+$/.test(r.host)) throw new Error(`model server host must be a host name, got ${JSON.stringify(r.host)}`);
        const key = upstreamName(r);
        if (seen.has(key)) throw new Error(`two served models share the name ${JSON.stringify(key)} once lower-cased`);
        seen.add(key);
    }
}

/**
 * One upstream per model: the first supervisor port, the second as `backup`. max_fails=0: a
 * refused port is never taken out of rotation (with both marked failed nginx would answer 502
 * "no live upstreams"), so the request after a swap finds the process where it is. No
 * `keepalive`: the scoring server's uvicorn closes idle connections after 5 s, and a reused
 * connection it just closed would be a 502 (the race shared/keepalive.ts avoids for MLflow).
 */
export function renderModelUpstreams(routes: readonly ModelRoute[]): string {
    checkRoutes(routes);
    return routes.map(r => `
# Model ${r.name}: served on the first port; a new version starts on the backup port, then moves.
upstream ${upstreamName(r)} {
    server ${r.host}:${MODEL_SERVER_PORTS[0]} max_fails=0;
    server ${r.host}:${MODEL_SERVER_PORTS[1]} max_fails=0 backup;
}
`).join("");
}

/**
 * Exact-match locations with explicit upstream URIs (as /health): the scoring server only ever
 * sees /invocations, /ping or /health, whatever the client's raw path. Each needs the same
 * basic auth as MLflow; none uses `return` (it would run before auth_basic).
 */
export function renderModelLocations(routes: readonly ModelRoute[], auth: { realm: string; htpasswdPath: string }): string {
    checkRoutes(routes);
    const out: string[] = [];
    for (const r of routes) {
        for (const endpoint of ["invocations", "ping", "health"]) {
            // A prediction has no side effects, so a POST the old process reset while it stopped
            // (accepted by the kernel, never read) may go to the other port; not after a timeout.
            // nginx can resend only a buffered body (the server block streams bodies for artifacts).
            const retry = endpoint === "invocations" ? "\n        proxy_request_buffering on;\n        proxy_next_upstream error non_idempotent;" : "";
            out.push(`    location = ${modelPath(r.name)}/${endpoint} {
        auth_basic "${auth.realm}";
        auth_basic_user_file ${auth.htpasswdPath};${retry}
        proxy_pass http://${upstreamName(r)}/${endpoint};
    }

`);
        }
    }
    return out.join("");
}

export interface ModelServerSettings {
    /**
     * Where the supervisor reads the registry, http://host:port: the proxy's read-only registry
     * endpoint (authProxy/registryReader.ts) with readerUsername, or MLflow's internal port.
     */
    readonly trackingUri: string;
    readonly model: ServedModel;
    /** uvicorn workers of the scoring server. */
    readonly workers: number;
    /** Seconds between alias look-ups. */
    readonly pollSeconds: number;
    /** The model's reader account (authProxy/registryReader.ts readerUsername); its password: renderModelServerSecretEnvironment. */
    readonly readerUsername?: string;
}

/** Where the MLflow client (serve_model.py and `mlflow models serve`) takes the reader's password from. */
export const READER_PASSWORD_ENV = "MLFLOW_TRACKING_PASSWORD";

/**
 * The supervisor's environment without secrets (safe to print): the reader's user name, not its
 * password, which renderModelServerSecretEnvironment renders for a secret env (Docker) or an ECS secret.
 */
export function renderModelServerEnvironment(s: ModelServerSettings): Record<string, string> {
    if (!/^https?:\/\/[A-Za-z0-9.-]+:\d+$/.test(s.trackingUri)) {
        throw new Error(`trackingUri must be http(s)://host:port, got ${JSON.stringify(s.trackingUri)}`);
    }
    if (parseServedModel(`${s.model.name}@${s.model.alias}`) === undefined) {
        throw new Error(`not a servable model name and alias: ${JSON.stringify(s.model)}`);
    }
    for (const [what, v, max] of [["workers", s.workers, 64], ["pollSeconds", s.pollSeconds, 86400]] as const) {
        if (!Number.isInteger(v) || v < 1 || v > max) throw new Error(`${what} must be a whole number from 1 to ${max}, got ${v}`);
    }
    if (s.readerUsername !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(s.readerUsername)) {
        throw new Error(`readerUsername must be letters, digits, '.', '_' or '-', got ${JSON.stringify(s.readerUsername)}`);
    }
    return {
        MLFLOW_TRACKING_URI: s.trackingUri,
        ...(s.readerUsername === undefined ? {} : { MLFLOW_TRACKING_USERNAME: s.readerUsername }),
        MLFLOW_SERVE_MODEL_NAME: s.model.name,
        MLFLOW_SERVE_MODEL_ALIAS: s.model.alias,
        MLFLOW_SERVE_HOST: "0.0.0.0",
        MLFLOW_SERVE_PORTS: MODEL_SERVER_PORTS.join(","),
        MLFLOW_SERVE_POLL_SECONDS: String(s.pollSeconds),
        MLFLOW_MODELS_WORKERS: String(s.workers),
    };
}

/** The reader's password as the MLflow client reads it; only ever for a secret environment. */
export function renderModelServerSecretEnvironment(readerPassword: string): Record<string, string> {
    if (readerPassword === "") throw new Error("the reader's password is empty");
    return { [READER_PASSWORD_ENV]: readerPassword };
}

/** Label prefix on the proxy naming each model container it forwards to. */
export const PROXY_MODEL_LABEL_PREFIX = "mlflow-platform.model-container.";

/**
 * nginx resolves each model server's name once, at start (as MLflow's, authProxy/nginx.ts
 * proxyUpstreamLabels): carrying the model containers' ids in the proxy's labels, which force
 * replacement, restarts nginx with the new addresses whenever a model container is replaced.
 */
export function proxyModelLabels(routes: readonly ModelRoute[], containerIds: readonly string[]): Array<{ label: string; value: string }> {
    if (routes.length !== containerIds.length) throw new Error(`${routes.length} model routes but ${containerIds.length} container ids`);
    return routes.map((r, i) => {
        if (containerIds[i] === "") throw new Error(`the container id of model ${r.name} is empty`);
        return { label: `${PROXY_MODEL_LABEL_PREFIX}${modelSlug(r.name)}`, value: containerIds[i] };
    });
}
