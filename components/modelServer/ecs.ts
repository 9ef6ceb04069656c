// The aws target of served models: one ECS task per model, the supervisor
// (images/tracking-server/serve_model.py) next to an nginx sidecar that applies the same basic
// auth as the tracking server's. Pure: plain values in, plain documents and text out.
// The model task reaches the tracking sidecar's read-only endpoint (authProxy/registryReader.ts)
// at a Cloud Map name (private DNS), never through the load balancer, with its own reader login:
// it can read the registry and artifacts, and write nothing.
import { fnv1a32 } from "../config/checks";
import type { KeepAliveChain } from "../shared/keepalive";
import { keyValues, logs, PROXY_CONTAINER, ProxySidecarSettings, renderProxySidecar } from "../shared/ecs";
import { MLFLOW_HOSTNAME } from "../trackingServer/mlflow";
import { REGISTRY_READER_PORT } from "../authProxy/registryReader";
import {
    MODEL_SERVER_PORTS, modelPath, READER_PASSWORD_ENV, modelSlug, renderModelLocations, renderModelServerEnvironment, renderModelUpstreams, SERVE_MODEL_COMMAND, ServedModel,
} from "./serving";

/** The supervisor's container in a model task. */
export const MODEL_CONTAINER = "model";
/** nginx and the supervisor share the task's network namespace (awsvpc). */
export const MODEL_TASK_HOST = "127.0.0.1";
/**
 * The sidecar's port in a model task: not the tracking sidecar's 8080, which the supervisor
 * already uses in the same network namespace (MODEL_SERVER_PORTS).
 */
export const MODEL_PROXY_PORT = 8090;

/**
 * Listener rule priorities of the model routes: [first, first + span). ALB priorities run from 1
 * to 50000; 1..9999 stay free for rules added by hand, 10000..29999 are the projects'
 * (config/checks.ts, PROJECT_PRIORITY_MIN/MAX): disjoint, so a model and a project never collide.
 */
export const MODEL_RULE_PRIORITY_FIRST = 30000;
export const MODEL_RULE_PRIORITY_SPAN = 20000;

/**
 * The listener rule priority of one model, from its name alone (the same name as
 * modelSlug, so names the config refuses as duplicates also share a priority): adding,
 * removing or reordering other models never moves a rule. Rules match disjoint paths, so
 * their order does not matter; only two equal priorities are an error (see below).
 */
export function modelRulePriority(name: string): number {
    return MODEL_RULE_PRIORITY_FIRST + fnv1a32(modelSlug(name)) % MODEL_RULE_PRIORITY_SPAN;
}

/** Priority per model name; throws, naming both, when two different names hash alike. */
export function modelRulePriorities(names: readonly string[]): Record<string, number> {
    const byPriority = new Map<number, string>();
    const out: Record<string, number> = {};
    for (const name of names) {
        const p = modelRulePriority(name);
        const other = byPriority.get(p);
        if (other !== undefined && modelSlug(other) !== modelSlug(name)) {
            throw new Error(`served models ${JSON.stringify(other)} and ${JSON.stringify(name)} get the same load balancer rule priority ${p}; rename one of them`);
        }
        byPriority.set(p, name);
        out[name] = p;
    }
    return out;
}

/** ALB path patterns of a model's listener rule (case-sensitive; `*` matches any characters). */
export function modelPathPatterns(name: string): string[] {
    return [`${modelPath(name)}/*`];
}

/** Cloud Map private DNS namespace of a stack: `<stack resource name>.internal`. */
export function trackingNamespaceName(name: string): string {
    const ns = `${name.toLowerCase().replace(/[^a-z0-9-]/g, "-")}.internal`;
    if (ns.length > 253) throw new Error(`namespace name too long: ${ns}`);
    return ns;
}

/** MLflow's stable internal name: the Cloud Map service `mlflow` in the namespace. */
export function internalTrackingHost(namespace: string): string {
    return `${MLFLOW_HOSTNAME}.${namespace}`;
}

/**
 * What a model task's supervisor uses as MLFLOW_TRACKING_URI: the tracking sidecar's read-only
 * endpoint, not MLflow's own port (which the model tasks' security group cannot reach).
 */
export function internalTrackingUri(namespace: string): string {
    return `http://${internalTrackingHost(namespace)}:${REGISTRY_READER_PORT}`;
}

export interface ModelProxyConfigOptions {
    readonly listenPort: number;
    readonly model: ServedModel;
    readonly htpasswdPath: string;
    readonly maxUploadSize: string;
    readonly timeoutSeconds: number;
    /** The ALB's chain (shared/keepalive.ts): nginx keeps client connections longer than the ALB. */
    readonly keepAlive: KeepAliveChain;
    readonly realm?: string;
}

