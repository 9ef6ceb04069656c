import { spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { artifactAccessPolicy, BUCKET_INIT_COMMANDS, BUCKET_INIT_ENV, bucketInitFailureMessage, minioBucketArn, type PolicyDocument, PROJECTS_ROOT, renderBucketInitScript } from "./bucket";
import { PROJECT_NAME_MAX, projectNames } from "../shared/projects";

describe("artifactAccessPolicy", () => {
    const policy = artifactAccessPolicy("arn:aws:s3:::mlflow-artifacts");
    const actions = policy.Statement.flatMap(s => s.Action);
    const resources = policy.Statement.flatMap(s => s.Resource);

    test("is limited to the bucket and its objects", () => {
        const allowed = policy.Statement.filter(s => s.Effect === "Allow").flatMap(s => s.Resource);
        expect([...new Set(allowed)].sort()).toEqual(["arn:aws:s3:::mlflow-artifacts", "arn:aws:s3:::mlflow-artifacts/*"]);
        expect(resources.every(r => r.startsWith("arn:aws:s3:::mlflow-artifacts"))).toBe(true);
    });

    test("grants no wildcard action, and denies only under the projects' root", () => {
        expect(actions.every(a => /^s3:[A-Za-z]+$/.test(a))).toBe(true);
        const denies = policy.Statement.filter(s => s.Effect === "Deny");
        expect(denies.flatMap(s => s.Resource)).toEqual(["arn:aws:s3:::mlflow-artifacts/projects/*"]);
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

/**
 * The IAM evaluation order (an explicit Deny wins, else any Allow, else implicit deny) with the
 * condition operators the policies use; an absent key fails StringLike and passes StringNotLike
 * (IAM User Guide, "Condition operators"). MinIO and RGW are run for real in e2e.
 */
function evaluate(policy: PolicyDocument, action: string, resource: string, context: Record<string, string> = {}): "allow" | "deny" {
    const glob = (pattern: string, value: string) => new RegExp(`^${pattern.split("*").map(p => p.replace(/[.+?^${}()|[\]\\/-]/g, "\\$&")).join(".*")}$`).test(value);
    const holds = (condition: Record<string, Record<string, string[]>> = {}) => Object.entries(condition).every(([op, keys]) =>
        Object.entries(keys).every(([key, patterns]) => {
            const value = context[key];
            const like = value !== undefined && patterns.some(p => glob(p, value));
            if (op === "StringLike") return like;
            if (op === "StringNotLike") return !like;
            throw new Error(`operator ${op} is not modelled here`);
        }));
    const matching = policy.Statement.filter(s => s.Action.includes(action) && s.Resource.some(r => glob(r, resource)) && holds(s.Condition));
    if (matching.some(s => s.Effect === "Deny")) return "deny";
    return matching.some(s => s.Effect === "Allow") ? "allow" : "deny";
}

describe("the server at / cannot reach any project's artifacts", () => {
    const bucket = "arn:aws:s3:::mlflow-artifacts";
    const root = artifactAccessPolicy(bucket);
    const objectActions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];
    // Legal names of every shape: shortest, longest, hyphens, digits.
    const names = ["ab", "zq-7", "zqx7", "alpha", "x".repeat(PROJECT_NAME_MAX), "a-b-c-1"];

    test("every project prefix lies under the denied root", () => {
        for (const n of names) expect(projectNames(n).artifactPrefix.startsWith(PROJECTS_ROOT)).toBe(true);
    });

    test.each(objectActions)("%s on any project's key is denied", action => {
        for (const n of names) {
            const prefix = projectNames(n).artifactPrefix;
            for (const key of [`${prefix}model.pkl`, `${prefix}1/run-id/artifacts/model/python_model.pkl`]) {
                expect([n, evaluate(root, action, `${bucket}/${key}`)]).toEqual([n, "deny"]);
            }
            // The project's own identity keeps its prefix: the Deny is in `/`'s policy only.
            expect(evaluate(artifactAccessPolicy(bucket, prefix), action, `${bucket}/${prefix}x`)).toBe("allow");
        }
    });

    test.each(objectActions)("%s on `/`'s own keys at the bucket root still works (upgraded stacks keep theirs)", action => {
        for (const key of ["0/abc/artifacts/model.pkl", "1/models/m-1/artifacts/MLmodel", "projectsx/a", "projects", "x/projects/a"]) {
            expect([key, evaluate(root, action, `${bucket}/${key}`)]).toEqual([key, "allow"]);
        }
    });

    test.each([["s3:ListBucket"], ["s3:ListBucketMultipartUploads"]])("%s is refused under projects/ and works elsewhere", action => {
        for (const prefix of ["projects/", ...names.map(n => projectNames(n).artifactPrefix), "projects/alpha/1/"]) {
            expect([prefix, evaluate(root, action, bucket, { "s3:prefix": prefix })]).toEqual([prefix, "deny"]);
        }
        for (const prefix of ["", "0/", "1/abc/artifacts/", "projectsx/"]) {
            expect([prefix, evaluate(root, action, bucket, { "s3:prefix": prefix })]).toEqual([prefix, "allow"]);
        }
        expect(evaluate(root, action, bucket)).toBe("allow");
    });

    test("the listing condition has one pattern: RGW reads several in StringNotLike as 'any does not match'", () => {
        const listing = root.Statement.filter(s => s.Action.includes("s3:ListBucket"));
        expect(listing.map(s => s.Condition)).toEqual([{ StringNotLike: { "s3:prefix": ["projects/*"] } }]);
    });

    test("a project's identity still cannot reach `/`'s keys or a neighbour's", () => {
        const alpha = artifactAccessPolicy(bucket, "projects/alpha/");
        for (const key of ["0/abc/artifacts/model.pkl", "projects/beta/x", "projects/alphabet/x"]) {
            expect([key, evaluate(alpha, "s3:GetObject", `${bucket}/${key}`)]).toEqual([key, "deny"]);
        }
        expect(evaluate(alpha, "s3:ListBucket", bucket, { "s3:prefix": "projects/" })).toBe("deny");
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
    // What only real MinIO and mc can show is left to a real `pulumi up`; this checks the shell
    // logic with exactly the commands the mc image has: sh (by absolute path) and, on PATH, mc alone.
    type Attach = "ok" | "already" | "fail";
    function runScript(attach: Attach, script = renderBucketInitScript(artifactAccessPolicy("arn:aws:s3:::mlflow-artifacts"))) {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bucket-init-"));
        const bin = path.join(dir, "bin");
        fs.mkdirSync(bin);
        const log = path.join(dir, "calls.log");
        // Records argv, MC_HOST_store and stdin of every call, using shell builtins only.
        fs.writeFileSync(path.join(bin, "mc"), `#!/bin/sh
stdin=""
if [ "$1 $2 $3" = "admin user add" ]; then IFS= read -r stdin; fi
if [ "$1 $2 $3" = "admin policy create" ]; then while IFS= read -r l; do printf '%s\\n' "$l"; done < "$6" > "${dir}/policy.json"; fi
printf 'argv=%s|host=%s|stdin=%s\\n' "$*" "$MC_HOST_store" "$stdin" >> "${log}"
if [ "$1 $2 $3" = "admin policy attach" ]; then
    case "${attach}" in
        already) echo "mc: <ERROR> Unable to make user/group policy association. The specified policy change is already in effect. (Specified policy update has no net effect)."; exit 1 ;;
        fail) echo "mc: <ERROR> Unable to make user/group policy association. Access Denied."; exit 1 ;;
    esac
    echo "Attached Policies: [mlflow-tracking-artifacts]"
fi
exit 0
`, { mode: 0o755 });
        const scriptPath = path.join(dir, "bucket-init.sh");
        fs.writeFileSync(scriptPath, script);
        const env = {
            PATH: bin, MINIO_ENDPOINT: "http://minio:9000", MINIO_ROOT_USER: "minio-root", MINIO_ROOT_PASSWORD: "rootpw123",
            ARTIFACT_BUCKET: "mlflow-artifacts", MLFLOW_POLICY_NAME: "mlflow-tracking-artifacts", MLFLOW_ACCESS_KEY: "mlflow-tracking", MLFLOW_SECRET_KEY: "s3cretKey42",
        };
        const result = spawnSync("/bin/sh", [scriptPath], { env, encoding: "utf8" });
        const calls = fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
        const policyFile = fs.existsSync(path.join(dir, "policy.json")) ? fs.readFileSync(path.join(dir, "policy.json"), "utf8") : "";
        fs.rmSync(dir, { recursive: true, force: true });
        return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls, policyFile };
    }
    const argvOf = (calls: string[]) => calls.map(c => c.split("|")[0]);

    test("the allowed command list is sh and mc", () => {
        expect(BUCKET_INIT_COMMANDS).toEqual(["sh", "mc"]);
    });

    test("runs every step in order with the root identity only in MC_HOST_store", () => {
        const { status, stderr, calls, policyFile } = runScript("ok");
        expect([status, stderr]).toEqual([0, ""]);
        expect(argvOf(calls)).toEqual([
            "argv=ready store",
            "argv=mb --ignore-existing store/mlflow-artifacts",
            "argv=anonymous set private store/mlflow-artifacts",
            "argv=admin policy create store mlflow-tracking-artifacts /tmp/mlflow-policy.json",
            "argv=admin user add store mlflow-tracking",
            "argv=admin policy attach store mlflow-tracking-artifacts --user mlflow-tracking",
            "argv=admin user info store mlflow-tracking",
        ]);
        expect(JSON.parse(policyFile)).toEqual(artifactAccessPolicy("arn:aws:s3:::mlflow-artifacts"));
        expect(calls.every(c => c.includes("|host=http://minio-root:rootpw123@minio:9000|"))).toBe(true);
        expect(calls.find(c => c.startsWith("argv=admin user add"))).toMatch(/\|stdin=s3cretKey42$/);
        expect(calls.filter(c => c.split("|")[0].includes("s3cretKey42") || c.split("|")[0].includes("rootpw123"))).toEqual([]);
    });

    test("a re-run where mc says the policy is already attached exits 0 and finishes", () => {
        const { status, stdout, stderr, calls } = runScript("already");
        expect([status, stderr]).toEqual([0, ""]);
        expect(argvOf(calls).slice(-1)).toEqual(["argv=admin user info store mlflow-tracking"]);
        expect(stdout).toContain("bucket mlflow-artifacts ready");
    });

    test("any other attach failure stops the script with mc's message on stderr", () => {
        const { status, stdout, stderr, calls } = runScript("fail");
        expect(status).toBe(1);
        expect(stderr).toContain("Access Denied");
        expect(argvOf(calls).slice(-1)).toEqual(["argv=admin policy attach store mlflow-tracking-artifacts --user mlflow-tracking"]);
        expect(stdout).not.toContain("ready");
    });

    test("the environment really lacks everything but mc: a script that uses grep fails in it", () => {
        // Guards the guard: the previous script's `| grep -q` must not pass here.
        const withGrep = renderBucketInitScript(artifactAccessPolicy("arn:aws:s3:::mlflow-artifacts"))
            .replace("mc admin user info store", "mc admin user info store \"$MLFLOW_ACCESS_KEY\" | grep -q x; mc admin user info store");
        const { status, stderr } = runScript("ok", withGrep);
        expect(stderr).toMatch(/grep: (not found|command not found)/);
        expect(status).not.toBe(0);
    });
});

describe("bucketInitFailureMessage", () => {
    const message = bucketInitFailureMessage(1, "bucket-init-mc", "urn:pulumi:dev::mlflow-platform::mlflow:index:BucketInit$docker:index/container:Container::bucket-init-mc");

    test("names the container log and the command that runs it again", () => {
        expect(message).toContain("exited with 1");
        expect(message).toContain("`docker logs bucket-init-mc`");
        expect(message).toContain("pulumi up --replace 'urn:pulumi:dev::mlflow-platform::mlflow:index:BucketInit$docker:index/container:Container::bucket-init-mc'");
    });
});
