import { createHash } from "crypto";
import { keepAliveChain } from "../shared/keepalive";
import { HTPASSWD_PATH, PROXY_UPSTREAM_LABEL, proxyUpstreamLabels, renderHtpasswd, renderProxyConfig } from "./nginx";
import { READER_HTPASSWD_PATH, REGISTRY_READER_PORT, renderRegistryReaderServer } from "./registryReader";
import { sha512Crypt } from "./shaCrypt";
import { renderAccessLogDirective, renderAccessLogFormat } from "./accessLog";

const base = { listenPort: 8080, upstream: "mlflow:5000", maxUploadSize: "5g", timeoutSeconds: 3600, htpasswdPath: HTPASSWD_PATH };

/** The body of `location <match> { ... }`. */
function location(conf: string, match: string): string {
    const start = conf.indexOf(`location ${match} {`);
    if (start < 0) throw new Error(`no location ${match}`);
    return conf.slice(start, conf.indexOf("}", start));
}

describe("renderProxyConfig", () => {
    const conf = renderProxyConfig(base);

    test("proxies to the given upstream on the given port", () => {
        expect(conf).toContain("server mlflow:5000;");
        expect(conf).toContain("listen 8080;");
    });

    test("/health is an exact-match location that MLflow always receives as /health", () => {
        const health = location(conf, "= /health");
        expect(health).toContain("proxy_pass http://mlflow_tracking/health;");
        expect(health).toContain("auth_basic $mlflow_auth_realm;");
        expect(health).toContain(`auth_basic_user_file ${HTPASSWD_PATH};`);
    });

    test("/health is the only unauthenticated request: every location needs auth unless the raw URI is exactly /health", () => {
        const locations = [...conf.matchAll(/location ([^{]+) \{([^}]*)\}/g)];
        expect(locations.map(m => m[1])).toEqual(["= /health", "/"]);
        for (const [, , body] of locations) {
            expect(body).toMatch(/auth_basic (\$mlflow_auth_realm|"MLflow");/);
            expect(body).toContain(`auth_basic_user_file ${HTPASSWD_PATH};`);
        }
        // The only "off" anywhere is the map entry for the exact raw URI /health (with or without a query).
        expect(conf).not.toMatch(/auth_basic\s+off/);
        const map = /map \$request_uri \$mlflow_auth_realm \{([^}]*)\}/.exec(conf)![1];
        expect(map).toContain('default "MLflow";');
        const entries = [...map.matchAll(/^\s*~(\S+) off;$/gm)].map(m => new RegExp(m[1]));
        expect(entries).toHaveLength(1);
        const open = (uri: string) => entries.some(re => re.test(uri));
        for (const uri of ["/health", "/health?probe=1"]) expect(open(uri)).toBe(true);
        for (const uri of ["/healthz", "//health", "/%68ealth", "/api/2.0/mlflow-artifacts/artifacts/%2e%2e/%2e%2e/%2e%2e/%2e%2e/health",
            "/x/../health", "/health/", "/health/../api/2.0/mlflow/experiments/search"]) {
            expect(open(uri)).toBe(false);
        }
    });

    test("every other path requires basic auth from the htpasswd file", () => {
        const root = location(conf, "/");
        expect(root).toContain('auth_basic "MLflow";');
        expect(root).toContain(`auth_basic_user_file ${HTPASSWD_PATH};`);
    });

    test("no location answers with return, which would run before auth_basic", () => {
        expect(conf).not.toMatch(/\breturn\b/);
    });

    test("large uploads stream through with the configured limit and timeouts", () => {
        expect(conf).toContain("client_max_body_size 5g;");
        expect(conf).toContain("proxy_request_buffering off;");
        expect(conf).toContain("proxy_read_timeout 3600s;");
        expect(conf).toContain("proxy_send_timeout 3600s;");
        expect(conf).toContain("client_body_timeout 3600s;");
    });

    test.each([["0"], ["500m"], ["20g"]])("upload limit %s is rendered as given", size => {
        expect(renderProxyConfig({ ...base, maxUploadSize: size })).toContain(`client_max_body_size ${size};`);
    });

    test("passes the client's Host and forwarding headers, and keeps the password from MLflow", () => {
        expect(conf).toContain("proxy_set_header Host $http_host;");
        expect(conf).toContain("proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;");
        expect(conf).toContain("proxy_set_header X-Forwarded-Proto $mlflow_forwarded_proto;");
        expect(conf).toContain('proxy_set_header Authorization "";');
    });

    test("refuses an upstream that is not host:port", () => {
        expect(() => renderProxyConfig({ ...base, upstream: "http://mlflow:5000" })).toThrow(/upstream must be host:port/);
    });
});

