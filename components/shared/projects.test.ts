import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { artifactAccessPolicy } from "../bucketInit/bucket";
import { keepAliveChain } from "./keepalive";
import { healthcheckCommand, HEALTHCHECK_COMMAND, renderTrackingServerEnvironment, TrackingServerSettings } from "../trackingServer/mlflow";
import { renderProxyConfig } from "../authProxy/nginx";
import {
    projectDatabaseFailureMessage, projectNameProblem, projectNames, projectUpstreamLabels, renderProjectDatabaseScript, renderProjectMysqlSql,
    renderProjectProxyBlocks,
} from "./projects";

describe("projectNameProblem", () => {
    test.each(["ab", "team-a", "a1", "vision2", "x".repeat(24), "a-b-c"])("accepts %p", name => {
        expect(projectNameProblem(name)).toBeUndefined();
    });
    test.each([
        ["a", /2-24 lowercase/], ["x".repeat(25), /2-24/], ["Team", /lowercase/], ["1team", /starting with a letter/],
        ["team_a", /lowercase/], ["team--a", /single inner hyphens/], ["team-", /lowercase/], ["-team", /lowercase/],
        ["a/b", /lowercase/], ["a.b", /lowercase/], ["a b", /lowercase/], ["default", /reserved/],
    ])("refuses %p", (name, why) => {
        expect(projectNameProblem(name)).toMatch(why);
    });
});

describe("projectNames", () => {
    test("everything derives from the name, hyphens become underscores in SQL names", () => {
        expect(projectNames("team-a")).toEqual({
            name: "team-a",
            urlPath: "/projects/team-a",
            artifactPrefix: "projects/team-a/",
            database: "mlflow_team_a",
            databaseUser: "mlflow_team_a",
            accessKeyId: "mlflow-project-team-a",
            hostname: "mlflow-team-a",
            upstreamName: "mlflow_project_team_a",
            htpasswdPath: "/etc/nginx/projects/team-a.htpasswd",
            tokenIncludePath: "/etc/nginx/projects/team-a-token.inc",
        });
    });
    test("the longest name still makes a MySQL user name (<= 32 characters)", () => {
        expect(projectNames("x".repeat(24)).databaseUser.length).toBeLessThanOrEqual(32);
    });
    test("a bad name throws", () => {
        expect(() => projectNames("Bad")).toThrow(/project name "Bad"/);
    });
});

