// ModelServer args and outputs. Imported by the class and the target file.
import type * as aws from "@pulumi/aws";
import type * as pulumi from "@pulumi/pulumi";
import type { CpuArchitecture } from "../config";
import type { ModelRoute, ServedModel } from "./serving";

export const MODEL_SERVER_TYPE = "mlflow:index:ModelServer";

export interface LocalModelServerArgs {
    readonly target: "local";
    /** This model's own network (Network servingNetworkNames): the proxy is all the container reaches. */
    readonly networkName: pulumi.Input<string>;
    /** Hard memory limit of the container in MiB (no swap beyond it): servingMemoryMb. */
    readonly memoryMb: number;
    /** The tracking-server image (it carries the supervisor and the scoring server's libraries). */
    readonly image: pulumi.Input<string>;
    /** The proxy's read-only registry endpoint, http://host:port (authProxy/registryReader.ts). */
    readonly registryUri: string;
    readonly model: ServedModel;
    /** Scoring-server workers. */
    readonly workers: number;
    /** Seconds between alias look-ups. */
    readonly pollSeconds: number;
}

export interface AwsModelServerArgs {
    readonly target: "aws";
    readonly region: string;
    readonly model: ServedModel;
    readonly workers: number;
    readonly pollSeconds: number;
    /** The tracking-server image in ECR, and its repository (the execution role may pull from it only). */
    readonly image: pulumi.Input<string>;
    readonly ecrRepositoryArn: pulumi.Input<string>;
    /** The tracking sidecar's read-only registry endpoint at its Cloud Map name (internalTrackingUri). */
    readonly trackingUri: pulumi.Input<string>;
    /**
     * The model's read-only login on that endpoint (AuthProxy registryReaders): the password goes
     * into the model's own Secrets Manager secret, which only this model's execution role reads.
     */
    readonly reader: { readonly username: string; readonly password: pulumi.Input<string> };
    /** The tracking server's cluster: model services run next to it. */
    readonly clusterName: pulumi.Input<string>;
    readonly vpcId: pulumi.Input<string>;
    /** The tracking server's forwarding listener: the model's path rule goes on it. */
    readonly listenerArn: pulumi.Input<string>;
    /** Further conditions of that rule besides the path (AuthProxy originConditions: CloudFront's secret header). */
    readonly listenerConditions?: pulumi.Input<pulumi.Input<aws.types.input.lb.ListenerRuleCondition>[]>;
    readonly subnetIds: pulumi.Input<pulumi.Input<string>[]>;
    /** The model tasks' security group (Network servingPorts). */
    readonly securityGroupId: pulumi.Input<string>;
    readonly assignPublicIp: boolean;
    readonly proxy: {
        readonly image: string;
        /** renderModelProxyConfig for this model. */
        readonly config: pulumi.Input<string>;
        /** The tracking proxy's htpasswd secret and version: one password for MLflow and the models. */
        readonly htpasswdSecretArn: pulumi.Input<string>;
        readonly htpasswdVersionId: pulumi.Input<string>;
    };
    readonly cpu: number;
    readonly memory: number;
    readonly architecture: CpuArchitecture;
    readonly minTasks: number;
    readonly maxTasks: number;
    readonly logRetentionDays: number;
    readonly tags?: Record<string, string>;
}

export type ModelServerArgs = LocalModelServerArgs | AwsModelServerArgs;

export interface AwsModelServerOutputs {
    readonly route: { readonly name: string; readonly path: string };
    readonly serviceName: pulumi.Output<string>;
    /** CloudWatch's TargetGroup dimension of its target group, for its alarms. */
    readonly targetGroupArnSuffix: pulumi.Output<string>;
}

export interface LocalModelServerOutputs {
    /** What the proxy routes to /models/<name>/. */
    readonly route: ModelRoute;
    /** The container's id: a new one replaces the proxy, which resolved the old address once. */
    readonly containerId: pulumi.Output<string>;
    /** Its reader account's htpasswd line (secret), for the proxy's read-only registry endpoint. */
    readonly readerHtpasswdLine: pulumi.Output<string>;
}

export interface ModelServerOutputs {
    readonly local: LocalModelServerOutputs;
    readonly aws: AwsModelServerOutputs;
}
