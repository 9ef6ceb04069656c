import { READER_HTPASSWD_PATH, REGISTRY_READER_API_PREFIXES, REGISTRY_READER_PORT, readerUsername, renderRegistryReaderServer } from "./registryReader";
import { renderHtpasswd } from "./nginx";
import { sha512Crypt } from "./shaCrypt";

const base = { listenPort: REGISTRY_READER_PORT, htpasswdPath: READER_HTPASSWD_PATH, timeoutSeconds: 3600 };

/** Every `location <match> { ... }` with its body (limit_except's braces included). */
function locations(conf: string): Array<{ match: string; body: string }> {
    return [...conf.matchAll(/location ([^{]+) \{((?:[^{}]|\{[^{}]*\})*)\}/g)].map(m => ({ match: m[1], body: m[2] }));
}

/** The server-level raw-URI check as a JS regex (nginx PCRE and JS agree on this subset). */
function rawCheck(conf: string): RegExp {
    const m = /if \(\$request_uri !~ "([^"]+)"\) \{\s*return 404;\s*\}/.exec(conf);
    if (!m) throw new Error("no raw URI check");
    return new RegExp(m[1]);
}

describe("readerUsername", () => {
    test.each([
        ["iris", "model-iris"],
        ["Iris_Classifier.v2", "model-iris-classifier-v2"],
        ["a-b", "model-a-b"],
    ])("%s -> %s", (model, user) => {
        expect(readerUsername(model)).toBe(user);
        // A valid htpasswd user (renderHtpasswd refuses ':' and spaces).
        expect(renderHtpasswd(user, sha512Crypt("pw", "salt", 1000))).toMatch(new RegExp(`^${user}:\\$6\\$`));
    });

    test.each([[""], ["a:b"], ["a b"], ["-x"], ["x".repeat(65)]])("refuses %j", model => {
        expect(() => readerUsername(model)).toThrow(/served model names/);
    });
});

describe("renderRegistryReaderServer", () => {
    const conf = renderRegistryReaderServer(base);

    test("one server block on the given port, proxying to the tracking upstream", () => {
        expect(conf.match(/^server \{/gm)).toHaveLength(1);
        expect(conf).toContain(`listen ${REGISTRY_READER_PORT};`);
        expect(conf).not.toMatch(/^upstream/m);
        expect(renderRegistryReaderServer({ ...base, listenPort: 9999 })).toContain("listen 9999;");
    });

    test("only the two API prefixes are proxied, each behind the readers' basic auth and GET/HEAD only", () => {
        const locs = locations(conf);
        expect(locs.map(l => l.match)).toEqual(["/api/2.0/mlflow/", "/api/2.0/mlflow-artifacts/", "/"]);
        for (const l of locs.slice(0, 2)) {
            expect(l.body).toContain(`auth_basic_user_file ${READER_HTPASSWD_PATH};`);
            expect(l.body).toMatch(/auth_basic "[^"]+";/);
            expect(l.body).toMatch(/limit_except GET \{\s*deny all;\s*\}/);
            expect(l.body).toContain("proxy_pass http://mlflow_tracking;");
            expect(l.body).not.toMatch(/\breturn\b/);
        }
    });

    test("everything else is 404 and never proxied", () => {
        const root = locations(conf).find(l => l.match === "/")!;
        expect(root.body).toMatch(/^\s*return 404;\s*$/);
        expect(conf.match(/proxy_pass/g)).toHaveLength(2);
        expect(conf).not.toMatch(/auth_basic\s+off/);
    });

    test.each([
        ["/api/2.0/mlflow/registered-models/alias?name=iris&alias=champion", true],
        ["/api/2.0/mlflow/model-versions/get-download-uri?name=iris&version=1", true],
        ["/api/2.0/mlflow-artifacts/artifacts/1/abc/artifacts/model/MLmodel", true],
        ["/", false],
        ["/ajax-api/2.0/mlflow/experiments/search", false],
        ["/health", false],
        ["/get-artifact?path=x&run_uuid=y", false],
        ["/api/2.0/mlflowx/experiments/create", false],
        ["/api/2.0/preview/mlflow/experiments/list", false],
        ["//api/2.0/mlflow/experiments/search", false],
        ["/x/../api/2.0/mlflow/experiments/search", false],
        ["/%61pi/2.0/mlflow/experiments/search", false],
        ["/api/2%2e0/mlflow/experiments/search", false],
    ])("raw URI %s admitted: %s", (uri, ok) => {
        expect(rawCheck(conf).test(uri)).toBe(ok);
    });

    test("the reader's Authorization header stops at nginx; Host passes for MLflow's host check", () => {
        expect(conf).toContain('proxy_set_header Authorization "";');
        expect(conf).toContain("proxy_set_header Host $http_host;");
    });

    test("downloads stream with the configured timeouts", () => {
        expect(conf).toContain("proxy_buffering off;");
        expect(conf).toContain("proxy_read_timeout 3600s;");
        expect(renderRegistryReaderServer({ ...base, timeoutSeconds: 120 })).toContain("proxy_read_timeout 120s;");
    });

    test("a path prefix (an MLflow static prefix) goes before each API path and into the raw check", () => {
        const p = renderRegistryReaderServer({ ...base, pathPrefix: "/projects/alpha" });
        expect(locations(p).map(l => l.match)).toEqual([...REGISTRY_READER_API_PREFIXES.map(x => `/projects/alpha${x}`), "/"]);
        expect(rawCheck(p).test("/projects/alpha/api/2.0/mlflow/model-versions/get?name=a&version=1")).toBe(true);
        expect(rawCheck(p).test("/api/2.0/mlflow/model-versions/get?name=a&version=1")).toBe(false);
    });

    test.each([
        [{ pathPrefix: "projects/alpha" }, /pathPrefix/],
        [{ pathPrefix: "/a b" }, /pathPrefix/],
        [{ listenPort: 0 }, /listenPort/],
        [{ listenPort: 70000 }, /listenPort/],
        [{ htpasswdPath: "relative.htpasswd" }, /htpasswdPath/],
        [{ htpasswdPath: "/etc/x;y" }, /htpasswdPath/],
        [{ timeoutSeconds: 0 }, /timeoutSeconds/],
    ])("refuses %j", (bad, message) => {
        expect(() => renderRegistryReaderServer({ ...base, ...bad })).toThrow(message);
    });
});
