// AWS bucket init: the IAM policy the tracking server's task role gets, rendered by the same
// function that writes the MinIO policy, so both targets grant exactly the same actions.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsBucketInitArgs, AwsBucketInitOutputs } from "./types";
import { artifactAccessPolicy } from "./bucket";

export function buildAwsBucketInit(parent: pulumi.Resource, name: string, args: AwsBucketInitArgs): AwsBucketInitOutputs {
    const prefix = args.prefix;
    const policy = new aws.iam.Policy(`${name}-artifact-access`, {
        // Kept word for word: a changed description replaces the policy (ForceNew), the document updates in place.
        description: prefix === undefined
            ? pulumi.interpolate`MLflow tracking server: objects in s3://${args.bucketName} only`
            : pulumi.interpolate`MLflow project server: objects under s3://${args.bucketName}/${prefix} only`,
        policy: pulumi.output(args.bucketArn).apply(arn => JSON.stringify(prefix === undefined ? artifactAccessPolicy(arn) : artifactAccessPolicy(arn, prefix))),
        tags: args.tags ?? {},
    }, { parent });
    return { policyArn: policy.arn };
}