/**
 * The sidecar's conf.d snippet: the model's three routes behind basic auth (modelServer/serving.ts,
 * the same locations as the Docker proxy's), an open `/health` that is nginx's own answer
 * (the load balancer's check: the task is alive; whether a model version is served yet is
 * the supervisor's 503 to callers, not a reason for ECS to replace the task), and a 404
 * after auth for anything else the ALB rule `/models/<name>/*` lets through.
 */
export function renderModelProxyConfig(o: ModelProxyConfigOptions): string {
    if (MODEL_SERVER_PORTS.includes(o.listenPort)) {
        throw new Error(`the model sidecar cannot listen on ${o.listenPort}: the supervisor uses ${MODEL_SERVER_PORTS.join(" and ")} in the same task`);
    }
    const realm = (o.realm ?? "MLflow").replace(/["\\]/g, "");
    const t = `${o.timeoutSeconds}s`;
    const routes = [{ name: o.model.name, host: MODEL_TASK_HOST }];
    return `# Rendered by mlflow-platform (components/render/servingEcs.ts). Edits are overwritten.
${renderModelUpstreams(routes)}
server {
    listen ${o.listenPort};
    server_name _;
    server_tokens off;
    # Longer than the load balancer in front keeps idle connections (render/keepalive.ts).
    keepalive_timeout ${o.keepAlive.proxyClientKeepaliveSeconds}s;

    client_max_body_size ${o.maxUploadSize};
    client_body_timeout ${t};
    send_timeout ${t};
    proxy_connect_timeout 5s;
    proxy_send_timeout ${t};
    proxy_read_timeout ${t};

    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Host $http_host;
    proxy_set_header X-Real-IP $remote_addr;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $http_x_forwarded_proto;
    # The user's password stops here; the scoring server does not need it.
    proxy_set_header Authorization "";

    # The load balancer's and ECS's check of this sidecar; says nothing about the model.
    location = /health {
        access_log off;
        default_type text/plain;
        return 200 "ok\\n";
    }

${renderModelLocations(routes, { realm, htpasswdPath: o.htpasswdPath })}    location / {
        auth_basic "${realm}";
        auth_basic_user_file ${o.htpasswdPath};
        # No such file: 404, after authentication.
        root /nonexistent;
        log_not_found off;
    }
}
`;
}

export interface ModelTaskContainersSettings {
    readonly region: string;
    readonly logGroupName: string;
    readonly model: ServedModel;
    /** The tracking-server image in ECR: it carries the supervisor and the pinned libraries. */
    readonly image: string;
    /** internalTrackingUri(namespace). */
    readonly trackingUri: string;
    readonly workers: number;
    readonly pollSeconds: number;
    /**
     * The model's own read-only login (readerUsername) on the reader endpoint: the password's
     * secret and the version holding it (pinned as the sidecar's htpasswd is).
     */
    readonly reader: { readonly username: string; readonly passwordSecretArn: string; readonly passwordVersionId: string };
    /** Its config from renderModelProxyConfig; the tracking server's htpasswd secret and version. */
    readonly proxy: ProxySidecarSettings;
}

/** A model task's container definitions, in the shape of the `containerDefinitions` JSON. */
export function renderModelTaskContainers(s: ModelTaskContainersSettings): object[] {
    const env = renderModelServerEnvironment({
        trackingUri: s.trackingUri, model: s.model, workers: s.workers, pollSeconds: s.pollSeconds, readerUsername: s.reader.username,
    });
    return [
        {
            name: MODEL_CONTAINER,
            image: s.image,
            essential: true,
            entryPoint: SERVE_MODEL_COMMAND,
            // Reached by the sidecar over the task's localhost only; no port mapping.
            environment: keyValues(env),
            // The MLflow client reads both from the environment; ECS injects the password at start.
            secrets: [{ name: READER_PASSWORD_ENV, valueFrom: `${s.reader.passwordSecretArn}:::${s.reader.passwordVersionId}` }],
            // No container health check: serve_model.py's `healthcheck` fails until a version of
            // the model is served, and ECS replaces a service task whose essential container is
            // unhealthy, so a stack deployed before anyone registered the model would churn tasks.
            // The supervisor exiting stops the task (essential), which ECS does replace.
            logConfiguration: logs(s, MODEL_CONTAINER),
        },
        renderProxySidecar(s.proxy, { containerName: MODEL_CONTAINER, condition: "START" }, logs(s, PROXY_CONTAINER)),
    ];
}
