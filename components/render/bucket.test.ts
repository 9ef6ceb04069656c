import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { artifactAccessPolicy, BUCKET_INIT_ENV, minioBucketArn, renderBucketInitScript } from "./bucket";

describe("artifactAccessPolicy", () => {
    const policy = artifactAccessPolicy("arn:aws:s3:::mlflow-artifacts");
    const actions = policy.Statement.flatMap(s => s.Action);
    const resources = policy.Statement.flatMap(s => s.Resource);

    test("is limited to the bucket and its objects", () => {
        expect(resources.sort()).toEqual(["arn:aws:s3:::mlflow-artifacts", "arn:aws:s3:::mlflow-artifacts/*"]);
    });

    test("grants no wildcard action and only allows", () => {
        expect(actions.every(a => /^s3:[A-Za-z]+$/.test(a))).toBe(true);
        expect(policy.Statement.every(s => s.Effect === "Allow")).toBe(true);
    });

    test("covers what MLflow's proxied artifact store does, including multipart uploads", () => {
        expect(actions).toEqual(expect.arrayContaining([
            "s3:ListBucket", "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts",
        ]));
    });

    test("grants nothing that administers the bucket", () => {
        expect(actions.filter(a => /Policy|Acl|^s3:DeleteBucket$|^s3:PutBucket|^s3:CreateBucket$/.test(a))).toEqual([]);
    });

    test.each([["*"], ["arn:aws:s3:::*"], ["mlflow-artifacts"], ["arn:aws:s3:::mlflow-artifacts/*"]])("refuses %p as a bucket ARN", arn => {
        expect(() => artifactAccessPolicy(arn)).toThrow(/needs a bucket ARN/);
    });
});

test("MinIO bucket ARNs use the S3 form", () => {
    expect(minioBucketArn("b-1")).toBe("arn:aws:s3:::b-1");
});

describe("renderBucketInitScript", () => {
    const policy = artifactAccessPolicy("arn:aws:s3:::mlflow-artifacts");
    const script = renderBucketInitScript(policy);

    test("embeds the policy document verbatim", () => {
        const embedded = script.slice(script.indexOf("<<'POLICY'\n") + 11, script.indexOf("\nPOLICY\n"));
        expect(JSON.parse(embedded)).toEqual(policy);
    });

    test("is idempotent and keeps the bucket private", () => {
        expect(script).toContain(`mc mb --ignore-existing "store/\${${BUCKET_INIT_ENV.bucket}}"`);
        expect(script).toContain("mc anonymous set private");
        expect(script).not.toMatch(/anonymous set (download|public|upload)|policy (download|public)/);
    });

    test("takes the root credentials from the environment, not from arguments", () => {
        expect(script).toContain("export MC_HOST_store=");
        expect(script).not.toMatch(/mc alias set/);
        for (const name of Object.values(BUCKET_INIT_ENV)) expect(script).toContain(`\${${name}`);
    });

    test("hands the MLflow secret key to mc on standard input, never as an argument", () => {
        expect(script).toContain(`printf '%s\\n' "\${${BUCKET_INIT_ENV.secretKey}}" | mc admin user add store "\${${BUCKET_INIT_ENV.accessKey}}"\n`);
        const mcLines = script.split("\n").filter(l => /(^|\| )mc /.test(l));
        for (const line of mcLines) expect(line.slice(line.indexOf("mc "))).not.toMatch(/SECRET_KEY|ROOT_PASSWORD/);
    });

    test("attaches the bucket policy to the MLflow identity", () => {
        expect(script).toContain(`mc admin policy attach store "\${${BUCKET_INIT_ENV.policyName}}" --user "\${${BUCKET_INIT_ENV.accessKey}}"`);
        expect(script).toMatch(/^#!\/bin\/sh\n[\s\S]*set -eu/);
    });
});

describe("the bucket-init script run by sh with a recording stand-in for mc", () => {
    // What only real MinIO and mc can show is left to a real `pulumi up`; this checks the shell logic.
    function runScript(userInfoOutput: string) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bucket-init-"));
        const log = path.join(dir, "calls.log");
        // Records argv, MC_HOST_store and stdin of every call; `admin user info` prints userInfoOutput.
        fs.writeFileSync(path.join(dir, "mc"), `#!/bin/sh
stdin=""
if [ "$1 $2 $3" = "admin user add" ]; then stdin=$(cat); fi
printf 'argv=%s|host=%s|stdin=%s\\n' "$*" "$MC_HOST_store" "$stdin" >> "${log}"
if [ "$1 $2 $3" = "admin user info" ]; then printf '%s\\n' "${userInfoOutput}"; fi
exit 0
`, { mode: 0o755 });
        const scriptPath = path.join(dir, "bucket-init.sh");
        fs.writeFileSync(scriptPath, renderBucketInitScript(artifactAccessPolicy("arn:aws:s3:::mlflow-artifacts")));
        const env = {
            PATH: `${dir}:/usr/bin:/bin`, MINIO_ENDPOINT: "http://minio:9000", MINIO_ROOT_USER: "minio-root", MINIO_ROOT_PASSWORD: "rootpw123",
            ARTIFACT_BUCKET: "mlflow-artifacts", MLFLOW_POLICY_NAME: "mlflow-tracking-artifacts", MLFLOW_ACCESS_KEY: "mlflow-tracking", MLFLOW_SECRET_KEY: "s3cretKey42",
        };
        const result = spawnSync("sh", [scriptPath], { env, encoding: "utf8" });
        const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
        fs.rmSync(dir, { recursive: true, force: true });
        return { status: result.status, stderr: result.stderr, calls };
    }

    test("runs every step in order with the root identity only in MC_HOST_store", () => {
        const { status, stderr, calls } = runScript("AccessKey: mlflow-tracking");
        expect([status, stderr]).toEqual([0, ""]);
        expect(calls.map(c => c.split("|")[0])).toEqual([
            "argv=ready store",
            "argv=mb --ignore-existing store/mlflow-artifacts",
            "argv=anonymous set private store/mlflow-artifacts",
            "argv=admin policy create store mlflow-tracking-artifacts /tmp/mlflow-policy.json",
            "argv=admin user add store mlflow-tracking",
            "argv=admin user info store mlflow-tracking",
            "argv=admin policy attach store mlflow-tracking-artifacts --user mlflow-tracking",
            "argv=admin user info store mlflow-tracking",
        ]);
        expect(calls.every(c => c.includes("|host=http://minio-root:rootpw123@minio:9000|"))).toBe(true);
        expect(calls.find(c => c.startsWith("argv=admin user add"))).toMatch(/\|stdin=s3cretKey42$/);
        expect(calls.filter(c => c.split("|")[0].includes("s3cretKey42") || c.split("|")[0].includes("rootpw123"))).toEqual([]);
    });

    test("does not attach the policy again when it is already attached", () => {
        const { status, calls } = runScript("PolicyName: mlflow-tracking-artifacts");
        expect(status).toBe(0);
        expect(calls.filter(c => c.startsWith("argv=admin policy attach"))).toEqual([]);
    });
});
