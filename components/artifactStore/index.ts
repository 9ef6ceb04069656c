// The ArtifactStore component: the class only; args and outputs are in ./types, each
// target's children in ./docker and ./aws.
import * as pulumi from "@pulumi/pulumi";
import type { Target, TargetedConstructor } from "../shared/target";
import { buildAwsArtifactStore } from "./aws";
import { buildDockerArtifactStore } from "./docker";
import { ARTIFACT_STORE_TYPE, ArtifactStoreArgs, ArtifactStoreOutputs, LocalArtifactStoreOutputs } from "./types";

export * from "./types";

/**
 * Object storage for MLflow artifacts. Docker: MinIO with a named volume and generated root
 * credentials (used only by BucketInit). AWS: an encrypted, versioned, private S3 bucket.
 */
class ArtifactStoreComponent extends pulumi.ComponentResource {
    constructor(name: string, args: ArtifactStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super(ARTIFACT_STORE_TYPE, name, {}, opts);
        const o: Partial<LocalArtifactStoreOutputs> & ArtifactStoreOutputs["aws"] = args.target === "local"
            ? buildDockerArtifactStore(this, name, args)
            : buildAwsArtifactStore(this, name, args);
        Object.assign(this, o);
        this.registerOutputs({
            bucketName: o.bucketName,
            bucketArn: o.bucketArn,
            s3EndpointUrl: o.s3EndpointUrl,
            consoleUrl: o.consoleUrl,
        });
    }
}

/** An ArtifactStore whose outputs are those of target F. */
export type ArtifactStore<F extends Target = Target> = ArtifactStoreComponent & ArtifactStoreOutputs[F];
export const ArtifactStore = ArtifactStoreComponent as TargetedConstructor<ArtifactStoreArgs, ArtifactStoreComponent, ArtifactStoreOutputs>;
