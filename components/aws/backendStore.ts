import * as pulumi from "@pulumi/pulumi";
import type { AwsBackendStoreArgs } from "../backendStore";

export interface AwsBackendStoreOutputs {
    host: pulumi.Output<string>;
    port: pulumi.Output<number>;
    databaseName: pulumi.Output<string>;
    username: pulumi.Output<string>;
    secretArn: pulumi.Output<string>;
}

export function buildAwsBackendStore(parent: pulumi.Resource, name: string, args: AwsBackendStoreArgs & { databaseName: string }): AwsBackendStoreOutputs {
    throw new Error(`AWS backend store is being built (issue 4): ${parent} ${name} ${args.platform}`);
}