describe("keep-alive and retries", () => {
    test.each([
        ["Docker (no load balancer)", false, 75],
        ["AWS (behind the ALB)", true, 3606],
    ])("%s: client keepalive %ps beyond the ALB, upstream 8s below uvicorn's 12s", (_name, loadBalancer, client) => {
        const c = renderProxyConfig({ ...base, keepAlive: keepAliveChain({ proxyTimeoutSeconds: 3600, loadBalancer }) });
        expect(c).toMatch(new RegExp(`server \\{[^]*\\n    keepalive_timeout ${client}s;`));
        expect(/upstream mlflow_tracking \{([^}]*)\}/.exec(c)![1]).toContain("keepalive_timeout 8s;");
    });

    test("the default is the chain without a load balancer", () => {
        expect(conf()).toBe(renderProxyConfig({ ...base, keepAlive: keepAliveChain({ proxyTimeoutSeconds: 3600, loadBalancer: false }) }));
    });

    test("retries only after errors and timeouts, never a sent non-idempotent request", () => {
        expect(conf()).toContain("proxy_next_upstream error timeout;");
        expect(conf().match(/^\s*proxy_next_upstream .*$/gm)).toEqual(["    proxy_next_upstream error timeout;"]);
        expect(conf()).toContain("proxy_next_upstream_tries 2;");
    });

    function conf(): string {
        return renderProxyConfig(base);
    }
});

describe("renderHtpasswd", () => {
    const hash = sha512Crypt("secret-password", "abcdefghijklmnop", 1000);

    test("one user:hash line", () => {
        expect(renderHtpasswd("mlflow", hash)).toBe(`mlflow:${hash}\n`);
    });

    test.each([["a:b"], [""], ["a b"]])("rejects user name %p", user => {
        expect(() => renderHtpasswd(user, hash)).toThrow(/cannot be empty or contain/);
    });

    test.each([["plaintext"], ["{SHA}abc"], ["$apr1$abc$def"], [`$2b$10$${"a".repeat(53)}`], ["$6$saltstring$" + "a".repeat(86)]])(
        "rejects entry %p: only $6$ with explicit rounds is cheap enough to check on every request", entry => {
            expect(() => renderHtpasswd("mlflow", entry)).toThrow(/must be SHA-512-crypt/);
        });

    test.each([[5000, true], [5001, false], [10000, false]])("rounds=%p accepted: %p", (rounds, ok) => {
        const entry = sha512Crypt("pw", "salt", rounds);
        if (ok) expect(renderHtpasswd("mlflow", entry)).toBe(`mlflow:${entry}\n`);
        else expect(() => renderHtpasswd("mlflow", entry)).toThrow(/rounds must be 1000-5000/);
    });
});

describe("proxyUpstreamLabels", () => {
    test("one label carrying the MLflow container id", () => {
        expect(proxyUpstreamLabels("abc123")).toEqual([{ label: PROXY_UPSTREAM_LABEL, value: "abc123" }]);
        expect(PROXY_UPSTREAM_LABEL).toBe("mlflow-platform.upstream-container");
    });

    test("refuses an empty id (the label would not change with MLflow)", () => {
        expect(() => proxyUpstreamLabels("")).toThrow(/empty/);
    });
});

