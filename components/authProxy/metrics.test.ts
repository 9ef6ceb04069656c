import { projectNames } from "../shared/projects";
import { HTPASSWD_PATH, renderProxyConfig } from "./nginx";
import { MAIN_SERVER_HEADERS, PROXY_TOKEN_INCLUDE_PATH, PROXY_USER_HEADER } from "./identity";
import { METRICS_SCRAPER_IDENTITY, metricsPaths, projectMetricsPath, renderMetricsLocations, SCRAPER_HTPASSWD_PATH, TRACKING_METRICS_PATH } from "./metrics";

const base = { listenPort: 8080, upstream: "mlflow:5000", maxUploadSize: "5g", timeoutSeconds: 3600, htpasswdPath: HTPASSWD_PATH };

/** The body of `location <match> { ... }`. */
function location(conf: string, match: string): string {
    const start = conf.indexOf(`location ${match} {`);
    if (start < 0) throw new Error(`no location ${match}`);
    return conf.slice(start, conf.indexOf("}", start));
}

describe("renderMetricsLocations", () => {
    test("one scrape path per server, `/`'s first", () => {
        expect(metricsPaths([])).toEqual(["/metrics/tracking"]);
        expect(metricsPaths(["alpha", "beta"])).toEqual(["/metrics/tracking", "/metrics/projects/alpha", "/metrics/projects/beta"]);
        expect(projectMetricsPath("alpha")).toBe("/metrics/projects/alpha");
    });

    test.each([
        [TRACKING_METRICS_PATH, "mlflow_tracking"],
        ["/metrics/projects/alpha", "mlflow_project_alpha"],
    ])("%s: exact match, the scraper's file only, MLflow's /metrics of %s", (path, upstream) => {
        const conf = renderProxyConfig({ ...base, projects: [{ name: "alpha", upstream: "mlflow-alpha:5000" }], metrics: { htpasswdPath: SCRAPER_HTPASSWD_PATH } });
        const body = location(conf, `= ${path}`);
        expect(body).toContain(`auth_basic_user_file ${SCRAPER_HTPASSWD_PATH};`);
        expect(body).not.toContain(HTPASSWD_PATH);
        expect(body).toContain(`proxy_pass http://${upstream}/metrics;`);
        expect(body).toContain('auth_basic "MLflow metrics";');
        // The scraper's file guards nothing else.
        expect(conf.split(SCRAPER_HTPASSWD_PATH).length - 1).toBe(2);
    });

    test("without the option, no scrape location (the AWS sidecars, the config before)", () => {
        expect(renderProxyConfig(base)).not.toContain("/metrics");
    });

    test("with team accounts the scraper's fixed identity and the token, never $remote_user", () => {
        const body = renderMetricsLocations({ htpasswdPath: SCRAPER_HTPASSWD_PATH, projects: [], identity: { tokenIncludePath: PROXY_TOKEN_INCLUDE_PATH } });
        expect(body).toContain(`proxy_set_header ${PROXY_USER_HEADER} "${METRICS_SCRAPER_IDENTITY}";`);
        expect(body).toContain(`include ${PROXY_TOKEN_INCLUDE_PATH};`);
        for (const h of MAIN_SERVER_HEADERS) expect(body).toContain(`proxy_set_header ${h};`);
        expect(body).not.toContain("$remote_user");
        expect(METRICS_SCRAPER_IDENTITY).toContain(":");
    });

    test("with team accounts each project's scrape path sends its project's own token, never `/`'s", () => {
        const conf = renderMetricsLocations({ htpasswdPath: SCRAPER_HTPASSWD_PATH, projects: ["alpha"], identity: { tokenIncludePath: PROXY_TOKEN_INCLUDE_PATH } });
        const alpha = location(conf, "= /metrics/projects/alpha");
        expect(alpha).toContain(`include ${projectNames("alpha").tokenIncludePath};`);
        expect(alpha).not.toContain(PROXY_TOKEN_INCLUDE_PATH);
        expect(location(conf, "= /metrics/tracking")).toContain(`include ${PROXY_TOKEN_INCLUDE_PATH};`);
    });

    test("a project sidecar cannot carry them, a bad path is refused", () => {
        expect(() => renderProxyConfig({ ...base, servedProject: "alpha", metrics: { htpasswdPath: SCRAPER_HTPASSWD_PATH } })).toThrow(/proxy of `\/` only/);
        expect(() => renderMetricsLocations({ htpasswdPath: "relative", projects: [] })).toThrow(/absolute path/);
    });
});
