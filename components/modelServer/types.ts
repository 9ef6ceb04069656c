// ModelServer args and outputs. Imported by the class and the flavour file.
// Only the Docker flavour exists so far: the AWS one (an ECS service per model behind the load
// balancer) is not built, and the config refuses servedModels on target aws (README, "Serving models").
import type * as pulumi from "@pulumi/pulumi";
import type { ModelRoute, ServedModel } from "../render/serving";

export const MODEL_SERVER_TYPE = "mlflow:index:ModelServer";

export interface DockerModelServerArgs {
    readonly platform: "docker";
    readonly networkName: pulumi.Input<string>;
    /** The tracking-server image (it carries the supervisor and the scoring server's libraries). */
    readonly image: pulumi.Input<string>;
    /** host:port of MLflow on the Docker network: its internal, unauthenticated port. */
    readonly trackingUpstream: pulumi.Input<string>;
    readonly model: ServedModel;
    /** Scoring-server workers. */
    readonly workers: number;
    /** Seconds between alias look-ups. */
    readonly pollSeconds: number;
}

export type ModelServerArgs = DockerModelServerArgs;

export interface DockerModelServerOutputs {
    /** What the proxy routes to /models/<name>/. */
    readonly route: ModelRoute;
    /** The container's id: a new one replaces the proxy, which resolved the old address once. */
    readonly containerId: pulumi.Output<string>;
}
