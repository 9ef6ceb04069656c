// AWS artifact store: a private, encrypted, versioned S3 bucket reachable over TLS only.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsArtifactStoreArgs, AwsArtifactStoreOutputs } from "./types";

/** Incomplete multipart uploads (interrupted large artifact uploads) are removed after this many days. */
export const ABORT_INCOMPLETE_UPLOADS_DAYS = 7;

export function buildAwsArtifactStore(parent: pulumi.Resource, name: string, args: AwsArtifactStoreArgs): AwsArtifactStoreOutputs {
    const retainOnDelete = args.retainOnDelete ?? true;
    const tags = args.tags ?? {};
    // The bucket's protections stay with a kept bucket: deleting BucketVersioning would suspend
    // versioning, and the encryption, public access block, TLS-only policy and lifecycle would go.
    const opts = { parent, retainOnDelete };
    const bucket = new aws.s3.Bucket(`${name}-bucket`, {
        // Undefined: Pulumi auto-names the bucket from the resource name plus a random suffix.
        bucket: args.bucketName,
        // Only when the data is not to be kept: lets `pulumi destroy` empty a versioned bucket.
        forceDestroy: !retainOnDelete,
        tags,
    }, { parent, retainOnDelete });
    const b = { bucket: bucket.id };

    new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-encryption`, {
        ...b,
        rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    }, opts);
    new aws.s3.BucketVersioning(`${name}-versioning`, {
        ...b,
        versioningConfiguration: { status: "Enabled" },
    }, opts);
    const publicAccessBlock = new aws.s3.BucketPublicAccessBlock(`${name}-public-access-block`, {
        ...b,
        blockPublicAcls: true,
        blockPublicPolicy: true,
        ignorePublicAcls: true,
        restrictPublicBuckets: true,
    }, opts);
    new aws.s3.BucketOwnershipControls(`${name}-ownership`, {
        ...b,
        rule: { objectOwnership: "BucketOwnerEnforced" },
    }, opts);
    new aws.s3.BucketPolicy(`${name}-tls-only`, {
        ...b,
        policy: bucket.arn.apply(arn => JSON.stringify(tlsOnlyPolicy(arn))),
    // S3 evaluates a new bucket policy against the public access block: write it after the block exists.
    }, { ...opts, dependsOn: [publicAccessBlock] });
    new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, {
        ...b,
        rules: [
            {
                id: "expire-noncurrent-versions",
                status: "Enabled",
                filter: {},
                noncurrentVersionExpiration: { noncurrentDays: args.noncurrentVersionExpirationDays ?? 30 },
            },
            {
                // A deleted object leaves a delete marker over its versions; once those have
                // expired, the marker is all that is left: remove it too (no Days allowed here).
                id: "remove-expired-delete-markers",
                status: "Enabled",
                filter: {},
                expiration: { expiredObjectDeleteMarker: true },
            },
            {
                id: "abort-incomplete-multipart-uploads",
                status: "Enabled",
                filter: {},
                abortIncompleteMultipartUpload: { daysAfterInitiation: ABORT_INCOMPLETE_UPLOADS_DAYS },
            },
        ],
    }, opts);

    return { bucketName: bucket.bucket, bucketArn: bucket.arn };
}

/** Denies every request that does not use TLS; grants nothing (access comes from IAM). */
export function tlsOnlyPolicy(bucketArn: string) {
    return {
        Version: "2012-10-17",
        Statement: [{
            Sid: "DenyInsecureTransport",
            Effect: "Deny",
            Principal: "*",
            Action: "s3:*",
            Resource: [bucketArn, `${bucketArn}/*`],
            Condition: { Bool: { "aws:SecureTransport": "false" } },
        }],
    };
}
