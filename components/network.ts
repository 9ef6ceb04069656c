import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { buildAwsNetwork } from "./aws/network";

export interface DockerNetworkArgs {
    readonly platform: "docker";
}

export interface AwsNetworkArgs {
    readonly platform: "aws";
    /** Use these instead of creating a VPC. */
    readonly existingVpc?: {
        readonly vpcId: pulumi.Input<string>;
        readonly publicSubnetIds: pulumi.Input<string>[];
        readonly privateSubnetIds: pulumi.Input<string>[];
    };
    /** CIDR blocks admitted to the load balancer. */
    readonly ingressCidrs: pulumi.Input<string>[];
    /** Ports the load balancer listens on (80, and 443 with a certificate). */
    readonly listenerPorts: number[];
    /** Port of the authenticating proxy in the task; the only port the load balancer reaches. */
    readonly proxyPort: number;
    /** Database port; reachable only from the tracking server's tasks. */
    readonly databasePort: number;
    /** Keep what a kept database cluster still uses on destroy: VPC, private subnets, database security group. */
    readonly retainDatabaseNetwork?: boolean;
    readonly tags?: Record<string, string>;
}

export type NetworkArgs = DockerNetworkArgs | AwsNetworkArgs;

/**
 * Where the platform's parts talk to each other. Docker: one private bridge network, only
 * the proxy publishes a port. AWS: a VPC (new, two AZs, no NAT gateway; or existing) and the
 * security groups that admit load balancer -> proxy -> database and nothing else.
 */
export class Network extends pulumi.ComponentResource {
    /** Docker network name (docker flavour). */
    readonly dockerNetworkName?: pulumi.Output<string>;
    readonly vpcId?: pulumi.Output<string>;
    readonly publicSubnetIds?: pulumi.Output<string[]>;
    readonly privateSubnetIds?: pulumi.Output<string[]>;
    readonly loadBalancerSecurityGroupId?: pulumi.Output<string>;
    readonly serviceSecurityGroupId?: pulumi.Output<string>;
    readonly databaseSecurityGroupId?: pulumi.Output<string>;

    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlflow:index:Network", name, {}, opts);
        if (args.platform === "docker") {
            const network = new docker.Network(`${name}-net`, {
                name: `${name}-net`,
                driver: "bridge",
                labels: [{ label: "mlflow-platform/network", value: name }],
            }, { parent: this });
            this.dockerNetworkName = network.name;
        } else {
            const aws = buildAwsNetwork(this, name, args);
            this.vpcId = aws.vpcId;
            this.publicSubnetIds = aws.publicSubnetIds;
            this.privateSubnetIds = aws.privateSubnetIds;
            this.loadBalancerSecurityGroupId = aws.loadBalancerSecurityGroupId;
            this.serviceSecurityGroupId = aws.serviceSecurityGroupId;
            this.databaseSecurityGroupId = aws.databaseSecurityGroupId;
        }
        this.registerOutputs({
            dockerNetworkName: this.dockerNetworkName,
            vpcId: this.vpcId,
            publicSubnetIds: this.publicSubnetIds,
            privateSubnetIds: this.privateSubnetIds,
        });
    }
}
