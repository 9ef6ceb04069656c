// The BucketInit component: the class only; args and outputs are in ./types, each target's
// children in ./docker and ./aws.
import * as pulumi from "@pulumi/pulumi";
import type { Target, TargetedConstructor } from "../shared/target";
import { buildAwsBucketInit } from "./aws";
import { buildDockerBucketInit } from "./docker";
import { AwsBucketInitOutputs, BUCKET_INIT_TYPE, BucketInitArgs, BucketInitOutputs, LocalBucketInitOutputs } from "./types";

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
        const o: Partial<LocalBucketInitOutputs & AwsBucketInitOutputs> = args.target === "local"
            ? buildDockerBucketInit(this, name, args)
            : buildAwsBucketInit(this, name, args);
        Object.assign(this, o);
        this.registerOutputs({ accessKeyId: o.accessKeyId, policyArn: o.policyArn });
    }
}

/** A BucketInit whose outputs are those of target F. */
export type BucketInit<F extends Target = Target> = BucketInitComponent & BucketInitOutputs[F];
export const BucketInit = BucketInitComponent as TargetedConstructor<BucketInitArgs, BucketInitComponent, BucketInitOutputs>;