describe("renderProjectProxyBlocks and renderProxyConfig", () => {
    const base = { listenPort: 8080, upstream: "mlflow:5000", maxUploadSize: "5g", timeoutSeconds: 3600, htpasswdPath: "/etc/nginx/mlflow.htpasswd" };
    const ka = keepAliveChain({ proxyTimeoutSeconds: 3600, loadBalancer: false });

    test("no projects: the config is the one rendered without the field", () => {
        expect(renderProxyConfig({ ...base, projects: [] })).toBe(renderProxyConfig(base));
    });

    test("each project: its own upstream, location, realm and htpasswd file; no return", () => {
        const conf = renderProxyConfig({ ...base, projects: [{ name: "alpha", upstream: "mlflow-alpha:5000" }, { name: "beta", upstream: "mlflow-beta:5000" }] });
        expect(conf).toContain("upstream mlflow_project_alpha {\n    server mlflow-alpha:5000;");
        expect(conf).toContain("upstream mlflow_project_beta {\n    server mlflow-beta:5000;");
        const alpha = /location \/projects\/alpha\/ \{([^}]*)\}/.exec(conf)?.[1] ?? "";
        expect(alpha).toContain('auth_basic "MLflow alpha";');
        expect(alpha).toContain("auth_basic_user_file /etc/nginx/projects/alpha.htpasswd;");
        expect(alpha).toContain("proxy_pass http://mlflow_project_alpha;");
        expect(alpha).not.toContain("beta");
        expect(conf).not.toMatch(/\breturn\b/);
        // The root location keeps the platform's own htpasswd.
        expect(/location \/ \{([^}]*)\}/.exec(conf)?.[1]).toContain("auth_basic_user_file /etc/nginx/mlflow.htpasswd;");
    });

    test("a project's location sits inside the server block, its upstream outside", () => {
        const conf = renderProxyConfig({ ...base, projects: [{ name: "alpha", upstream: "mlflow-alpha:5000" }] });
        expect(conf.indexOf("upstream mlflow_project_alpha")).toBeLessThan(conf.indexOf("server {"));
        expect(conf.indexOf("location /projects/alpha/")).toBeGreaterThan(conf.indexOf("location / {"));
        expect(conf.trimEnd().endsWith("}")).toBe(true);
    });

    test.each([
        [[{ name: "a", upstream: "x:1" }], /project name "a"/],
        [[{ name: "ab", upstream: "x:1" }, { name: "ab", upstream: "y:1" }], /listed twice/],
        [[{ name: "ab", upstream: "x; evil" }], /host:port/],
    ])("refuses %j", (projects, why) => {
        expect(() => renderProjectProxyBlocks(projects, ka)).toThrow(why);
    });

    test("nginx -t accepts the rendered config with two projects", () => {
        const nginx = ["/usr/sbin/nginx", "nginx"].find(b => spawnSync(b, ["-v"]).status === 0);
        if (nginx === undefined) {
            // Not a skip counted as a pass: the e2e suite runs nginx with this config for real.
            expect(nginx).toBeUndefined();
            return;
        }
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "projects-nginx-"));
        let conf = renderProxyConfig({ ...base, upstream: "127.0.0.1:5000", projects: [{ name: "alpha", upstream: "127.0.0.1:5001" }, { name: "beta", upstream: "127.0.0.1:5002" }] });
        conf = conf.replace(/\/etc\/nginx\/[^;]*htpasswd/g, `${dir}/x.htpasswd`);
        fs.writeFileSync(`${dir}/x.htpasswd`, "");
        fs.writeFileSync(`${dir}/default.conf`, conf);
        fs.writeFileSync(`${dir}/nginx.conf`, `pid ${dir}/nginx.pid; error_log ${dir}/error.log; events {} http { include ${dir}/default.conf; }`);
        const r = spawnSync(nginx, ["-t", "-p", dir, "-c", `${dir}/nginx.conf`], { encoding: "utf8" });
        expect(r.stderr).toMatch(/syntax is ok/);
    });
});

describe("artifactAccessPolicy with a project prefix", () => {
    const policy = artifactAccessPolicy("arn:aws:s3:::mlflow-artifacts", "projects/alpha/");

    test("objects only under the prefix, listings only of the prefix", () => {
        expect(policy.Statement).toEqual([
            { Sid: "ArtifactBucketLocation", Effect: "Allow", Action: ["s3:GetBucketLocation"], Resource: ["arn:aws:s3:::mlflow-artifacts"] },
            {
                Sid: "ArtifactPrefixListing", Effect: "Allow", Action: ["s3:ListBucket", "s3:ListBucketMultipartUploads"], Resource: ["arn:aws:s3:::mlflow-artifacts"],
                Condition: { StringLike: { "s3:prefix": ["projects/alpha/", "projects/alpha/*"] } },
            },
            {
                Sid: "ArtifactPrefixObjects", Effect: "Allow",
                Action: ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"],
                Resource: ["arn:aws:s3:::mlflow-artifacts/projects/alpha/*"],
            },
        ]);
    });

    test("without a prefix: the bucket except projects/ (the server at `/`)", () => {
        expect(artifactAccessPolicy("arn:aws:s3:::b-1").Statement.map(s => s.Sid))
            .toEqual(["ArtifactBucketLocation", "ArtifactListingOutsideProjects", "ArtifactObjects", "DenyProjectObjects"]);
    });

    test.each(["projects/alpha", "/projects/alpha/", "projects/*/", "", "projects/../"])("refuses prefix %p", prefix => {
        expect(() => artifactAccessPolicy("arn:aws:s3:::b-1", prefix)).toThrow(/artifact prefix/);
    });
});

