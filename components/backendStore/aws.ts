// AWS backend store: Aurora Serverless v2 (MySQL or PostgreSQL), encrypted, private, with the
// master password generated and kept by RDS in Secrets Manager (never in Pulumi state).
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsBackendStoreArgs, AwsBackendStoreOutputs } from "./types";
import { ENGINES } from "./database";
import { renderClusterParameters } from "./aurora";

export const MASTER_USERNAME = "mlflow_admin";
/** Readers scale and pause on their own load from tier 2 on (Aurora User Guide, Serverless v2 scaling and auto-pause). */
export const READER_PROMOTION_TIER = 2;

export const AURORA_ENGINES = {
    mysql: aws.rds.EngineType.AuroraMysql,
    postgres: aws.rds.EngineType.AuroraPostgresql,
} as const;

/** RDS identifiers: letters, digits and hyphens, starting with a letter, no double or trailing hyphen. */
export function rdsIdentifier(text: string, maxLength = 255): string {
    const cleaned = text.toLowerCase().replace(/[^a-z0-9-]/g, "-").replace(/-+/g, "-").replace(/^[^a-z]+/, "");
    return (cleaned.slice(0, maxLength).replace(/-+$/, "")) || "mlflow";
}

export function buildAwsBackendStore(parent: pulumi.Resource, name: string, args: AwsBackendStoreArgs & { databaseName: string }): AwsBackendStoreOutputs {
    const retainOnDelete = args.retainOnDelete ?? true;
    const tags = args.tags ?? {};
    const engine = AURORA_ENGINES[args.engine];
    const port = ENGINES[args.engine].port;
    const autoPause = args.minCapacity === 0;

    const subnetGroup = new aws.rds.SubnetGroup(`${name}-subnets`, {
        description: `MLflow metadata database (${name})`,
        subnetIds: args.subnetIds,
        tags,
    }, { parent, retainOnDelete });

    // Docker's collation (utf8mb4_bin) and TLS required; kept with the cluster, which uses it.
    const parameterGroup = renderClusterParameters(args.engine, args.engineVersion);
    const clusterParameters = new aws.rds.ClusterParameterGroup(`${name}-params`, {
        family: parameterGroup.family,
        description: `MLflow metadata database (${name}): utf8mb4_bin like the Docker flavour, TLS required`,
        parameters: parameterGroup.parameters.map(p => ({ name: p.name, value: p.value, applyMethod: p.applyMethod })),
        tags,
    }, { parent, retainOnDelete });

    const cluster = new aws.rds.Cluster(`${name}-cluster`, {
        engine,
        engineMode: aws.rds.EngineMode.Provisioned,
        engineVersion: args.engineVersion,
        databaseName: args.databaseName,
        masterUsername: MASTER_USERNAME,
        // RDS generates the password and rotates it in Secrets Manager; it never enters Pulumi state.
        manageMasterUserPassword: true,
        port,
        storageEncrypted: true,
        serverlessv2ScalingConfiguration: {
            minCapacity: args.minCapacity,
            maxCapacity: args.maxCapacity,
            ...(autoPause ? { secondsUntilAutoPause: args.autoPauseSeconds } : {}),
        },
        vpcSecurityGroupIds: [args.securityGroupId],
        dbSubnetGroupName: subnetGroup.name,
        dbClusterParameterGroupName: clusterParameters.name,
        backupRetentionPeriod: args.backupRetentionDays,
        // Unset unless configured: an existing cluster keeps the window AWS gave it (no diff).
        ...(args.backupWindow ? { preferredBackupWindow: args.backupWindow } : {}),
        deletionProtection: args.deletionProtection,
        // Always keep a last snapshot when the cluster is deleted; a stable name makes it easy to find.
        skipFinalSnapshot: false,
        finalSnapshotIdentifier: rdsIdentifier(`${name}-final`),
        copyTagsToSnapshot: true,
        tags,
    }, { parent, retainOnDelete });

    const instance = {
        clusterIdentifier: cluster.id,
        engine,
        engineVersion: cluster.engineVersion,
        instanceClass: "db.serverless",
        publiclyAccessible: false,
        // AWS advises against automatic minor upgrades on LTS releases: they may leave the LTS line.
        autoMinorVersionUpgrade: false,
        dbSubnetGroupName: subnetGroup.name,
        tags,
    };
    const writer = new aws.rds.ClusterInstance(`${name}-writer`, instance, { parent, retainOnDelete });
    const readers = buildReaders(parent, name, args.readerInstances ?? 0, instance, writer);

    return {
        engine: args.engine,
        host: cluster.endpoint,
        port: cluster.port,
        databaseName: pulumi.output(args.databaseName),
        username: pulumi.output(MASTER_USERNAME),
        secretArn: cluster.masterUserSecrets.apply(secrets => {
            const arn = secrets?.[0]?.secretArn;
            if (!arn) throw new Error(`${name}: the cluster reports no managed master user secret`);
            return arn;
        }),
        clusterIdentifier: cluster.clusterIdentifier,
        ...(readers === 0 ? {} : { readerHost: cluster.readerEndpoint }),
    };
}

/**
 * Reader instances of the writer's class (so its capacity range): created after the writer,
 * since Aurora makes the first instance of a new cluster its writer. Promotion tier 2 lets a
 * reader scale and auto-pause with its own load instead of following the writer's capacity
 * (tiers 0 and 1 do); failover still promotes it when it is the only one. A reader holds no
 * data of its own (the cluster's storage is shared), so removing one loses nothing: never retained.
 */
function buildReaders(parent: pulumi.Resource, name: string, count: number, instance: aws.rds.ClusterInstanceArgs, writer: aws.rds.ClusterInstance): number {
    if (!Number.isInteger(count) || count < 0) throw new Error(`${name}: reader instances must be a whole number of at least 0, got ${count}`);
    for (let i = 1; i <= count; i++) {
        new aws.rds.ClusterInstance(`${name}-reader-${i}`, { ...instance, promotionTier: READER_PROMOTION_TIER }, { parent, dependsOn: [writer] });
    }
    return count;
}
