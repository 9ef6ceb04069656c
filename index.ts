// The stack: validated config in, one MlflowPlatform, its outputs out. Nothing else reads
// config; the platform and its components take plain, typed args.
import * as pulumi from "@pulumi/pulumi";
import { loadConfig } from "./components/config";
import { MlflowPlatform } from "./components/platform";

const platform = new MlflowPlatform(`mlflow-${pulumi.getStack()}`, loadConfig());

// Only what this target has: an undefined export would print a warning on every `pulumi up`.
const stackOutputs: Record<string, unknown> = {
    trackingUri: platform.trackingUri,
    username: platform.username,
    password: platform.password,
    artifactBucket: platform.artifactBucket,
    backendEngine: platform.backendEngine,
    minioConsoleUrl: platform.minioConsoleUrl,
    ecrRepositoryUrl: platform.ecrRepositoryUrl,
    databaseEndpoint: platform.databaseEndpoint,
    databaseSecretArn: platform.databaseSecretArn,
    // name -> { trackingUri, username, password }: `pulumi stack output projects --show-secrets`.
    projects: platform.projects,
    servedModels: platform.servedModels,
    // name -> { role, projects }; each password: `pulumi stack output userPassword-<name> --show-secrets`.
    users: platform.users,
    // aws with monitoring: subscribe a pager or chat to the topic (docs/observability.md).
    alarmTopicArn: platform.alarmTopicArn,
    dashboardName: platform.dashboardName,
    // Prometheus scrape URLs and login (docs/observability.md); `pulumi stack output metricsPassword --show-secrets`.
    metrics: platform.metrics,
    metricsPassword: platform.metricsPassword,
    ...Object.fromEntries(Object.entries(platform.userPasswords ?? {}).map(([user, password]) => [`userPassword-${user}`, password])),
};
for (const key of Object.keys(stackOutputs)) {
    if (stackOutputs[key] === undefined) delete stackOutputs[key];
}
export = stackOutputs;
