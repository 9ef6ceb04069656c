// The MlflowPlatform component: the whole platform from one typed args object, every other
// component its child. The stack's index.ts is one of its users; docs/library.md shows another.
import * as pulumi from "@pulumi/pulumi";
import { deployAws } from "./aws";
import { deployLocal } from "./local";
import { awsNameProblems } from "../config/awsNames";
import { ConfigError } from "../config/reader";
import { modelSlug } from "../modelServer/serving";
import { ChildOptions, MLFLOW_PLATFORM_TYPE, MlflowPlatformArgs, PlatformOutputs, ProjectLogin } from "./types";

export * from "./types";

/** On aws, a name too long for a generated AWS name is refused before anything is registered. */
function checkedName(name: string, args: MlflowPlatformArgs): string {
    if (args.target !== "aws") return name;
    const problems = awsNameProblems(name, args.projects, (args.aws.serving?.models ?? []).map(m => modelSlug(m.name)));
    if (problems.length > 0) throw new ConfigError(problems);
    return name;
}

/**
 * A self-hosted MLflow tracking server with model registry: on one Docker host (`target:
 * "local"`) or on AWS (`target: "aws"`), with the projects and served models the args list.
 * Children are named `<name>-<part>`; the stack names it `mlflow-<stack>`.
 */
export class MlflowPlatform extends pulumi.ComponentResource {
    /** The URL MLflow clients use (MLFLOW_TRACKING_URI). */
    public readonly trackingUri: pulumi.Output<string>;
    public readonly username: pulumi.Output<string>;
    /** Secret. */
    public readonly password: pulumi.Output<string>;
    public readonly artifactBucket: pulumi.Output<string>;
    public readonly backendEngine: string;
    /** local target with exposeMinioConsole only. */
    public readonly minioConsoleUrl?: pulumi.Output<string | undefined>;
    /** aws target only. */
    public readonly ecrRepositoryUrl?: pulumi.Output<string>;
    public readonly databaseEndpoint?: pulumi.Output<string>;
    public readonly databaseSecretArn?: pulumi.Output<string>;
    /** With projects only: name -> login, secret as a whole. */
    public readonly projects?: pulumi.Output<Record<string, ProjectLogin>>;
    /** With served models only: name -> invocation URL. */
    public readonly servedModels?: pulumi.Output<Record<string, string>>;
    /** With users only: name -> role and projects. */
    public readonly users?: pulumi.Output<Record<string, { readonly role: string; readonly projects: readonly string[] }>>;
    /** With users only: name -> password, each secret. */
    public readonly userPasswords?: Record<string, pulumi.Output<string>>;
    /** aws with monitoring only: the alarms' SNS topic and the dashboard's name. */
    public readonly alarmTopicArn?: pulumi.Output<string>;
    public readonly dashboardName?: pulumi.Output<string>;
    /** local target: Prometheus scrape URLs and the scraper's login name. */
    public readonly metrics?: pulumi.Output<{ readonly urls: string[]; readonly username: string }>;
    /** local target: the scraper's password, secret. */
    public readonly metricsPassword?: pulumi.Output<string>;

    constructor(name: string, args: MlflowPlatformArgs, opts?: pulumi.ComponentResourceOptions) {
        super(MLFLOW_PLATFORM_TYPE, checkedName(name, args), {}, opts);
        // Every component was a child of the stack before it had this parent: the alias keeps
        // each one's URN, and the engine derives their children's aliases from it.
        const children: ChildOptions = { parent: this, aliases: [{ parent: pulumi.rootStackResource }] };
        const o: PlatformOutputs = args.target === "local" ? deployLocal(args, name, children) : deployAws(args, name, children);
        this.trackingUri = o.trackingUri;
        this.username = o.username;
        this.password = pulumi.secret(o.password);
        this.artifactBucket = o.artifactBucket;
        this.backendEngine = o.backendEngine;
        this.minioConsoleUrl = o.minioConsoleUrl;
        this.ecrRepositoryUrl = o.ecrRepositoryUrl;
        this.databaseEndpoint = o.databaseEndpoint;
        this.databaseSecretArn = o.databaseSecretArn;
        this.projects = o.projects;
        this.servedModels = o.servedModels;
        this.users = o.users;
        this.userPasswords = o.userPasswords;
        this.alarmTopicArn = o.alarmTopicArn;
        this.dashboardName = o.dashboardName;
        this.metrics = o.metrics;
        this.metricsPassword = o.metricsPassword === undefined ? undefined : pulumi.secret(o.metricsPassword);
        this.registerOutputs({ trackingUri: this.trackingUri, username: this.username, password: this.password, artifactBucket: this.artifactBucket });
    }
}
