// The ModelServer component: the class only; args and outputs are in ./types, the Docker
// flavour's children in ./docker.
import * as pulumi from "@pulumi/pulumi";
import type { ModelRoute } from "../render/serving";
import { buildDockerModelServer } from "./docker";
import { MODEL_SERVER_TYPE, ModelServerArgs } from "./types";

export * from "./types";

/**
 * One registered model served over REST at an alias (`mlflow models serve` under the supervisor
 * images/tracking-server/serve_model.py), following the alias without `pulumi up`. Reached only
 * through the authenticating proxy at /models/<name>/.
 */
export class ModelServer extends pulumi.ComponentResource {
    readonly route!: ModelRoute;
    readonly containerId!: pulumi.Output<string>;

    constructor(name: string, args: ModelServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super(MODEL_SERVER_TYPE, name, {}, opts);
        const o = buildDockerModelServer(this, name, args);
        Object.assign(this, o);
        this.registerOutputs({ containerId: o.containerId });
    }
}
