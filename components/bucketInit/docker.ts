// Docker bucket init: a one-shot `mc` container (bucket, private, limited MinIO user) that
// must exit 0 before the tracking server starts.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { envList, exitedZero, ONE_SHOT, pulledImage, roleLabels } from "../shared/docker";
import { artifactAccessPolicy, BUCKET_INIT_ENV, bucketInitFailureMessage, minioBucketArn, readOnlyBucketPolicy, renderBucketInitScript } from "./bucket";
import type { LocalBucketInitArgs, LocalBucketInitOutputs } from "./types";

export const BUCKET_INIT_SCRIPT_PATH = "/init/bucket-init.sh";

export function buildDockerBucketInit(parent: pulumi.Resource, name: string, args: LocalBucketInitArgs): LocalBucketInitOutputs {
    const accessKeyId = args.accessKeyId ?? "mlflow-tracking";
    const secretKey = new random.RandomPassword(`${name}-secret-key`, { length: 40, special: false }, { parent });
    const image = pulledImage(`${name}-image`, args.image, parent);
    const script = pulumi.output(args.bucketName).apply(b => renderBucketInitScript(args.readOnly ? readOnlyBucketPolicy(minioBucketArn(b)) : artifactAccessPolicy(minioBucketArn(b), args.prefix)));
    const e = BUCKET_INIT_ENV;
    const container = new docker.Container(`${name}-mc`, {
        name: `${name}-mc`,
        image: image.imageId,
        entrypoints: ["/bin/sh"],
        command: [BUCKET_INIT_SCRIPT_PATH],
        envs: envList({
            [e.endpoint]: args.endpointUrl,
            [e.rootUser]: args.rootUser,
            [e.rootPassword]: pulumi.secret(args.rootPassword),
            [e.bucket]: args.bucketName,
            [e.policyName]: `${accessKeyId}-artifacts`,
            [e.accessKey]: accessKeyId,
            [e.secretKey]: pulumi.secret(secretKey.result),
        }),
        uploads: [{ file: BUCKET_INIT_SCRIPT_PATH, content: script, executable: true }],
        networksAdvanced: [{ name: args.networkName }],
        labels: roleLabels(args.role ?? "bucket-init"),
        ...ONE_SHOT,
        // A fixed container name cannot exist twice (pulumi/pulumi-docker#1356).
    }, { parent, deleteBeforeReplace: true });
    const succeeded = exitedZero(container, (code, urn) => bucketInitFailureMessage(code, `${name}-mc`, urn));
    return {
        accessKeyId: succeeded.apply(() => accessKeyId),
        secretAccessKey: pulumi.secret(pulumi.all([succeeded, secretKey.result]).apply(([, s]) => s)),
    };
}
