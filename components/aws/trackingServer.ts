import * as pulumi from "@pulumi/pulumi";
import type { AwsTrackingServerArgs } from "../trackingServer";

export interface AwsTrackingServerOutputs {
    imageName: pulumi.Output<string>;
    ecrRepositoryUrl: pulumi.Output<string>;
    clusterName: pulumi.Output<string>;
    serviceName: pulumi.Output<string>;
}

export function buildAwsTrackingServer(parent: pulumi.Resource, name: string, args: AwsTrackingServerArgs & { workers: number }): AwsTrackingServerOutputs {
    throw new Error(`AWS tracking server is being built (issue 4): ${parent} ${name} ${args.platform}`);
}
