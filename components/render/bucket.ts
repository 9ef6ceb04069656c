// What the tracking server may do in the artifact bucket, for MinIO and for AWS IAM alike.

export interface PolicyDocument {
    readonly Version: "2012-10-17";
    readonly Statement: ReadonlyArray<{
        readonly Sid: string;
        readonly Effect: "Allow" | "Deny";
        readonly Action: string[];
        readonly Resource: string[];
    }>;
}

/** Bucket-level actions MLflow's S3 artifact repository uses (listing, multipart bookkeeping). */
export const BUCKET_ACTIONS = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"];
/** Object-level actions: read, write, delete (mlflow gc, run deletion) and multipart uploads of large artifacts. */
export const OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];

/** Least privilege on one bucket: no s3:*, no "*" resource. */
export function artifactAccessPolicy(bucketArn: string): PolicyDocument {
    if (!/^arn:aws[a-z-]*:s3:::[a-z0-9.-]{3,63}$/.test(bucketArn)) {
        throw new Error(`artifactAccessPolicy needs a bucket ARN, got ${JSON.stringify(bucketArn)}`);
    }
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "ArtifactBucket", Effect: "Allow", Action: BUCKET_ACTIONS, Resource: [bucketArn] },
            { Sid: "ArtifactObjects", Effect: "Allow", Action: OBJECT_ACTIONS, Resource: [`${bucketArn}/*`] },
        ],
    };
}

/** MinIO names buckets with the same ARN form as S3. */
export function minioBucketArn(bucketName: string): string {
    return `arn:aws:s3:::${bucketName}`;
}

/** Environment variables the bucket-init script reads; values, including secrets, arrive only this way. */
export const BUCKET_INIT_ENV = {
    endpoint: "MINIO_ENDPOINT",
    rootUser: "MINIO_ROOT_USER",
    rootPassword: "MINIO_ROOT_PASSWORD",
    bucket: "ARTIFACT_BUCKET",
    policyName: "MLFLOW_POLICY_NAME",
    accessKey: "MLFLOW_ACCESS_KEY",
    secretKey: "MLFLOW_SECRET_KEY",
} as const;

/**
 * The one-shot script run with MinIO's `mc` client once MinIO is healthy. Idempotent, so it
 * can run on every `pulumi up`: creates the bucket, keeps it private, and creates the
 * identity MLflow uses, limited to that bucket by `policy`.
 */
export function renderBucketInitScript(policy: PolicyDocument): string {
    const e = BUCKET_INIT_ENV;
    return `#!/bin/sh
# Rendered by mlflow-platform (components/render/bucket.ts).
set -eu
# mc reads the alias from MC_HOST_<alias>, so the root password never becomes an argument.
scheme="\${${e.endpoint}%%://*}"
hostport="\${${e.endpoint}#*://}"
export MC_HOST_store="\${scheme}://\${${e.rootUser}}:\${${e.rootPassword}}@\${hostport}"

mc ready store
mc mb --ignore-existing "store/\${${e.bucket}}"
# Never public: remove any anonymous access a previous setup may have granted.
mc anonymous set private "store/\${${e.bucket}}"

cat > /tmp/mlflow-policy.json <<'POLICY'
${JSON.stringify(policy, null, 2)}
POLICY
mc admin policy create store "\${${e.policyName}}" /tmp/mlflow-policy.json
# The secret key goes in on standard input (printf is a shell builtin), not as an argument.
printf '%s\\n' "\${${e.secretKey}}" | mc admin user add store "\${${e.accessKey}}"
if ! mc admin user info store "\${${e.accessKey}}" | grep -q "\${${e.policyName}}"; then
    mc admin policy attach store "\${${e.policyName}}" --user "\${${e.accessKey}}"
fi
mc admin user info store "\${${e.accessKey}}"
echo "bucket \${${e.bucket}} ready; identity \${${e.accessKey}} limited to it"
`;
}
