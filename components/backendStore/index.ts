// The BackendStore component: the class only; args and outputs are in ./types, each
// target's children in ./docker and ./aws.
import * as pulumi from "@pulumi/pulumi";
import type { Target, TargetedConstructor } from "../shared/target";
import { buildAwsBackendStore } from "./aws";
import { buildDockerBackendStore } from "./docker";
import { AwsBackendStoreOutputs, BACKEND_STORE_TYPE, BackendStoreArgs, BackendStoreOutputs, DEFAULT_DATABASE_NAME, LocalBackendStoreOutputs } from "./types";

export * from "./types";

/**
 * MLflow's metadata database. Docker: MySQL 8 (utf8mb4) or PostgreSQL with a named volume,
 * an application user distinct from the admin user, generated passwords. AWS: Aurora
 * Serverless v2 with the master password kept in Secrets Manager.
 */
class BackendStoreComponent extends pulumi.ComponentResource {
    constructor(name: string, args: BackendStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super(BACKEND_STORE_TYPE, name, {}, opts);
        const databaseName = args.databaseName ?? DEFAULT_DATABASE_NAME;
        const o: Partial<LocalBackendStoreOutputs & AwsBackendStoreOutputs> & BackendStoreOutputs[Target] = args.target === "local"
            ? buildDockerBackendStore(this, name, { ...args, databaseName })
            : buildAwsBackendStore(this, name, { ...args, databaseName });
        Object.assign(this, o);
        this.registerOutputs({
            engine: o.engine,
            host: o.host,
            port: o.port,
            databaseName: o.databaseName,
            username: o.username,
            secretArn: o.secretArn,
        });
    }
}

/** A BackendStore whose outputs are those of target F. */
export type BackendStore<F extends Target = Target> = BackendStoreComponent & BackendStoreOutputs[F];
export const BackendStore = BackendStoreComponent as TargetedConstructor<BackendStoreArgs, BackendStoreComponent, BackendStoreOutputs>;
