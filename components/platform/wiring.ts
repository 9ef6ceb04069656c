// What both targets' builders of the platform share: client outputs and the secrets from args.
import * as pulumi from "@pulumi/pulumi";
import type { ArtifactStore } from "../artifactStore";
import type { AuthProxy, ProjectEndpoint } from "../authProxy";
import type { BackendStore } from "../backendStore";
import { PROJECT_POOL } from "../config/capacity";
import { DEFAULT_PROJECT_TASKS, type ProjectTaskSettings } from "../config";
import { modelInvocationUrl } from "../modelServer/serving";
import type { MlflowPlatformArgs, PlatformOutputs, ProjectLogin } from "./types";

/** What every target exports for MLflow clients. */
export function clientOutputs(proxy: AuthProxy, store: ArtifactStore, backend: BackendStore): PlatformOutputs {
    return {
        trackingUri: proxy.url,
        username: proxy.username,
        password: proxy.password,
        artifactBucket: store.bucketName,
        backendEngine: backend.engine,
    };
}

/** Each project's login as one output, secret as a whole because it holds the passwords; undefined without projects. */
export function projectLogins(projects: Record<string, ProjectEndpoint>): pulumi.Output<Record<string, ProjectLogin>> | undefined {
    if (Object.keys(projects).length === 0) return undefined;
    return pulumi.secret(pulumi.output(Object.fromEntries(Object.entries(projects).map(([k, p]) =>
        [k, { trackingUri: p.trackingUri, username: p.username, password: p.password }]))));
}

/** Served model name -> invocation URL under the proxy's public URL. */
export function invocationUrls(url: pulumi.Output<string>, models: readonly { route: { name: string } }[]): pulumi.Output<Record<string, string>> {
    return url.apply(u => Object.fromEntries(models.map(m => [m.route.name, modelInvocationUrl(u, m.route.name)])));
}

/** The configured basic-auth password as a secret; undefined lets AuthProxy generate one. */
export function givenPassword(config: MlflowPlatformArgs): pulumi.Output<string> | undefined {
    return config.password === undefined ? undefined : pulumi.secret(config.password);
}

/** The AI Gateway's passphrase, secret; undefined keeps the gateway off. */
export function kekPassphrase(config: MlflowPlatformArgs): pulumi.Output<string> | undefined {
    return config.aiGateway === undefined ? undefined : pulumi.secret(config.aiGateway.kekPassphrase);
}

/**
 * A project's service on the aws target: its own task size and count (config projectTask*),
 * one task to start with, the project pool (config/capacity.ts) and job execution only when asked.
 */
export function projectTaskArgs(p: ProjectTaskSettings = DEFAULT_PROJECT_TASKS) {
    return {
        cpu: p.cpu, memory: p.memory, desiredCount: 1, minTasks: 1, maxTasks: p.maxTasks,
        workers: p.workers, pool: PROJECT_POOL, jobExecution: p.jobExecution && p.maxTasks === 1,
    };
}
