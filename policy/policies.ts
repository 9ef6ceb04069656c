// The mandatory guards of the MLflow platform's security defaults. Every policy matches on the
// resource type token (no provider SDK is loaded: the pack starts fast and tests need no AWS).
import {
    PolicyResource, ReportViolation, ResourceValidation, ResourceValidationArgs, ResourceValidationPolicy, StackValidationArgs, StackValidationPolicy,
} from "@pulumi/policy";
import {
    DATA_PORTS, looksLikeSecretName, OPEN_CIDRS, rangeCovers, splitEnv, unpinnedImageReason, weakSecretValueReason,
} from "./images";

export const TYPES = {
    bucket: ["aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2"],
    publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    sse: ["aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"],
    cluster: "aws:rds/cluster:Cluster",
    clusterInstance: "aws:rds/clusterInstance:ClusterInstance",
    dbInstance: "aws:rds/instance:Instance",
    ecrRepository: "aws:ecr/repository:Repository",
    container: "docker:index/container:Container",
    remoteImage: "docker:index/remoteImage:RemoteImage",
    taskDefinition: "aws:ecs/taskDefinition:TaskDefinition",
    listener: ["aws:lb/listener:Listener", "aws:alb/listener:Listener"],
    ingressRule: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    sgRule: "aws:ec2/securityGroupRule:SecurityGroupRule",
    securityGroup: "aws:ec2/securityGroup:SecurityGroup",
} as const;

const PUBLIC_ACLS = new Set(["public-read", "public-read-write", "authenticated-read"]);
const PAB_FLAGS = ["blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"] as const;

type Check = (props: Record<string, any>, args: ResourceValidationArgs, report: ReportViolation) => void;

/** A resource policy for some type tokens; other types are not applicable. */
function forTypes(types: string | readonly string[], check: Check): ResourceValidation {
    const wanted = typeof types === "string" ? [types] : types;
    return (args, report) => {
        if (!wanted.includes(args.type)) return;
        check(args.props, args, report);
    };
}

const s3BucketNotPublic: ResourceValidationPolicy = {
    name: "s3-bucket-not-public",
    description: "S3 buckets have no public ACL, and every public-access block is on.",
    enforcementLevel: "mandatory",
    validateResource: [
        forTypes(TYPES.bucket, (props, _a, report) => {
            if (PUBLIC_ACLS.has(String(props.acl ?? ""))) report(`bucket ACL "${props.acl}" makes objects public; remove acl.`);
            if (props.website !== undefined) report("bucket has static website hosting, which serves objects publicly.");
        }),
        forTypes(TYPES.publicAccessBlock, (props, _a, report) => {
            const off = PAB_FLAGS.filter(flag => props[flag] !== true);
            if (off.length > 0) report(`BucketPublicAccessBlock must set all four flags to true; not set: ${off.join(", ")}.`);
        }),
    ],
};

/** A value, or undefined where it is unknown until apply (the policy server throws on reading those). */
function known<T>(read: () => T): T | undefined {
    try {
        return read();
    } catch {
        return undefined;
    }
}

/** Resources of `types` whose dependencies (or, without dependency data, `bucket` input) name `bucket`. */
function attachedTo(bucket: PolicyResource, all: PolicyResource[], types: readonly string[]): PolicyResource[] {
    const names = new Set([known(() => bucket.props.bucket), bucket.name].filter(v => typeof v === "string"));
    return all.filter(r => types.includes(r.type)
        && ((r.propertyDependencies?.bucket ?? r.dependencies ?? []).some(d => d.urn === bucket.urn) || names.has(known(() => r.props.bucket))));
}

const s3BucketProtected: StackValidationPolicy = {
    name: "s3-bucket-blocked-and-encrypted",
    description: "Every S3 bucket has a public-access block and default server-side encryption attached.",
    enforcementLevel: "mandatory",
    validateStack: (args: StackValidationArgs, report) => {
        for (const bucket of args.resources.filter(r => (TYPES.bucket as readonly string[]).includes(r.type))) {
            if (attachedTo(bucket, args.resources, [TYPES.publicAccessBlock]).length === 0) {
                report(`bucket ${bucket.name} has no BucketPublicAccessBlock.`, bucket.urn);
            }
            const sse = attachedTo(bucket, args.resources, TYPES.sse);
            const inline = bucket.props.serverSideEncryptionConfiguration !== undefined;
            if (sse.length === 0 && !inline) report(`bucket ${bucket.name} has no server-side encryption configuration.`, bucket.urn);
            for (const config of sse) {
                const algorithms = (config.props.rules ?? []).map((r: any) => r?.applyServerSideEncryptionByDefault?.sseAlgorithm);
                if (!algorithms.some((a: unknown) => a === "AES256" || a === "aws:kms" || a === "aws:kms:dsse")) {
                    report(`bucket ${bucket.name}: encryption rules name no algorithm (AES256 or aws:kms).`, config.urn);
                }
            }
        }
    },
};

