// Settings every long-running container of the local target shares.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";

/** Survives Docker daemon restarts and host reboots, but stays down when stopped by hand. */
export const RESTART_POLICY = "unless-stopped";

/**
 * Every long-running container logs through json-file with rotation (docs/observability.md,
 * "Logs"): at most 5 x 10 MB per container, so a busy platform cannot fill the host's disk, and
 * `docker logs` keeps working whatever the daemon's default driver is. One-shot containers
 * (inits, prune) write a few lines once and are left as they are: replacing them would run them again.
 */
export const LOG_ROTATION = { logDriver: "json-file", logOpts: { "max-size": "10m", "max-file": "5" } };

/** Label that names a container's part in the platform (docker ps --filter label=mlflow-platform/role=...). */
export const ROLE_LABEL = "mlflow-platform/role";

export type ContainerRole = "artifact-store" | "bucket-init" | "backend-store" | "tracking-server" | "auth-proxy" | "project-database" | "project-prune" | "model-server" | "garbage-collection" | "backup-init" | "backup";

export function roleLabels(role: ContainerRole): docker.types.input.ContainerLabel[] {
    return [{ label: ROLE_LABEL, value: role }];
}

/** A healthcheck with a start period long enough for a first database initialisation. */
export function healthcheck(tests: string[]): docker.types.input.ContainerHealthcheck {
    return { tests, interval: "5s", timeout: "5s", retries: 12, startPeriod: "60s" };
}

/** `pulumi up` waits until the container reports healthy, so dependents start only after it. */
export const WAIT_HEALTHY = { wait: true, waitTimeout: 300 } as const;

/** A one-shot container: runs to completion during `pulumi up`, then stays stopped. */
export const ONE_SHOT = { mustRun: false, attach: true, logs: true, restart: "no" } as const;

/**
 * The one-shot container's exit code, failing `pulumi up` with `failureMessage(code, urn)` when
 * it is not 0. The exited container keeps its inputs, so the message can name its log and the
 * `pulumi up --replace` that runs it again.
 */
export function exitedZero(container: docker.Container, failureMessage: (code: number, urn: string) => string): pulumi.Output<number | undefined> {
    return pulumi.all([container.exitCode, container.urn]).apply(([code, urn]) => {
        if (code !== undefined && code !== null && code !== 0) throw new Error(failureMessage(code, urn));
        return code;
    });
}

/** Pulls an image and keeps it when the stack is destroyed (other stacks may use it). */
export function pulledImage(name: string, image: pulumi.Input<string>, parent: pulumi.Resource): docker.RemoteImage {
    return new docker.RemoteImage(name, { name: image, keepLocally: true }, { parent });
}

/** Docker `envs` entries from a record, sorted for stable diffs. */
export function envList(env: pulumi.Input<Record<string, pulumi.Input<string>>>): pulumi.Output<string[]> {
    return pulumi.output(env).apply(e => Object.keys(e).sort().map(k => `${k}=${e[k]}`));
}
