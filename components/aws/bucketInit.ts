import * as pulumi from "@pulumi/pulumi";
import type { AwsBucketInitArgs } from "../bucketInit";

export function buildAwsBucketInit(parent: pulumi.Resource, name: string, args: AwsBucketInitArgs): { policyArn: pulumi.Output<string> } {
    throw new Error(`AWS bucket init is being built (issue 4): ${parent} ${name} ${args.platform}`);
}
