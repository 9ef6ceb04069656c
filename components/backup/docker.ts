// Docker backup: a one-shot container creating the read-only backup database user, a loop
// container dumping every database (the database server's image), a read-only MinIO identity and
// a loop container copying the bucket (the MLflow image); both write to volumes kept on destroy.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { BucketInit } from "../bucketInit";
import { envList, exitedZero, healthcheck, ONE_SHOT, pulledImage, RESTART_POLICY, roleLabels } from "../shared/docker";
import {
    ARTIFACT_BACKUP_HEALTHCHECK, ARTIFACT_BACKUP_SCRIPT, BACKUP_DIRS, BACKUP_ENV, BACKUP_FILES, DATABASE_BACKUP_HEALTHCHECK,
    renderArtifactBackupEnvironment, renderDatabaseBackupEnvironment, renderDatabaseBackupScript,
} from "./backup";
import type { LocalBackupArgs } from "./types";

/** The MinIO identity of the artifact copy (read-only on the bucket). */
export const BACKUP_ACCESS_KEY = "mlflow-backup";

export function backupInitFailureMessage(exitCode: number, containerName: string, urn: string): string {
    return `the backup user's init exited with ${exitCode}. Its output: \`docker logs ${containerName}\`. `
        + "It runs again only when its inputs change, so after fixing the cause (database server healthy, its admin password) run it again with: "
        + `pulumi up --replace '${urn}'`;
}

/**
 * Kept on `pulumi destroy` whatever retainDataOnDestroy says: a backup that goes with the stack
 * protects nothing. Separate from the data volumes, so losing those leaves the backup.
 */
function keptVolume(parent: pulumi.Resource, name: string): docker.Volume {
    return new docker.Volume(name, { name }, { parent, retainOnDelete: true });
}

function buildDatabaseDumps(parent: pulumi.Resource, name: string, args: LocalBackupArgs): void {
    const password = new random.RandomPassword(`${name}-db-password`, { length: 32, special: true, overrideSpecial: "-_.~", minSpecial: 2 }, { parent });
    const image = pulledImage(`${name}-db-image`, args.databaseImage, parent);
    const script = { file: BACKUP_FILES.databases, content: renderDatabaseBackupScript(args.engine, args.databases), executable: true };
    const plain = pulumi.all([args.host, args.port]).apply(([host, port]) =>
        renderDatabaseBackupEnvironment({ intervalHours: args.intervalHours, keep: args.keep, host, port, databases: args.databases }));
    const grant = new docker.Container(`${name}-grant`, {
        name: `${name}-grant`,
        image: image.imageId,
        entrypoints: ["/bin/sh"],
        command: [BACKUP_FILES.databases, "grant"],
        envs: envList(pulumi.secret(pulumi.all([plain, args.adminUsername, args.adminPassword, password.result]).apply(([env, adminUser, adminPassword, pw]) => ({
            ...env, [BACKUP_ENV.adminUser]: adminUser, [BACKUP_ENV.adminPassword]: adminPassword, [BACKUP_ENV.password]: pw,
        })))),
        uploads: [script],
        networksAdvanced: [{ name: args.networkName }],
        labels: roleLabels("backup-init"),
        ...ONE_SHOT,
    }, { parent, deleteBeforeReplace: true });
    const granted = exitedZero(grant, (code, urn) => backupInitFailureMessage(code, `${name}-grant`, urn));
    const volume = keptVolume(parent, `${name}-databases`);
    // `docker logs <name>-databases`; the resource name differs from its volume's.
    new docker.Container(`${name}-databases-container`, {
        name: `${name}-databases`,
        image: image.imageId,
        entrypoints: ["/bin/sh"],
        command: [BACKUP_FILES.databases, "loop"],
        // No admin password here: the loop dumps as the read-only user, once that user exists.
        envs: envList(pulumi.secret(pulumi.all([plain, password.result, granted]).apply(([env, pw]) => ({ ...env, [BACKUP_ENV.password]: pw })))),
        uploads: [script],
        volumes: [{ volumeName: volume.name, containerPath: BACKUP_DIRS.databases }],
        networksAdvanced: [{ name: args.networkName }],
        healthcheck: healthcheck(DATABASE_BACKUP_HEALTHCHECK),
        restart: RESTART_POLICY,
        labels: roleLabels("backup"),
        // A fixed container name cannot exist twice (pulumi/pulumi-docker#1356).
    }, { parent, deleteBeforeReplace: true });
}

function buildArtifactCopy(parent: pulumi.Resource, name: string, args: LocalBackupArgs): void {
    const identity = new BucketInit(`${name}-identity`, {
        target: "local", networkName: args.networkName, bucketName: args.minio.bucketName, image: args.minio.image, endpointUrl: args.minio.endpointUrl,
        rootUser: args.minio.rootUser, rootPassword: args.minio.rootPassword, accessKeyId: BACKUP_ACCESS_KEY, readOnly: true, role: "backup-init",
    }, { parent });
    const plain = pulumi.all([args.minio.bucketName, args.minio.endpointUrl]).apply(([bucket, endpointUrl]) =>
        renderArtifactBackupEnvironment({ intervalHours: args.intervalHours, keep: args.keep, bucket, endpointUrl }));
    const volume = keptVolume(parent, `${name}-artifacts`);
    new docker.Container(`${name}-artifacts-container`, {
        name: `${name}-artifacts`,
        image: args.mlflowImage,
        entrypoints: ["python", BACKUP_FILES.artifacts, "loop"],
        envs: envList(pulumi.secret(pulumi.all([plain, identity.accessKeyId, identity.secretAccessKey]).apply(([env, keyId, secret]) => ({
            ...env, AWS_ACCESS_KEY_ID: keyId, AWS_SECRET_ACCESS_KEY: secret,
        })))),
        uploads: [{ file: BACKUP_FILES.artifacts, content: ARTIFACT_BACKUP_SCRIPT }],
        volumes: [{ volumeName: volume.name, containerPath: BACKUP_DIRS.artifacts }],
        networksAdvanced: [{ name: args.networkName }],
        healthcheck: healthcheck(ARTIFACT_BACKUP_HEALTHCHECK),
        restart: RESTART_POLICY,
        labels: roleLabels("backup"),
    }, { parent, deleteBeforeReplace: true });
}

export function buildDockerBackup(parent: pulumi.Resource, name: string, args: LocalBackupArgs): void {
    buildDatabaseDumps(parent, name, args);
    buildArtifactCopy(parent, name, args);
}
