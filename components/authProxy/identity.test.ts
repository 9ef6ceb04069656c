// The identity headers: set in every location that proxies to an MLflow server, complete there
// (a location with any proxy_set_header inherits none of the server's), never on a model route.
import { HTPASSWD_PATH, renderHtpasswdFile, renderProxyConfig } from "./nginx";
import { MAIN_SERVER_HEADERS, PROXY_TOKEN_INCLUDE_PATH, READER_SERVER_HEADERS, renderIdentityHeaders, renderProxyTokenInclude } from "./identity";
import { READER_HTPASSWD_PATH } from "./registryReader";
import { sha512Crypt } from "./shaCrypt";

const identity = { tokenIncludePath: PROXY_TOKEN_INCLUDE_PATH };
const base = { listenPort: 8080, upstream: "mlflow:5000", maxUploadSize: "5g", timeoutSeconds: 3600, htpasswdPath: HTPASSWD_PATH };
const full = {
    ...base, identity,
    projects: [{ name: "alpha", upstream: "mlflow-project-alpha:5000" }, { name: "beta", upstream: "mlflow-project-beta:5000" }],
    models: [{ name: "iris", host: "model-iris" }, { name: "churn", host: "model-churn" }],
    registryReader: { htpasswdPath: READER_HTPASSWD_PATH },
};

interface Block { readonly head: string; readonly body: string }

/** Every `server {}` and `location ... {}` block with its full body (nested braces followed). */
function blocks(conf: string, kind: "server" | "location"): Block[] {
    const out: Block[] = [];
    const re = kind === "server" ? /^server \{$/gm : /^\s*location ([^{]+) \{$/gm;
    for (const m of conf.matchAll(re)) {
        let depth = 0;
        let i = m.index + m[0].length - 1;
        const start = i;
        for (; i < conf.length; i++) {
            if (conf[i] === "{") depth++;
            else if (conf[i] === "}" && --depth === 0) break;
        }
        out.push({ head: m[1]?.trim() ?? "server", body: conf.slice(start + 1, i) });
    }
    return out;
}

/** The server block's own proxy_set_header lines (4-space indent), as `Name value`. */
function serverHeaders(server: string): string[] {
    return [...server.matchAll(/^ {4}proxy_set_header (.+);$/gm)].map(m => m[1]);
}

const USER_LINE = "proxy_set_header X-Mlflow-Platform-User $remote_user;";
const INCLUDE_LINE = `include ${PROXY_TOKEN_INCLUDE_PATH};`;

describe("renderProxyTokenInclude", () => {
    test("one proxy_set_header line with the token quoted", () => {
        expect(renderProxyTokenInclude("a".repeat(48))).toBe(`proxy_set_header X-Mlflow-Platform-Token "${"a".repeat(48)}";\n`);
    });

    test.each([["short"], ["has space".padEnd(40, "x")], ['quote"'.padEnd(40, "x")], ["semi;colon".padEnd(40, "x")], ["dollar$var".padEnd(40, "x")], ["back\\slash".padEnd(40, "x")], [""]])("refuses token %p (it would end the nginx string or expand a variable)", token => {
        expect(() => renderProxyTokenInclude(token)).toThrow(/16-256 letters, digits or/);
    });
});

describe("identity headers in the rendered proxy", () => {
    const conf = renderProxyConfig(full);
    const servers = blocks(conf, "server");

    test("every location that proxies to an MLflow server sets the user from basic auth and includes the token", () => {
        const mlflow = blocks(conf, "location").filter(l => /proxy_pass http:\/\/mlflow_(tracking|project_)/.test(l.body));
        expect(mlflow.map(l => l.head)).toEqual(["= /health", "/", "/projects/alpha/", "/projects/beta/", "/api/2.0/mlflow/", "/api/2.0/mlflow-artifacts/"]);
        for (const l of mlflow) {
            expect(l.body).toContain(USER_LINE);
            // A project's location sends its project's own token, never `/`'s.
            const project = /^\/projects\/([a-z]+)\/$/.exec(l.head)?.[1];
            const include = project === undefined ? INCLUDE_LINE : `include /etc/nginx/projects/${project}-token.inc;`;
            expect(l.body).toContain(include);
            expect(l.body.match(/include /g)).toHaveLength(1);
        }
    });

    test("a model route never gets the user header or the token", () => {
        const models = blocks(conf, "location").filter(l => /proxy_pass http:\/\/mlflow_model_/.test(l.body));
        expect(models).toHaveLength(6);
        for (const l of models) {
            expect(l.body).not.toMatch(/X-Mlflow-Platform|include/);
        }
    });

    test("the token is included nowhere but in those locations, and the user header is set nowhere else", () => {
        expect(conf.split(INCLUDE_LINE)).toHaveLength(4 + 1);
        for (const p of ["alpha", "beta"]) expect(conf.split(`include /etc/nginx/projects/${p}-token.inc;`)).toHaveLength(1 + 1);
        expect(conf.split(USER_LINE)).toHaveLength(6 + 1);
        for (const s of servers) expect(serverHeaders(s.body).some(h => h.startsWith("X-Mlflow-Platform"))).toBe(false);
    });

    test("each such location repeats every header of its server block (none would be inherited)", () => {
        expect(servers).toHaveLength(2);
        for (const s of servers) {
            const own = serverHeaders(s.body);
            expect(own.length).toBeGreaterThan(3);
            for (const l of blocks(s.body, "location").filter(x => x.body.includes(USER_LINE))) {
                for (const h of own) expect(l.body).toContain(`proxy_set_header ${h};`);
            }
        }
        // The constants the locations use are the servers' own lines, so they cannot drift apart.
        expect(serverHeaders(servers[0].body)).toEqual(MAIN_SERVER_HEADERS);
        expect(serverHeaders(servers[1].body)).toEqual(READER_SERVER_HEADERS);
    });

    test("a project's sidecar (aws) sets them in its project location and /health", () => {
        const sidecar = renderProxyConfig({ ...base, identity, servedProject: "alpha" });
        const set = blocks(sidecar, "location").filter(l => l.body.includes(INCLUDE_LINE)).map(l => l.head);
        expect(set).toEqual(["= /health", "/projects/alpha/"]);
    });

    test("without an identity the config is the one rendered before accounts existed", () => {
        const plain = renderProxyConfig({ ...full, identity: undefined });
        expect(plain).not.toMatch(/X-Mlflow-Platform|include /);
        expect(renderIdentityHeaders(undefined, MAIN_SERVER_HEADERS)).toBe("");
    });

    test("refuses an include path that is not absolute", () => {
        expect(() => renderProxyConfig({ ...base, identity: { tokenIncludePath: "token.inc; evil" } })).toThrow(/tokenIncludePath/);
    });
});

describe("renderHtpasswdFile", () => {
    const a = sha512Crypt("alice-password-1", "saltsaltsalt", 5000);
    const b = sha512Crypt("bob-password-22", "othersaltxyz", 1000);

    test("one line per user, in the given order", () => {
        expect(renderHtpasswdFile([["mlflow", a], ["bob", b]])).toBe(`mlflow:${a}\nbob:${b}\n`);
    });

    test("refuses a user twice (nginx would only ever check the first line)", () => {
        expect(() => renderHtpasswdFile([["bob", a], ["bob", b]])).toThrow(/bob is listed twice/);
    });

    test("each line passes renderHtpasswd's checks", () => {
        expect(() => renderHtpasswdFile([["a:b", a]])).toThrow(/cannot be empty or contain/);
        expect(() => renderHtpasswdFile([["bob", "$2y$10$abc"]])).toThrow(/SHA-512-crypt/);
    });
});
