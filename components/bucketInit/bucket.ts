// What the tracking server may do in the artifact bucket, for MinIO and for AWS IAM alike.

export interface PolicyDocument {
    readonly Version: "2012-10-17";
    readonly Statement: ReadonlyArray<{
        readonly Sid: string;
        readonly Effect: "Allow" | "Deny";
        readonly Action: string[];
        readonly Resource: string[];
        readonly Condition?: Record<string, Record<string, string[]>>;
    }>;
}

/** Bucket-level actions MLflow's S3 artifact repository uses (listing, multipart bookkeeping). */
export const BUCKET_ACTIONS = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"];
/** Object-level actions: read, write, delete (mlflow gc, run deletion) and multipart uploads of large artifacts. */
export const OBJECT_ACTIONS = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"];

/** Where every project's prefix lives (shared/projects.ts: `projects/<name>/`). */
export const PROJECTS_ROOT = "projects/";

/**
 * Least privilege on one bucket: no s3:*, no "*" resource. With `prefix` (a project's
 * `projects/<name>/`), objects under that prefix only, and listings only of keys under it
 * (the s3:prefix condition key, which AWS IAM and MinIO evaluate on ListBucket and
 * ListBucketMultipartUploads). Without it (the server at `/`, whose artifacts sit at the
 * bucket root), everything but PROJECTS_ROOT: see rootAccessPolicy.
 */
export function artifactAccessPolicy(bucketArn: string, prefix?: string): PolicyDocument {
    if (!/^arn:aws[a-z-]*:s3:::[a-z0-9.-]{3,63}$/.test(bucketArn)) {
        throw new Error(`artifactAccessPolicy needs a bucket ARN, got ${JSON.stringify(bucketArn)}`);
    }
    return prefix === undefined ? rootAccessPolicy(bucketArn) : prefixAccessPolicy(bucketArn, prefix);
}

/**
 * `/` keeps the bucket root, where its existing artifacts are (moving it to a prefix of its own
 * would strand them), and is kept out of the projects by an explicit Deny on their objects,
 * which wins over any Allow. Listings under PROJECTS_ROOT are simply not allowed (StringNotLike
 * on s3:prefix) rather than denied: moto evaluates no condition operator but StringEquals and
 * would apply a conditional Deny to every listing. One pattern only: Ceph RGW 16.2 reads a
 * multi-valued StringNotLike as "some pattern does not match". A listing whose prefix stops
 * short of PROJECTS_ROOT, without delimiter, still shows project key names, never content.
 */
function rootAccessPolicy(bucketArn: string): PolicyDocument {
    const listed = ["s3:ListBucket", "s3:ListBucketMultipartUploads"];
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "ArtifactBucketLocation", Effect: "Allow", Action: BUCKET_ACTIONS.filter(a => !listed.includes(a)), Resource: [bucketArn] },
            {
                Sid: "ArtifactListingOutsideProjects", Effect: "Allow", Action: listed, Resource: [bucketArn],
                Condition: { StringNotLike: { "s3:prefix": [`${PROJECTS_ROOT}*`] } },
            },
            { Sid: "ArtifactObjects", Effect: "Allow", Action: OBJECT_ACTIONS, Resource: [`${bucketArn}/*`] },
            { Sid: "DenyProjectObjects", Effect: "Deny", Action: OBJECT_ACTIONS, Resource: [`${bucketArn}/${PROJECTS_ROOT}*`] },
        ],
    };
}

function prefixAccessPolicy(bucketArn: string, prefix: string): PolicyDocument {
    if (!/^([a-z0-9-]+\/)+$/.test(prefix)) {
        throw new Error(`artifact prefix must be path segments of lowercase letters, digits and '-' ending in '/', got ${JSON.stringify(prefix)}`);
    }
    const listed = ["s3:ListBucket", "s3:ListBucketMultipartUploads"];
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "ArtifactBucketLocation", Effect: "Allow", Action: BUCKET_ACTIONS.filter(a => !listed.includes(a)), Resource: [bucketArn] },
            {
                Sid: "ArtifactPrefixListing", Effect: "Allow", Action: listed, Resource: [bucketArn],
                Condition: { StringLike: { "s3:prefix": [prefix, `${prefix}*`] } },
            },
            { Sid: "ArtifactPrefixObjects", Effect: "Allow", Action: OBJECT_ACTIONS, Resource: [`${bucketArn}/${prefix}*`] },
        ],
    };
}

