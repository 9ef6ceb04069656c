// The BucketInit component: the class only; args and outputs are in ./types, each flavour's
// children in ./docker and ./aws.
import * as pulumi from "@pulumi/pulumi";
import type { Flavour, FlavouredConstructor } from "../flavour";
import { buildAwsBucketInit } from "./aws";
import { buildDockerBucketInit } from "./docker";
import { AwsBucketInitOutputs, BUCKET_INIT_TYPE, BucketInitArgs, BucketInitOutputs, DockerBucketInitOutputs } from "./types";

export * from "./types";

/**
 * Makes the artifact bucket ready for MLflow and creates the least-privilege identity MLflow
 * uses. Docker: a one-shot `mc` container (bucket, private, limited MinIO user) that must
 * exit 0 before the tracking server starts. AWS: an IAM policy scoped to the bucket, for
 * the tracking server's task role.
 */
class BucketInitComponent extends pulumi.ComponentResource {
    constructor(name: string, args: BucketInitArgs, opts?: pulumi.ComponentResourceOptions) {
        super(BUCKET_INIT_TYPE, name, {}, opts);
        const o: Partial<DockerBucketInitOutputs & AwsBucketInitOutputs> = args.platform === "docker"
            ? buildDockerBucketInit(this, name, args)
            : buildAwsBucketInit(this, name, args);
        Object.assign(this, o);
        this.registerOutputs({ accessKeyId: o.accessKeyId, policyArn: o.policyArn });
    }
}

/** A BucketInit whose outputs are those of flavour F. */
export type BucketInit<F extends Flavour = Flavour> = BucketInitComponent & BucketInitOutputs[F];
export const BucketInit = BucketInitComponent as FlavouredConstructor<BucketInitArgs, BucketInitComponent, BucketInitOutputs>;
