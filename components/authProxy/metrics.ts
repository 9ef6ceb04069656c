// Prometheus scrape locations of the proxy (docs/observability.md, "Metrics"): one path per
// server under /metrics/, behind the scraper's own htpasswd file, never a user's login.
import { projectNames } from "../shared/projects";
import { MAIN_SERVER_HEADERS, PROXY_USER_HEADER, ProxyIdentity } from "./identity";

/** The scraper's login name in its htpasswd file (the password is generated). */
export const SCRAPER_USERNAME = "metrics";
/** The scraper's htpasswd file as nginx sees it. */
export const SCRAPER_HTPASSWD_PATH = "/etc/nginx/metrics.htpasswd";
/** Where MLflow's Prometheus exporter answers: the app's root, also under a static prefix. */
export const MLFLOW_METRICS_PATH = "/metrics";
/**
 * Who the proxy tells MLflow's auth app the scraper is, with team accounts
 * (images/tracking-server/mlflow_platform_auth.py admits this name for /metrics only). The ':'
 * is in no login name, so no user's $remote_user can ever be it.
 */
export const METRICS_SCRAPER_IDENTITY = "platform:metrics-scraper";
/** The scrape path of the server at `/`. */
export const TRACKING_METRICS_PATH = "/metrics/tracking";

/** The scrape path of a project's server. */
export function projectMetricsPath(name: string): string {
    return `/metrics/projects/${projectNames(name).name}`;
}

/** Every scrape path the proxy serves for these projects, `/`'s first. */
export function metricsPaths(projects: readonly string[]): string[] {
    return [TRACKING_METRICS_PATH, ...projects.map(projectMetricsPath)];
}

/**
 * Exact-match locations (nothing under them reaches another MLflow route), each with an
 * explicit upstream URI, a realm of its own and the scraper's htpasswd file. With team accounts
 * the auth app asks who is calling even here: the scraper's fixed identity and the proxy token.
 */
export function renderMetricsLocations(o: { htpasswdPath: string; projects: readonly string[]; identity?: ProxyIdentity }): string {
    if (!/^\/[A-Za-z0-9._\/-]+$/.test(o.htpasswdPath)) throw new Error(`htpasswdPath must be an absolute path, got ${JSON.stringify(o.htpasswdPath)}`);
    // Each server's own token: a project's MLflow admits only the token of its project.
    const targets: Array<[string, string, string]> = [
        [TRACKING_METRICS_PATH, "mlflow_tracking", o.identity?.tokenIncludePath ?? ""],
        ...o.projects.map((p): [string, string, string] => [projectMetricsPath(p), projectNames(p).upstreamName, projectNames(p).tokenIncludePath]),
    ];
    const ids = (tokenIncludePath: string) => o.identity === undefined ? "" : [
        ...MAIN_SERVER_HEADERS.map(h => `proxy_set_header ${h};`),
        `proxy_set_header ${PROXY_USER_HEADER} "${METRICS_SCRAPER_IDENTITY}";`,
        `include ${tokenIncludePath};`,
    ].map(l => `        ${l}\n`).join("");
    return `
    # Prometheus scrapes (authProxy/metrics.ts): the scraper's own login, never a user's.
${targets.map(([path, upstream, token]) => `    location = ${path} {
        auth_basic "MLflow metrics";
        auth_basic_user_file ${o.htpasswdPath};
${ids(token)}        proxy_pass http://${upstream}${MLFLOW_METRICS_PATH};
    }
`).join("")}`;
}
