import * as pulumi from "@pulumi/pulumi";
import type { AwsAuthProxyArgs } from "../authProxy";

export interface AwsAuthProxyOutputs {
    url: pulumi.Output<string>;
    nginxConfig: pulumi.Output<string>;
    publicHosts: pulumi.Output<string[]>;
    loadBalancerDnsName: pulumi.Output<string>;
    targetGroupArn: pulumi.Output<string>;
    htpasswdSecretArn: pulumi.Output<string>;
}

export function buildAwsAuthProxy(
    parent: pulumi.Resource, name: string,
    args: AwsAuthProxyArgs & { maxUploadSize: string; timeoutSeconds: number; htpasswd: pulumi.Output<string> },
): AwsAuthProxyOutputs {
    throw new Error(`AWS auth proxy is being built (issue 4): ${parent} ${name} ${args.platform}`);
}
