// Docker network: one private bridge network; only the proxy publishes a port.
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { DockerNetworkOutputs } from "./types";

/** The Docker flavour takes no settings beyond its name. */
export function buildDockerNetwork(parent: pulumi.Resource, name: string): DockerNetworkOutputs {
    const network = new docker.Network(`${name}-net`, {
        name: `${name}-net`,
        driver: "bridge",
        labels: [{ label: "mlflow-platform/network", value: name }],
    }, { parent });
    return { dockerNetworkName: network.name };
}
