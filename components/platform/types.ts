// MlflowPlatform's args and outputs: the validated stack config as a typed contract, so a
// program other than ours can build the same platform (docs/library.md).
import type * as pulumi from "@pulumi/pulumi";
import type { AwsPlatformConfig, AwsSettings, LocalPlatformConfig } from "../config/types";

export const MLFLOW_PLATFORM_TYPE = "mlflow:index:MlflowPlatform";

/** A VPC of the caller's: its ids may be outputs of resources in the same program. */
export interface ExistingVpc {
    readonly vpcId: pulumi.Input<string>;
    readonly publicSubnetIds: pulumi.Input<string>[];
    readonly privateSubnetIds: pulumi.Input<string>[];
}

export type LocalPlatformArgs = LocalPlatformConfig;

export type AwsPlatformArgs = Omit<AwsPlatformConfig, "aws"> & {
    readonly aws: Omit<AwsSettings, "existingVpc"> & { readonly existingVpc?: ExistingVpc };
};

/**
 * Everything the stack config can say, validated and with defaults applied: build it with
 * `platformArgs` (the same rules and errors as `pulumi config`) or write it out in full.
 * `target` tells which settings it carries.
 */
export type MlflowPlatformArgs = LocalPlatformArgs | AwsPlatformArgs;

/** How a project's MLflow clients log in. */
export interface ProjectLogin {
    readonly trackingUri: string;
    readonly username: string;
    readonly password: string;
}

/** What the target's builder hands back to the component; optional members exist only on one target or with a feature. */
export interface PlatformOutputs {
    readonly trackingUri: pulumi.Output<string>;
    readonly username: pulumi.Output<string>;
    readonly password: pulumi.Output<string>;
    readonly artifactBucket: pulumi.Output<string>;
    readonly backendEngine: string;
    readonly minioConsoleUrl?: pulumi.Output<string | undefined>;
    readonly ecrRepositoryUrl?: pulumi.Output<string>;
    readonly databaseEndpoint?: pulumi.Output<string>;
    readonly databaseSecretArn?: pulumi.Output<string>;
    /** Project name -> its login; secret as a whole (it holds the passwords). */
    readonly projects?: pulumi.Output<Record<string, ProjectLogin>>;
    /** Served model name -> invocation URL. */
    readonly servedModels?: pulumi.Output<Record<string, string>>;
    /** With users only: name -> role and projects (not secret). */
    readonly users?: pulumi.Output<Record<string, { readonly role: string; readonly projects: readonly string[] }>>;
    /** With users only: name -> that user's password, each secret. */
    readonly userPasswords?: Record<string, pulumi.Output<string>>;
    /** aws with monitoring: the SNS topic every alarm notifies, and the CloudWatch dashboard's name. */
    readonly alarmTopicArn?: pulumi.Output<string>;
    readonly dashboardName?: pulumi.Output<string>;
    /** local target: the Prometheus scrape URLs and the scraper's login name (docs/observability.md). */
    readonly metrics?: pulumi.Output<{ readonly urls: string[]; readonly username: string }>;
    /** local target: the scraper's password (secret). */
    readonly metricsPassword?: pulumi.Output<string>;
}

/** Options every component the platform creates gets: the platform as parent, the stack-level URN as alias. */
export type ChildOptions = pulumi.ComponentResourceOptions & { readonly parent: pulumi.Resource };
