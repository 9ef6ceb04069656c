import * as pulumi from "@pulumi/pulumi";
import type { AwsArtifactStoreArgs } from "../artifactStore";

export interface AwsArtifactStoreOutputs {
    bucketName: pulumi.Output<string>;
    bucketArn: pulumi.Output<string>;
}

export function buildAwsArtifactStore(parent: pulumi.Resource, name: string, args: AwsArtifactStoreArgs): AwsArtifactStoreOutputs {
    throw new Error(`AWS artifact store is being built (issue 4): ${parent} ${name} ${args.platform}`);
}