export interface RdsConfig {
    /** Set by a stack that deliberately runs without deletion protection (dbDeletionProtection=false). */
    allowDeletionUnprotected?: boolean;
}

const rdsProtected: ResourceValidationPolicy = {
    name: "rds-encrypted-private-protected",
    description: "RDS clusters are encrypted and deletion-protected; database instances are not publicly accessible.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowDeletionUnprotected: {
                type: "boolean", default: false,
                description: "Allow clusters without deletion protection (throw-away stacks only).",
            },
        },
    },
    validateResource: [
        forTypes([TYPES.cluster, TYPES.dbInstance], (props, args, report) => {
            if (props.storageEncrypted !== true) report("storageEncrypted must be true (Aurora Serverless v2 is not encrypted by default).");
            if (props.deletionProtection !== true && args.getConfig<RdsConfig>().allowDeletionUnprotected !== true) {
                report("deletionProtection must be true. A throw-away stack opts out with the policy config "
                    + `{"rds-encrypted-private-protected": {"allowDeletionUnprotected": true}} (--policy-pack-config).`);
            }
        }),
        forTypes([TYPES.clusterInstance, TYPES.dbInstance], (props, _a, report) => {
            if (props.publiclyAccessible === true) report("publiclyAccessible must be false: the database is reached from the service only.");
        }),
    ],
};

const ecrScanOnPush: ResourceValidationPolicy = {
    name: "ecr-scan-on-push",
    description: "ECR repositories scan every pushed image.",
    enforcementLevel: "mandatory",
    validateResource: forTypes(TYPES.ecrRepository, (props, _a, report) => {
        if (props.imageScanningConfiguration?.scanOnPush !== true) report("imageScanningConfiguration.scanOnPush must be true.");
    }),
};

/** ECS container definitions: a JSON string in state, an array when a test passes one. */
export function containerDefinitions(props: Record<string, any>): any[] {
    const defs = props.containerDefinitions;
    if (typeof defs === "string") return JSON.parse(defs);
    return Array.isArray(defs) ? defs : [];
}

const imagesPinned: ResourceValidationPolicy = {
    name: "images-pinned",
    description: "No container runs an untagged or `latest` image (Docker containers, pulled images, ECS task definitions).",
    enforcementLevel: "mandatory",
    validateResource: [
        forTypes(TYPES.container, (props, _a, report) => {
            const reason = unpinnedImageReason(props.image);
            if (reason) report(`container image ${reason}; pin a version tag or digest.`);
        }),
        forTypes(TYPES.remoteImage, (props, _a, report) => {
            const reason = unpinnedImageReason(props.name);
            if (reason) report(`pulled image ${reason}; pin a version tag or digest.`);
        }),
        forTypes(TYPES.taskDefinition, (props, _a, report) => {
            for (const def of containerDefinitions(props)) {
                const reason = unpinnedImageReason(def.image);
                if (reason) report(`container "${def.name}": image ${reason}; pin a version tag or digest.`);
            }
        }),
    ],
};

export interface PortsConfig {
    /** Host-published container ports to accept anyway, e.g. [9001] with exposeMinioConsole. */
    allowedPorts?: number[];
}

const noDataPortsPublished: ResourceValidationPolicy = {
    name: "no-data-ports-published",
    description: "No Docker container publishes a database or object-store port to the host; only the auth proxy is reachable.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: {
            allowedPorts: {
                type: "array", items: { type: "number" }, default: [],
                description: "Container ports that may be published anyway (e.g. 9001 for exposeMinioConsole=true).",
            },
        },
    },
    validateResource: forTypes(TYPES.container, (props, args, report) => {
        const allowed = new Set(args.getConfig<PortsConfig>().allowedPorts ?? []);
        for (const p of props.ports ?? []) {
            const port = Number(p.internal);
            if (DATA_PORTS[port] && !allowed.has(port)) {
                report(`container port ${port} (${DATA_PORTS[port]}) is published on ${p.ip ?? "0.0.0.0"}:${p.external ?? port}; `
                    + "reach it through the Docker network instead.");
            }
        }
        if (props.networkMode === "host") report("networkMode host publishes every port of the container.");
    }),
};

function isHttpsListener(props: Record<string, any>): boolean {
    return props.protocol === "HTTPS" || props.protocol === "TLS";
}