describe("project tracking server environment", () => {
    const settings: TrackingServerSettings = {
        port: 5000, workers: 2, artifactBucket: "mlflow-artifacts", presignedTransfers: false, s3Region: "us-east-1",
        allowedHosts: ["localhost"], corsAllowedOrigins: [],
    };

    test("static prefix and artifact prefix", () => {
        const env = renderTrackingServerEnvironment({ ...settings, project: { staticPrefix: "/projects/alpha", artifactPrefix: "projects/alpha/" } });
        expect(env.MLFLOW_STATIC_PREFIX).toBe("/projects/alpha");
        expect(env.MLFLOW_ARTIFACTS_DESTINATION).toBe("s3proxied://mlflow-artifacts/projects/alpha/");
    });

    test("without a project nothing changes", () => {
        const env = renderTrackingServerEnvironment(settings);
        expect(env.MLFLOW_STATIC_PREFIX).toBeUndefined();
        expect(env.MLFLOW_ARTIFACTS_DESTINATION).toBe("s3proxied://mlflow-artifacts/");
    });

    test.each([["/projects/alpha/", "projects/alpha/"], ["projects/alpha", "projects/alpha/"], ["/projects/alpha", "projects/alpha"]])("refuses %p %p", (staticPrefix, artifactPrefix) => {
        expect(() => renderTrackingServerEnvironment({ ...settings, project: { staticPrefix, artifactPrefix } })).toThrow(/project prefixes/);
    });

    test("the healthcheck follows the prefix; the default is unchanged", () => {
        expect(healthcheckCommand("/projects/alpha")[3]).toContain("http://127.0.0.1:5000/projects/alpha/health");
        expect(HEALTHCHECK_COMMAND[3]).toContain("http://127.0.0.1:5000/health'");
    });
});

describe("project database scripts", () => {
    test("MySQL: database, user, password, the old pattern grant revoked where present, privileges on that database only (name escaped)", () => {
        expect(renderProjectMysqlSql("mlflow_alpha", "mlflow_alpha", "p'w")).toBe(`-- Rendered by mlflow-platform (components/render/projects.ts): project database and user.
CREATE DATABASE IF NOT EXISTS \`mlflow_alpha\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin;
CREATE USER IF NOT EXISTS 'mlflow_alpha'@'%' IDENTIFIED BY 'p''w';
ALTER USER 'mlflow_alpha'@'%' IDENTIFIED BY 'p''w';
SET @mlflow_legacy_grant = IF(EXISTS (SELECT 1 FROM mysql.db WHERE Host = '%' AND User = 'mlflow_alpha' AND Db = 'mlflow_alpha'), 'REVOKE ALL PRIVILEGES ON \`mlflow_alpha\`.* FROM ''mlflow_alpha''@''%''', 'DO 0');
PREPARE mlflow_legacy_grant FROM @mlflow_legacy_grant;
EXECUTE mlflow_legacy_grant;
DEALLOCATE PREPARE mlflow_legacy_grant;
GRANT ALL PRIVILEGES ON \`mlflow\\_alpha\`.* TO 'mlflow_alpha'@'%';
`);
    });

    test.each(["mysql", "postgres"] as const)("%s: the admin password only through the environment, valid sh", engine => {
        const script = renderProjectDatabaseScript(engine);
        expect(script).toContain("${DB_ADMIN_PASSWORD}");
        expect(script).not.toMatch(/--password[= ]|-p\$/);
        expect(spawnSync("sh", ["-n"], { input: script }).status).toBe(0);
    });

    test("PostgreSQL: the project role owns its database and PUBLIC loses CONNECT", () => {
        const script = renderProjectDatabaseScript("postgres");
        expect(script).toContain("OWNER %I");
        expect(script).toContain('REVOKE ALL ON DATABASE :"app_db" FROM PUBLIC;');
        expect(script).toContain("\\getenv app_password MLFLOW_DB_PASSWORD");
        expect(script).not.toContain("admin_password");
    });

    test("failure message names the log and the replace command", () => {
        expect(projectDatabaseFailureMessage(1, "c-init", "urn:x")).toMatch(/exited with 1.*docker logs c-init.*pulumi up --replace 'urn:x'/);
    });
});

test("projectUpstreamLabels: one per project, never empty", () => {
    expect(projectUpstreamLabels(["ab"], ["id1"])).toEqual([{ label: "mlflow-platform.project-upstream-container.ab", value: "id1" }]);
    expect(() => projectUpstreamLabels(["ab"], [""])).toThrow(/empty/);
    expect(() => projectUpstreamLabels(["ab"], [])).toThrow(/one container id/);
});
