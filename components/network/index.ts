// The Network component: the class only; args and outputs are in ./types, each flavour's
// children in ./docker and ./aws.
import * as pulumi from "@pulumi/pulumi";
import type { Flavour, FlavouredConstructor } from "../flavour";
import { buildAwsNetwork } from "./aws";
import { buildDockerNetwork } from "./docker";
import { AwsNetworkOutputs, DockerNetworkOutputs, NETWORK_TYPE, NetworkArgs, NetworkOutputs } from "./types";

export * from "./types";

/**
 * Where the platform's parts talk to each other. Docker: one private bridge network, only
 * the proxy publishes a port. AWS: a VPC (new, two AZs, no NAT gateway; or existing) and the
 * security groups that admit load balancer -> proxy -> database and nothing else.
 */
class NetworkComponent extends pulumi.ComponentResource {
    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super(NETWORK_TYPE, name, {}, opts);
        const o: Partial<DockerNetworkOutputs & AwsNetworkOutputs> = args.platform === "docker"
            ? buildDockerNetwork(this, name, args)
            : buildAwsNetwork(this, name, args);
        Object.assign(this, o);
        this.registerOutputs({
            dockerNetworkName: o.dockerNetworkName,
            servingNetworkNames: o.servingNetworkNames,
            vpcId: o.vpcId,
            publicSubnetIds: o.publicSubnetIds,
            privateSubnetIds: o.privateSubnetIds,
        });
    }
}

/** A Network whose outputs are those of flavour F. */
export type Network<F extends Flavour = Flavour> = NetworkComponent & NetworkOutputs[F];
export const Network: FlavouredConstructor<NetworkArgs, NetworkComponent, NetworkOutputs> = NetworkComponent as FlavouredConstructor<NetworkArgs, NetworkComponent, NetworkOutputs>;