function redirectsToHttps(props: Record<string, any>): boolean {
    const actions: any[] = props.defaultActions ?? [];
    return actions.length > 0 && actions.every(a => a?.type === "redirect" && a?.redirect?.protocol === "HTTPS");
}

const albHttps: StackValidationPolicy = {
    name: "alb-https-when-certificate",
    description: "With a certificate configured, load balancer listeners serve HTTPS, and plain-HTTP listeners only redirect to it.",
    enforcementLevel: "mandatory",
    validateStack: (args, report) => {
        const listeners = args.resources.filter(r => (TYPES.listener as readonly string[]).includes(r.type));
        for (const l of listeners) {
            if (l.props.certificateArn && !isHttpsListener(l.props)) report(`listener ${l.name} has a certificate but protocol ${l.props.protocol}.`, l.urn);
        }
        if (!listeners.some(l => l.props.certificateArn || isHttpsListener(l.props))) return;
        for (const l of listeners.filter(x => !isHttpsListener(x.props) && !redirectsToHttps(x.props))) {
            report(`listener ${l.name} serves plain ${l.props.protocol ?? "HTTP"} although a certificate is configured; redirect it to HTTPS.`, l.urn);
        }
    },
};

export interface DatabasePortsConfig {
    databasePorts?: number[];
}

/** Ingress entries of the three ways to write a security group rule, normalised. */
function ingressEntries(type: string, props: Record<string, any>): { protocol: unknown; from: unknown; to: unknown; cidrs: unknown[] }[] {
    if (type === TYPES.ingressRule) return [{ protocol: props.ipProtocol, from: props.fromPort, to: props.toPort, cidrs: [props.cidrIpv4, props.cidrIpv6] }];
    if (type === TYPES.sgRule && props.type !== "ingress") return [];
    const rules = type === TYPES.sgRule ? [props] : (props.ingress ?? []);
    return rules.map((r: any) => ({ protocol: r.protocol, from: r.fromPort, to: r.toPort, cidrs: [...(r.cidrBlocks ?? []), ...(r.ipv6CidrBlocks ?? [])] }));
}

const noOpenDatabasePort: ResourceValidationPolicy = {
    name: "no-open-database-port",
    description: "No security group admits 0.0.0.0/0 or ::/0 on a database port.",
    enforcementLevel: "mandatory",
    configSchema: {
        properties: { databasePorts: { type: "array", items: { type: "number" }, default: [3306, 5432] } },
    },
    validateResource: forTypes([TYPES.ingressRule, TYPES.sgRule, TYPES.securityGroup], (props, args, report) => {
        const ports = args.getConfig<DatabasePortsConfig>().databasePorts ?? [3306, 5432];
        for (const e of ingressEntries(args.type, props)) {
            const open = e.cidrs.filter(c => typeof c === "string" && OPEN_CIDRS.has(c));
            const hit = ports.filter(p => rangeCovers(e.protocol, e.from, e.to, p));
            if (open.length > 0 && hit.length > 0) report(`ingress from ${open.join(", ")} reaches database port ${hit.join(", ")}.`);
        }
    }),
};

function checkEnv(where: string, name: string, value: unknown, report: ReportViolation): void {
    if (!looksLikeSecretName(name)) return;
    const reason = weakSecretValueReason(name, typeof value === "string" ? value : JSON.stringify(value ?? ""));
    if (reason) report(`${where}: ${name} looks like a secret but its value ${reason}; use a generated secret (@pulumi/random).`);
}

const secretEnvValues: ResourceValidationPolicy = {
    name: "secret-env-values",
    description: "Environment variables named like credentials hold generated secrets; on ECS they come from `secrets`, never `environment`.",
    enforcementLevel: "mandatory",
    validateResource: [
        forTypes(TYPES.container, (props, _a, report) => {
            for (const entry of props.envs ?? []) {
                const { name, value } = splitEnv(String(entry));
                checkEnv("container env", name, value, report);
            }
        }),
        forTypes(TYPES.taskDefinition, (props, _a, report) => {
            for (const def of containerDefinitions(props)) {
                for (const e of def.environment ?? []) {
                    if (looksLikeSecretName(String(e.name))) {
                        report(`container "${def.name}": ${e.name} is a plain-text environment value in the task definition; `
                            + "pass it through `secrets` (Secrets Manager valueFrom).");
                    }
                }
            }
        }),
    ],
};

export const resourcePolicies: ResourceValidationPolicy[] = [
    s3BucketNotPublic, rdsProtected, ecrScanOnPush, imagesPinned, noDataPortsPublished, noOpenDatabasePort, secretEnvValues,
];
export const stackPolicies: StackValidationPolicy[] = [s3BucketProtected, albHttps];
export const policies = [...resourcePolicies, ...stackPolicies];
