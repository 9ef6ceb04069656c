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

    test("attaches the bucket policy to the MLflow identity", () => {
        expect(script).toContain(`mc admin policy attach store "\${${BUCKET_INIT_ENV.policyName}}" --user "\${${BUCKET_INIT_ENV.accessKey}}"`);
        expect(script).toMatch(/^#!\/bin\/sh\n[\s\S]*set -eu/);
    });
});
