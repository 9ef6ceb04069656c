// The ProjectPrune component: the class only; args and outputs are in ./types, the Docker
// target's children in ./docker.
import * as pulumi from "@pulumi/pulumi";
import { buildDockerProjectPrune } from "./docker";
import { PROJECT_PRUNE_TYPE, ProjectPruneArgs, ProjectPruneOutputs } from "./types";

export * from "./types";

/**
 * With retainDataOnDestroy=false: removes the database, database user, storage identity and
 * artifact prefix of every project no longer in `projects` (projectPrune/scripts.ts). A
 * reconciler with the current list, not a per-project resource, so it also runs when the last
 * project is removed.
 */
export class ProjectPrune extends pulumi.ComponentResource implements ProjectPruneOutputs {
    readonly kept: pulumi.Output<string[]>;

    constructor(name: string, args: ProjectPruneArgs, opts?: pulumi.ComponentResourceOptions) {
        super(PROJECT_PRUNE_TYPE, name, {}, opts);
        this.kept = buildDockerProjectPrune(this, name, args).kept;
        this.registerOutputs({ kept: this.kept });
    }
}
