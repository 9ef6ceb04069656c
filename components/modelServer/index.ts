// The ModelServer component: the class only; args and outputs are in ./types, each target's
// children in ./docker and ./aws.
import * as pulumi from "@pulumi/pulumi";
import type { Target, TargetedConstructor } from "../shared/target";
import { buildAwsModelServer } from "./aws";
import { buildDockerModelServer } from "./docker";
import { MODEL_SERVER_TYPE, ModelServerArgs, ModelServerOutputs } from "./types";

export * from "./types";

/**
 * One registered model served over REST at an alias (`mlflow models serve` under the supervisor
 * images/tracking-server/serve_model.py), following the alias without `pulumi up`. Docker: it
 * reads the registry with its own reader account through the proxy's read-only endpoint
 * (authProxy/registryReader.ts), on a network it shares with the proxy only. Reached only
 * through the authenticating proxy at /models/<name>/ (on AWS: an ECS service behind the
 * tracking server's load balancer, with its own nginx sidecar and the same htpasswd secret).
 */
class ModelServerComponent extends pulumi.ComponentResource {
    constructor(name: string, args: ModelServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super(MODEL_SERVER_TYPE, name, {}, opts);
        if (args.target === "local") {
            const o = buildDockerModelServer(this, name, args);
            Object.assign(this, o);
            this.registerOutputs({ containerId: o.containerId });
        } else {
            const o = buildAwsModelServer(this, name, args);
            Object.assign(this, o);
            this.registerOutputs({ serviceName: o.serviceName });
        }
    }
}

/** A ModelServer whose outputs are those of target F. */
export type ModelServer<F extends Target = Target> = ModelServerComponent & ModelServerOutputs[F];
export const ModelServer = ModelServerComponent as TargetedConstructor<ModelServerArgs, ModelServerComponent, ModelServerOutputs>;