describe("registryReader", () => {
    // sha256 of the configs rendered before the option existed (before the reader endpoint): with it absent, byte-identical
    // but for the absolute_redirect setting added to the main server block since (tested below) and the JSON access log
    // (accessLog.test.ts).
    const withoutRedirectSetting = (conf: string) => conf.replace(/\n {4}# nginx's own redirects[^\n]*\n[^\n]*\n {4}absolute_redirect off;/, "")
        .replace(renderAccessLogFormat(), "").split(renderAccessLogDirective()).join("");
    const all = {
        ...base, projects: [{ name: "alpha", upstream: "mlflow-project-alpha:5000" }], models: [{ name: "iris", host: "model-iris" }],
        keepAlive: keepAliveChain({ proxyTimeoutSeconds: 3600, loadBalancer: true }),
    };
    test.each([
        ["base", base, "3cd6ab64c5b4dd440c694b509cb483b2b6d7a2712a8f5923958dc086d7c6103d"],
        ["projects, models and a load balancer", all, "257811065dc75c8755a51a4ac230c728087cacaf76c44e628eaa41f9c414af0f"],
    ])("absent: the %s config is unchanged", (_, options, sha) => {
        expect(createHash("sha256").update(withoutRedirectSetting(renderProxyConfig(options))).digest("hex")).toBe(sha);
    });

    test("given: the reader server block follows the unchanged config, on its own port with the readers' file", () => {
        const without = renderProxyConfig(all);
        const withReader = renderProxyConfig({ ...all, registryReader: { htpasswdPath: READER_HTPASSWD_PATH } });
        expect(withReader.startsWith(without)).toBe(true);
        expect(withReader.slice(without.length)).toBe(renderRegistryReaderServer({
            listenPort: REGISTRY_READER_PORT, htpasswdPath: READER_HTPASSWD_PATH, timeoutSeconds: all.timeoutSeconds,
        }));
        // The main server never admits the readers' file.
        expect(without).not.toContain(READER_HTPASSWD_PATH);
    });
});

describe("redirects keep the client's scheme, host and port", () => {
    // Behind a load balancer nginx's automatic 301 (`/projects/<name>` -> `.../`) named its own
    // listen port and plain http; a relative Location is resolved by the client against the URL it used.
    const variants = {
        "`/` with projects, models and the reader endpoint": renderProxyConfig({
            ...base, projects: [{ name: "alpha", upstream: "mlflow-project-alpha:5000" }], models: [{ name: "iris", host: "model-iris" }],
            registryReader: { htpasswdPath: READER_HTPASSWD_PATH },
        }),
        "a project's AWS sidecar": renderProxyConfig({ ...base, servedProject: "alpha" }),
        "the reader endpoint alone": renderRegistryReaderServer({ listenPort: REGISTRY_READER_PORT, htpasswdPath: READER_HTPASSWD_PATH, timeoutSeconds: 60 }),
    };
    test.each(Object.entries(variants))("every server block of %s has absolute_redirect off", (_, conf) => {
        const servers = conf.split(/^server \{$/m).slice(1);
        expect(servers.length).toBeGreaterThan(0);
        for (const server of servers) {
            const body = server.slice(0, server.search(/^\}$/m));
            expect(body).toMatch(/^ {4}absolute_redirect off;$/m);
        }
        // Nothing turns it back on or writes an absolute redirect of its own.
        expect(conf).not.toMatch(/absolute_redirect on|port_in_redirect on|return 30[1278] http/);
    });
});

describe("the readers' endpoint and the projects", () => {
    test("with projects configured, the reader server block proxies only to the MLflow at / and has no project route", () => {
        const conf = renderProxyConfig({
            ...base, projects: [{ name: "alpha", upstream: "mlflow-project-alpha:5000" }, { name: "beta", upstream: "mlflow-project-beta:5000" }],
            models: [{ name: "iris", host: "model-iris" }], registryReader: { htpasswdPath: READER_HTPASSWD_PATH },
        });
        const reader = conf.slice(conf.indexOf(`listen ${REGISTRY_READER_PORT};`));
        expect(reader.length).toBeGreaterThan(0);
        expect([...reader.matchAll(/proxy_pass ([^;]+);/g)].map(m => m[1])).toEqual(["http://mlflow_tracking", "http://mlflow_tracking"]);
        expect(reader).not.toMatch(/projects|alpha|beta/);
        expect(/upstream mlflow_tracking \{\s*server mlflow:5000;/.test(conf)).toBe(true);
    });
});
