// The ArtifactStore component: the class only; args and outputs are in ./types, each
// flavour's children in ./docker and ./aws.
import * as pulumi from "@pulumi/pulumi";
import type { Flavour, FlavouredConstructor } from "../flavour";
import { buildAwsArtifactStore } from "./aws";
import { buildDockerArtifactStore } from "./docker";
import { ARTIFACT_STORE_TYPE, ArtifactStoreArgs, ArtifactStoreOutputs, DockerArtifactStoreOutputs } from "./types";

export * from "./types";

/**
 * Object storage for MLflow artifacts. Docker: MinIO with a named volume and generated root
 * credentials (used only by BucketInit). AWS: an encrypted, versioned, private S3 bucket.
 */
class ArtifactStoreComponent extends pulumi.ComponentResource {
    constructor(name: string, args: ArtifactStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super(ARTIFACT_STORE_TYPE, name, {}, opts);
        const o: Partial<DockerArtifactStoreOutputs> & ArtifactStoreOutputs["aws"] = args.platform === "docker"
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

/** An ArtifactStore whose outputs are those of flavour F. */
export type ArtifactStore<F extends Flavour = Flavour> = ArtifactStoreComponent & ArtifactStoreOutputs[F];
export const ArtifactStore = ArtifactStoreComponent as FlavouredConstructor<ArtifactStoreArgs, ArtifactStoreComponent, ArtifactStoreOutputs>;