/**
 * Read-only on the whole bucket, projects included: the backup's identity (components/backup),
 * which copies every object and must not be able to change or delete one.
 */
export function readOnlyBucketPolicy(bucketArn: string): PolicyDocument {
    if (!/^arn:aws[a-z-]*:s3:::[a-z0-9.-]{3,63}$/.test(bucketArn)) {
        throw new Error(`readOnlyBucketPolicy needs a bucket ARN, got ${JSON.stringify(bucketArn)}`);
    }
    return {
        Version: "2012-10-17",
        Statement: [
            { Sid: "BackupListing", Effect: "Allow", Action: ["s3:ListBucket", "s3:GetBucketLocation"], Resource: [bucketArn] },
            { Sid: "BackupRead", Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${bucketArn}/*`] },
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
 * Commands the bucket-init script may run: the shell and mc, nothing else. The pinned
 * quay.io/minio/mc image is built by minio/mc's Dockerfile.release (RELEASE.2025-08-13T08-35-41Z):
 * ubi9/ubi-micro plus /usr/bin/mc. ubi-micro has no package manager and no grep or sed
 * (minio/mc#4764, jfrog/charts#1721); the script does not rely on coreutils either (no cat,
 * no tr), so everything else is a builtin of sh: set, export, printf, read, case, echo, exit.
 */
export const BUCKET_INIT_COMMANDS = ["sh", "mc"] as const;

/**
 * The one-shot script run with MinIO's `mc` client once MinIO is healthy. Idempotent, so it
 * can run on every `pulumi up` and after `--replace`: creates the bucket, keeps it private,
 * and creates (or updates) the identity MLflow uses, limited to that bucket by `policy`.
 */
export function renderBucketInitScript(policy: PolicyDocument): string {
    const e = BUCKET_INIT_ENV;
    const json = JSON.stringify(policy, null, 2);
    if (json.split("\n").includes("POLICY")) throw new Error("policy document would end the heredoc early");
    return `#!/bin/sh
# Rendered by mlflow-platform (components/render/bucket.ts).
# Only sh and mc: the mc image is ubi-micro plus mc, without grep, sed or cat.
set -eu
# mc reads the alias from MC_HOST_<alias>, so the root password never becomes an argument.
scheme="\${${e.endpoint}%%://*}"
hostport="\${${e.endpoint}#*://}"
export MC_HOST_store="\${scheme}://\${${e.rootUser}}:\${${e.rootPassword}}@\${hostport}"

mc ready store
mc mb --ignore-existing "store/\${${e.bucket}}"
# Never public: remove any anonymous access a previous setup may have granted.
mc anonymous set private "store/\${${e.bucket}}"

# Written with shell builtins only. \`policy create\` replaces an existing policy of that name.
while IFS= read -r line; do printf '%s\\n' "$line"; done > /tmp/mlflow-policy.json <<'POLICY'
${json}
POLICY
mc admin policy create store "\${${e.policyName}}" /tmp/mlflow-policy.json
# The secret key goes in on standard input (printf is a shell builtin), not as an argument;
# for an existing user this sets the secret key of this deploy.
printf '%s\\n' "\${${e.secretKey}}" | mc admin user add store "\${${e.accessKey}}"
# Already attached on a re-run: mc since RELEASE.2024-10 exits 0 (minio/mc#5058), older mc
# exits 1 with "already in effect" (minio/mc#4670). Both mean the state we want.
if ! out=$(mc admin policy attach store "\${${e.policyName}}" --user "\${${e.accessKey}}" 2>&1); then
    case "$out" in
        *"already in effect"*) out="policy \${${e.policyName}} was already attached" ;;
        *) printf '%s\\n' "$out" >&2; exit 1 ;;
    esac
fi
printf '%s\\n' "$out"
mc admin user info store "\${${e.accessKey}}"
echo "bucket \${${e.bucket}} ready; identity \${${e.accessKey}} limited to it"
`;
}

/**
 * Error for a bucket-init container that exited non-zero. Its inputs are unchanged on the
 * next `pulumi up`, so Docker would not run it again: the message says where the output is
 * and how to run it again.
 */
export function bucketInitFailureMessage(exitCode: number, containerName: string, urn: string): string {
    return `bucket init exited with ${exitCode}. Its output: \`docker logs ${containerName}\`. ` +
        "It runs again only when its inputs change, so after fixing the cause (MinIO reachable and healthy, " +
        "mcImage, bucketName) run it again with: " +
        `pulumi up --replace '${urn}'`;
}
