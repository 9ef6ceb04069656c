// Network args and outputs per target. Imported by the class and both target files.
import type * as pulumi from "@pulumi/pulumi";

export const NETWORK_TYPE = "mlflow:index:Network";

export interface LocalNetworkArgs {
    readonly target: "local";
    /**
     * Served models' names: one internal network per model, which only that model's container
     * and the proxy join, so it reaches the proxy's read-only registry port and nothing else:
     * not the platform, not another model, not the host, not the internet. Unset: none.
     */
    readonly servedModels?: readonly string[];
}

export interface AwsNetworkArgs {
    readonly target: "aws";
    /** Use these instead of creating a VPC. */
    readonly existingVpc?: {
        readonly vpcId: pulumi.Input<string>;
        readonly publicSubnetIds: pulumi.Input<string>[];
        readonly privateSubnetIds: pulumi.Input<string>[];
    };
    /** CIDR blocks admitted to the load balancer; ignored with `cloudFrontOnly`. */
    readonly ingressCidrs: pulumi.Input<string>[];
    /**
     * CloudFront is the front door: the load balancer admits its listener port from CloudFront's
     * origin-facing managed prefix list only, and no CIDR rule is created.
     */
    readonly cloudFrontOnly?: boolean;
    /** Ports the load balancer listens on (80, and 443 with a certificate). */
    readonly listenerPorts: number[];
    /** Port of the authenticating proxy in the task; the only port the load balancer reaches. */
    readonly proxyPort: number;
    /** Database port; reachable only from the tracking server's tasks. */
    readonly databasePort: number;
    /**
     * Served models: a security group for the model tasks, in from the load balancer
     * on the model sidecar's port, out to the tracking sidecar's read-only registry endpoint
     * (authProxy/registryReader.ts), never to MLflow's own port. Unset: no group and no rule is added.
     */
    readonly servingPorts?: { readonly modelProxy: number; readonly registryReader: number };
    /** Keep what a kept database cluster still uses on destroy: VPC, private subnets, database security group. */
    readonly retainDatabaseNetwork?: boolean;
    readonly tags?: Record<string, string>;
}

export type NetworkArgs = LocalNetworkArgs | AwsNetworkArgs;

export interface LocalNetworkOutputs {
    /** Docker network every container joins (model servers excepted). */
    readonly dockerNetworkName: pulumi.Output<string>;
    /** Each served model's network (servedModels' order), shared with the proxy only. */
    readonly servingNetworkNames?: pulumi.Output<string>[];
}

export interface AwsNetworkOutputs {
    readonly vpcId: pulumi.Output<string>;
    readonly publicSubnetIds: pulumi.Output<string[]>;
    readonly privateSubnetIds: pulumi.Output<string[]>;
    readonly loadBalancerSecurityGroupId: pulumi.Output<string>;
    readonly serviceSecurityGroupId: pulumi.Output<string>;
    readonly databaseSecurityGroupId: pulumi.Output<string>;
    /** The model tasks' group; only with servingPorts. */
    readonly modelSecurityGroupId?: pulumi.Output<string>;
}

export interface NetworkOutputs {
    readonly local: LocalNetworkOutputs;
    readonly aws: AwsNetworkOutputs;
}
