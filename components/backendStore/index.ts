// The BackendStore component: the class only; args and outputs are in ./types, each
// flavour's children in ./docker and ./aws.
import * as pulumi from "@pulumi/pulumi";
import type { Flavour, FlavouredConstructor } from "../flavour";
import { buildAwsBackendStore } from "./aws";
import { buildDockerBackendStore } from "./docker";
import { AwsBackendStoreOutputs, BACKEND_STORE_TYPE, BackendStoreArgs, BackendStoreOutputs, DockerBackendStoreOutputs } from "./types";

export * from "./types";

/**
 * MLflow's metadata database. Docker: MySQL 8 (utf8mb4) or PostgreSQL with a named volume,
 * an application user distinct from the admin user, generated passwords. AWS: Aurora
 * Serverless v2 with the master password kept in Secrets Manager.
 */
class BackendStoreComponent extends pulumi.ComponentResource {
    constructor(name: string, args: BackendStoreArgs, opts?: pulumi.ComponentResourceOptions) {
        super(BACKEND_STORE_TYPE, name, {}, opts);
        const databaseName = args.databaseName ?? "mlflow";
        const o: Partial<DockerBackendStoreOutputs & AwsBackendStoreOutputs> & BackendStoreOutputs[Flavour] = args.platform === "docker"
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

/** A BackendStore whose outputs are those of flavour F. */
export type BackendStore<F extends Flavour = Flavour> = BackendStoreComponent & BackendStoreOutputs[F];
export const BackendStore = BackendStoreComponent as FlavouredConstructor<BackendStoreArgs, BackendStoreComponent, BackendStoreOutputs>;
