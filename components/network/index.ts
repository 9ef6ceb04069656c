// The Network component: the class only; args and outputs are in ./types, each target's
// children in ./docker and ./aws.
import * as pulumi from "@pulumi/pulumi";
import type { Target, TargetedConstructor } from "../shared/target";
import { buildAwsNetwork } from "./aws";
import { buildDockerNetwork } from "./docker";
import { AwsNetworkOutputs, LocalNetworkOutputs, NETWORK_TYPE, NetworkArgs, NetworkOutputs } from "./types";

export * from "./types";

/**
 * Where the platform's parts talk to each other. Docker: one private bridge network, only
 * the proxy publishes a port. AWS: a VPC (new, two AZs, no NAT gateway; or existing) and the
 * security groups that admit load balancer -> proxy -> database and nothing else.
 */
class NetworkComponent extends pulumi.ComponentResource {
    constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
        super(NETWORK_TYPE, name, {}, opts);
        const o: Partial<LocalNetworkOutputs & AwsNetworkOutputs> = args.target === "local"
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

/** A Network whose outputs are those of target F. */
export type Network<F extends Target = Target> = NetworkComponent & NetworkOutputs[F];
export const Network: TargetedConstructor<NetworkArgs, NetworkComponent, NetworkOutputs> = NetworkComponent as TargetedConstructor<NetworkArgs, NetworkComponent, NetworkOutputs>;
