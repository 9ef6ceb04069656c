// Docker project prune: two one-shot containers, one from the database server's image (its
// client drops databases and users), one from the mc image (objects, MinIO user, policy).
// Their scripts hold the current project list, so they run again whenever it changes.
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { envList, exitedZero, ONE_SHOT, pulledImage, roleLabels } from "../shared/docker";
import {
    PROJECT_PRUNE_DB_ENV, PROJECT_PRUNE_FILES, PROJECT_PRUNE_STORE_ENV, projectPruneFailureMessage, renderProjectPruneDatabaseScript, renderProjectPruneStoreScript,
} from "./scripts";
import type { LocalProjectPruneArgs, ProjectPruneOutputs } from "./types";

function oneShot(parent: pulumi.Resource, name: string, image: docker.RemoteImage, script: { file: string; content: pulumi.Input<string> },
    envs: pulumi.Output<string[]>, networkName: pulumi.Input<string>): pulumi.Output<number | undefined> {
    const container = new docker.Container(name, {
        name,
        image: image.imageId,
        entrypoints: ["/bin/sh"],
        command: [script.file],
        envs,
        uploads: [{ file: script.file, content: script.content, executable: true }],
        networksAdvanced: [{ name: networkName }],
        labels: roleLabels("project-prune"),
        ...ONE_SHOT,
        // A fixed container name cannot exist twice (pulumi/pulumi-docker#1356).
    }, { parent, deleteBeforeReplace: true });
    return exitedZero(container, (code, urn) => projectPruneFailureMessage(code, name, urn));
}

export function buildDockerProjectPrune(parent: pulumi.Resource, name: string, args: LocalProjectPruneArgs): ProjectPruneOutputs {
    const d = PROJECT_PRUNE_DB_ENV;
    const dbScript = pulumi.all([args.adminUsername, ...args.protectedNames]).apply(([admin, ...names]) =>
        renderProjectPruneDatabaseScript(args.engine, args.keep, { names: [admin, ...names] }));
    const db = oneShot(parent, `${name}-db`, pulledImage(`${name}-db-image`, args.databaseImage, parent), { file: PROJECT_PRUNE_FILES.dbScript, content: dbScript },
        envList({
            [d.host]: args.databaseHost,
            [d.port]: pulumi.output(args.databasePort).apply(String),
            [d.adminUser]: args.adminUsername,
            [d.adminPassword]: pulumi.secret(args.adminPassword),
        }), args.networkName);
    const s = PROJECT_PRUNE_STORE_ENV;
    const store = oneShot(parent, `${name}-store`, pulledImage(`${name}-mc-image`, args.mcImage, parent),
        { file: PROJECT_PRUNE_FILES.storeScript, content: renderProjectPruneStoreScript(args.keep) },
        envList({
            [s.endpoint]: args.endpointUrl,
            [s.rootUser]: args.rootUser,
            [s.rootPassword]: pulumi.secret(args.rootPassword),
            [s.bucket]: args.bucketName,
        }), args.networkName);
    return { kept: pulumi.all([db, store]).apply(() => [...args.keep]) };
}
