// The TrackingServer component: the class only; args and outputs are in ./types, each
// target's children in ./docker and ./aws.
import * as pulumi from "@pulumi/pulumi";
import type { Target, TargetedConstructor } from "../shared/target";
import { buildAwsTrackingServer } from "./aws";
import { buildDockerTrackingServer } from "./docker";
import { AwsTrackingServerOutputs, TRACKING_SERVER_TYPE, TrackingServerArgs, TrackingServerCommonOutputs, TrackingServerOutputs } from "./types";

export * from "./types";

/**
 * The MLflow tracking server and model registry, from the image in images/tracking-server,
 * serving artifacts by proxy so clients need no storage credentials. Every setting and
 * credential reaches it through the environment; the command line holds none.
 */
class TrackingServerComponent extends pulumi.ComponentResource {
    constructor(name: string, args: TrackingServerArgs, opts?: pulumi.ComponentResourceOptions) {
        super(TRACKING_SERVER_TYPE, name, {}, opts);
        const workers = args.workers ?? 4;
        const o: Partial<AwsTrackingServerOutputs> & TrackingServerCommonOutputs = args.target === "local"
            ? buildDockerTrackingServer(this, name, { ...args, workers })
            : buildAwsTrackingServer(this, name, { ...args, workers });
        Object.assign(this, o);
        this.registerOutputs({
            upstream: o.upstream,
            imageName: o.imageName,
            ecrRepositoryUrl: o.ecrRepositoryUrl,
            clusterName: o.clusterName,
            serviceName: o.serviceName,
        });
    }
}

/** A TrackingServer whose outputs are those of target F. */
export type TrackingServer<F extends Target = Target> = TrackingServerComponent & TrackingServerOutputs[F];
export const TrackingServer = TrackingServerComponent as TargetedConstructor<TrackingServerArgs, TrackingServerComponent, TrackingServerOutputs>;
