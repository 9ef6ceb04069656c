// The Backup component: the class only; args are in ./types, the Docker children in ./docker,
// the scripts and environments in ./backup.
import * as pulumi from "@pulumi/pulumi";
import { buildDockerBackup } from "./docker";
import { BACKUP_TYPE, BackupArgs } from "./types";

export * from "./types";

/**
 * Scheduled backups of the local target: dumps of every database by a read-only database user,
 * and an incremental copy of the artifact bucket by a read-only storage identity, each into a
 * Docker volume kept on `pulumi destroy` (docs/operations.md, Backups and Restore).
 */
export class Backup extends pulumi.ComponentResource {
    constructor(name: string, args: BackupArgs, opts?: pulumi.ComponentResourceOptions) {
        super(BACKUP_TYPE, name, {}, opts);
        buildDockerBackup(this, name, args);
        this.registerOutputs({});
    }
}
