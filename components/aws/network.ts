import * as pulumi from "@pulumi/pulumi";
import type { AwsNetworkArgs } from "../network";

export interface AwsNetworkOutputs {
    vpcId: pulumi.Output<string>;
    publicSubnetIds: pulumi.Output<string[]>;
    privateSubnetIds: pulumi.Output<string[]>;
    loadBalancerSecurityGroupId: pulumi.Output<string>;
    serviceSecurityGroupId: pulumi.Output<string>;
    databaseSecurityGroupId: pulumi.Output<string>;
}

export function buildAwsNetwork(parent: pulumi.Resource, name: string, args: AwsNetworkArgs): AwsNetworkOutputs {
    throw new Error(`AWS network is being built (issue 4): ${parent} ${name} ${args.platform}`);
}
