import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { buildAwsBucketInit } from "./aws/bucketInit";
import { envList, pulledImage, roleLabels } from "./docker/common";
import { artifactAccessPolicy, BUCKET_INIT_ENV, bucketInitFailureMessage, minioBucketArn, renderBucketInitScript } from "./render/bucket";

export const BUCKET_INIT_SCRIPT_PATH = "/init/bucket-init.sh";

export interface DockerBucketInitArgs {
    readonly platform: "docker";
    readonly bucketName: pulumi.Input<string>;
    readonly networkName: pulumi.Input<string>;
    /** Pinned MinIO client (mc) image. */
    readonly image: pulumi.Input<string>;
    readonly endpointUrl: pulumi.Input<string>;
    readonly rootUser: pulumi.Input<string>;
    readonly rootPassword: pulumi.Input<string>;
    /** Access key of the identity MLflow uses (default "mlflow-tracking"). */
    readonly accessKeyId?: string;
}

export interface AwsBucketInitArgs {
    readonly platform: "aws";
    readonly bucketName: pulumi.Input<string>;
    readonly bucketArn: pulumi.Input<string>;
    readonly tags?: Record<string, string>;
}

export type BucketInitArgs = DockerBucketInitArgs | AwsBucketInitArgs;

/**
 * Makes the artifact bucket ready for MLflow and creates the least-privilege identity MLflow
 * uses. Docker: a one-shot `mc` container (bucket, private, limited MinIO user) that must
 * exit 0 before the tracking server starts. AWS: an IAM policy scoped to the bucket, for
 * the tracking server's task role.
 */
export class BucketInit extends pulumi.ComponentResource {
    /** Identity for MLflow (docker flavour); resolves only after the init container exited 0. */
    readonly accessKeyId?: pulumi.Output<string>;
    readonly secretAccessKey?: pulumi.Output<string>;
    /** IAM policy granting object access to the bucket only (aws flavour). */
    readonly policyArn?: pulumi.Output<string>;

    constructor(name: string, args: BucketInitArgs, opts?: pulumi.ComponentResourceOptions) {
        super("mlflow:index:BucketInit", name, {}, opts);
        if (args.platform === "docker") {
            const accessKeyId = args.accessKeyId ?? "mlflow-tracking";
            const secretKey = new random.RandomPassword(`${name}-secret-key`, { length: 40, special: false }, { parent: this });
            const image = pulledImage(`${name}-image`, args.image, this);
            const script = pulumi.output(args.bucketName).apply(b => renderBucketInitScript(artifactAccessPolicy(minioBucketArn(b))));
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
                labels: roleLabels("bucket-init"),
                // One-shot: run to completion during `pulumi up`, leave it stopped afterwards.
                mustRun: false,
                attach: true,
                logs: true,
                restart: "no",
            }, { parent: this });
            const succeeded = pulumi.all([container.exitCode, container.urn]).apply(([code, urn]) => {
                if (code !== undefined && code !== null && code !== 0) throw new Error(bucketInitFailureMessage(code, `${name}-mc`, urn));
                return code;
            });
            this.accessKeyId = succeeded.apply(() => accessKeyId);
            this.secretAccessKey = pulumi.secret(pulumi.all([succeeded, secretKey.result]).apply(([, s]) => s));
        } else {
            this.policyArn = buildAwsBucketInit(this, name, args).policyArn;
        }
        this.registerOutputs({ accessKeyId: this.accessKeyId, policyArn: this.policyArn });
    }
}
