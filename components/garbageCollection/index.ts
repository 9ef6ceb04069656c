// The GarbageCollection component: the class only; args are in ./types, each target's children
// in ./docker and ./aws, the script, environment and schedule in ./gc.
import * as pulumi from "@pulumi/pulumi";
import { buildAwsGarbageCollection } from "./aws";
import { buildDockerGarbageCollection } from "./docker";
import { GARBAGE_COLLECTION_TYPE, GarbageCollectionArgs } from "./types";

export * from "./types";

/**
 * `mlflow gc` of one server (`/` or a project) on a schedule: what was deleted more than
 * `olderThanDays` ago loses its rows and artifacts. It connects as its server does, with its
 * server's database credentials and storage identity, and nothing else (./gc.ts).
 */
export class GarbageCollection extends pulumi.ComponentResource {
    constructor(name: string, args: GarbageCollectionArgs, opts?: pulumi.ComponentResourceOptions) {
        super(GARBAGE_COLLECTION_TYPE, name, {}, opts);
        if (args.target === "local") buildDockerGarbageCollection(this, name, args);
        else buildAwsGarbageCollection(this, name, args);
        this.registerOutputs({});
    }
}
