import { HTPASSWD_PATH, renderHtpasswd, renderProxyConfig } from "./nginx";

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

    test("/health is an exact-match location with auth off", () => {
        expect(location(conf, "= /health")).toContain("auth_basic off;");
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

describe("renderHtpasswd", () => {
    const hash = `$2b$10$${"a".repeat(53)}`;

    test("one user:hash line", () => {
        expect(renderHtpasswd("mlflow", hash)).toBe(`mlflow:${hash}\n`);
    });

    test.each([["a:b"], [""], ["a b"]])("rejects user name %p", user => {
        expect(() => renderHtpasswd(user, hash)).toThrow(/cannot be empty or contain/);
    });

    test.each([["plaintext"], ["{SHA}abc"], ["$apr1$abc$def"]])("rejects non-bcrypt entry %p", entry => {
        expect(() => renderHtpasswd("mlflow", entry)).toThrow(/bcrypt/);
    });
});
