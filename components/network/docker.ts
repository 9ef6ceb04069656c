// Docker network: one private bridge network; only the proxy publishes a port.
import * as docker from "@pulumi/docker";
import type * as pulumi from "@pulumi/pulumi";
import { modelSlug } from "../modelServer/serving";
import type { LocalNetworkArgs, LocalNetworkOutputs } from "./types";

/**
 * A served model's network: `internal` (no route off the bridge, so no internet and no other
 * network) and no address on the host's side of the bridge (inhibit_ipv4), without which an
 * internal network still reaches whatever listens on the host's INADDR_ANY, published ports
 * included (Docker docs, bridge driver options; moby "Make 'internal' bridge networks
 * accessible from host", 25.0.4).
 */
export const MODEL_NETWORK_OPTIONS = { "com.docker.network.bridge.inhibit_ipv4": "true" };

/** The platform network, and with served models one network per model beside it. */
export function buildDockerNetwork(parent: pulumi.Resource, name: string, args: LocalNetworkArgs): LocalNetworkOutputs {
    const network = new docker.Network(`${name}-net`, {
        name: `${name}-net`,
        driver: "bridge",
        labels: [{ label: "mlflow-platform/network", value: name }],
    }, { parent });
    if (args.servedModels === undefined) return { dockerNetworkName: network.name };
    // Each model server and the proxy only: no route from a model container to MLflow's own
    // port, MinIO, the database, another model's unauthenticated ports or the host.
    const serving = args.servedModels.map(model => new docker.Network(`${name}-serving-${modelSlug(model)}-net`, {
        name: `${name}-serving-${modelSlug(model)}-net`,
        driver: "bridge",
        internal: true,
        options: MODEL_NETWORK_OPTIONS,
        labels: [{ label: "mlflow-platform/network", value: `${name}-serving` }, { label: "mlflow-platform/model", value: model }],
    }, { parent }));
    return { dockerNetworkName: network.name, servingNetworkNames: serving.map(n => n.name) };
}
