// Docker network: one private bridge network; only the proxy publishes a port.
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import type { DockerNetworkArgs, DockerNetworkOutputs } from "./types";

/** The platform network, and with served models the serving network beside it. */
export function buildDockerNetwork(parent: pulumi.Resource, name: string, args: DockerNetworkArgs): DockerNetworkOutputs {
    const network = new docker.Network(`${name}-net`, {
        name: `${name}-net`,
        driver: "bridge",
        labels: [{ label: "mlflow-platform/network", value: name }],
    }, { parent });
    if (!args.serving) return { dockerNetworkName: network.name };
    // Model servers and the proxy only: no route from a model container to MLflow's own port,
    // MinIO or the database, which are on the platform network alone. Not `internal`: a model's
    // code may call out (an API at prediction time), which an internal network would cut.
    const serving = new docker.Network(`${name}-serving-net`, {
        name: `${name}-serving-net`,
        driver: "bridge",
        labels: [{ label: "mlflow-platform/network", value: `${name}-serving` }],
    }, { parent });
    return { dockerNetworkName: network.name, servingNetworkName: serving.name };
}
