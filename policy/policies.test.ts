// Each policy fed passing and failing resource args, as the policy server hands them over.
import { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { looksLikeSecretName, rangeCovers, unpinnedImageReason, weakSecretValueReason } from "./images";
import { policies, resourcePolicies, stackPolicies, TYPES } from "./policies";
import { FakeResource, stackViolationsOf, violationsOf } from "./testing";

function resourcePolicy(name: string): ResourceValidationPolicy {
    const p = resourcePolicies.find(x => x.name === name);
    if (!p) throw new Error(`no policy ${name}`);
    return p;
}
function stackPolicy(name: string): StackValidationPolicy {
    const p = stackPolicies.find(x => x.name === name);
    if (!p) throw new Error(`no policy ${name}`);
    return p;
}
const res = (type: string, props: Record<string, any>, name = "r"): FakeResource => ({ type, name, props });

test("every policy is mandatory and uniquely named", () => {
    expect(policies.map(p => p.enforcementLevel)).toEqual(policies.map(() => "mandatory"));
    expect(new Set(policies.map(p => p.name)).size).toBe(policies.length);
});

describe("image references", () => {
    test.each([
        ["nginx:1.28.0-alpine", undefined],
        ["quay.io/minio/minio:RELEASE.2025-09-07T16-13-09Z", undefined],
        ["registry.local:5000/team/mlflow:3.17.2-abc", undefined],
        [`mysql@sha256:${"a".repeat(64)}`, undefined],
        ["sha256:0123abcd", undefined],
        ["nginx", "has no tag"],
        ["registry.local:5000/team/mlflow", "has no tag"],
        ["nginx:latest", "mutable tag latest"],
        ["quay.io/minio/minio:LATEST", "mutable tag latest"],
        ["", "no image reference"],
    ])("%s", (ref, problem) => {
        const reason = unpinnedImageReason(ref);
        if (problem === undefined) expect(reason).toBeUndefined();
        else expect(reason).toContain(problem);
    });
});

describe("secret-looking names and values", () => {
    test.each([
        ["MYSQL_PASSWORD", true], ["MINIO_ROOT_PASSWORD", true], ["AWS_SECRET_ACCESS_KEY", true], ["GITHUB_TOKEN", true], ["MLFLOW_ACCESS_KEY", false], ["MLFLOW_SECRET_KEY", true],
        ["MLFLOW_FLASK_SERVER_SECRET_KEY", true], ["MYSQL_PASSWORD_FILE", false], ["AWS_ACCESS_KEY_ID", false],
        ["MLFLOW_DB_SECRET_ARN", false], ["MLFLOW_HOST", false], ["MINIO_ROOT_USER", false],
    ])("%s -> %s", (name, secret) => expect(looksLikeSecretName(name)).toBe(secret));

    test.each([
        ["minioadmin", "well-known default"], ["", "is empty"], ["${MYSQL_PASSWORD}", "placeholder"],
        ["short-one", "only 9 characters"], ["Xq7!rT9@pL2#vB5$wN8%", undefined],
    ])("%j", (value, problem) => {
        const reason = weakSecretValueReason("MYSQL_PASSWORD", value);
        if (problem === undefined) expect(reason).toBeUndefined();
        else expect(reason).toContain(problem);
    });

    test("port ranges", () => {
        expect(rangeCovers("tcp", 3306, 3306, 3306)).toBe(true);
        expect(rangeCovers("tcp", 0, 65535, 5432)).toBe(true);
        expect(rangeCovers("-1", 0, 0, 5432)).toBe(true);
        expect(rangeCovers("tcp", 443, 443, 3306)).toBe(false);
        expect(rangeCovers("udp", 0, 65535, 3306)).toBe(false);
    });
});

const ALL_BLOCKED = { blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true };

describe("s3-bucket-not-public", () => {
    const p = resourcePolicy("s3-bucket-not-public");
    test("a private bucket and a full public-access block pass", async () => {
        expect(await violationsOf(p, res(TYPES.bucket[0], { bucket: "b" }))).toEqual([]);
        expect(await violationsOf(p, res(TYPES.publicAccessBlock, { bucket: "b", ...ALL_BLOCKED }))).toEqual([]);
    });
    test("a public-read bucket fails", async () => {
        expect(await violationsOf(p, res(TYPES.bucket[0], { bucket: "b", acl: "public-read" }))).toEqual([expect.stringContaining("public-read")]);
    });
    test.each(Object.keys(ALL_BLOCKED))("a public-access block without %s fails", async flag => {
        const props = { bucket: "b", ...ALL_BLOCKED, [flag]: false };
        expect(await violationsOf(p, res(TYPES.publicAccessBlock, props))).toEqual([expect.stringContaining(flag)]);
    });
    // The provider's default for an unset flag is false: missing is as open as false.
    test.each(Object.keys(ALL_BLOCKED))("a public-access block that leaves %s unset fails", async flag => {
        const props: Record<string, unknown> = { bucket: "b", ...ALL_BLOCKED };
        delete props[flag];
        expect(await violationsOf(p, res(TYPES.publicAccessBlock, props))).toEqual([expect.stringContaining(`not set: ${flag}.`)]);
    });
    test("a block with no flags at all names all four", async () => {
        expect(await violationsOf(p, res(TYPES.publicAccessBlock, { bucket: "b" }))).toEqual([expect.stringContaining(`not set: ${Object.keys(ALL_BLOCKED).join(", ")}.`)]);
    });
});

describe("s3-bucket-blocked-and-encrypted", () => {
    const p = stackPolicy("s3-bucket-blocked-and-encrypted");
    const bucket = res(TYPES.bucket[0], { bucket: "artifacts" }, "bucket");
    const pab = { ...res(TYPES.publicAccessBlock, { bucket: "artifacts-id", ...ALL_BLOCKED }, "pab"), dependsOn: ["bucket"] };
    const sse = { ...res(TYPES.sse[0], { bucket: "artifacts-id", rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "aws:kms" } }] }, "sse"), dependsOn: ["bucket"] };
    test("a bucket with both attached (by dependency) passes", async () => {
        expect(await stackViolationsOf(p, [bucket, pab, sse])).toEqual([]);
    });
    test("a bucket with neither fails twice", async () => {
        expect(await stackViolationsOf(p, [bucket])).toEqual([expect.stringContaining("no BucketPublicAccessBlock"), expect.stringContaining("no server-side encryption")]);
    });
    test("an unencrypted bucket (block only) fails", async () => {
        expect(await stackViolationsOf(p, [bucket, pab])).toEqual([expect.stringContaining("no server-side encryption")]);
    });
    test("encryption rules without an algorithm fail", async () => {
        const empty = { ...sse, props: { bucket: "artifacts", rules: [{}] }, dependsOn: [] };
        expect(await stackViolationsOf(p, [bucket, pab, empty])).toEqual([expect.stringContaining("no algorithm")]);
    });
});

describe("rds-encrypted-private-protected", () => {
    const p = resourcePolicy("rds-encrypted-private-protected");
    const good = { storageEncrypted: true, deletionProtection: true, engine: "aurora-mysql" };
    test("an encrypted, protected cluster and a private instance pass", async () => {
        expect(await violationsOf(p, res(TYPES.cluster, good))).toEqual([]);
        expect(await violationsOf(p, res(TYPES.clusterInstance, { publiclyAccessible: false }))).toEqual([]);
    });
    test("an unencrypted cluster fails", async () => {
        expect(await violationsOf(p, res(TYPES.cluster, { ...good, storageEncrypted: false }))).toEqual([expect.stringContaining("storageEncrypted")]);
        expect(await violationsOf(p, res(TYPES.cluster, { deletionProtection: true }))).toEqual([expect.stringContaining("storageEncrypted")]);
    });
    test("an unprotected cluster fails unless the stack opts out in the policy config", async () => {
        const cluster = res(TYPES.cluster, { ...good, deletionProtection: false });
        expect(await violationsOf(p, cluster)).toEqual([expect.stringContaining("allowDeletionUnprotected")]);
        expect(await violationsOf(p, cluster, { allowDeletionUnprotected: true })).toEqual([]);
    });
    test("a publicly accessible instance fails", async () => {
        expect(await violationsOf(p, res(TYPES.clusterInstance, { publiclyAccessible: true }))).toEqual([expect.stringContaining("publiclyAccessible")]);
        expect(await violationsOf(p, res(TYPES.dbInstance, { ...good, publiclyAccessible: true }))).toEqual([expect.stringContaining("publiclyAccessible")]);
    });
});

describe("ecr-scan-on-push", () => {
    const p = resourcePolicy("ecr-scan-on-push");
    test("scan on push passes; off or missing fails", async () => {
        expect(await violationsOf(p, res(TYPES.ecrRepository, { imageScanningConfiguration: { scanOnPush: true } }))).toEqual([]);
        expect(await violationsOf(p, res(TYPES.ecrRepository, { imageScanningConfiguration: { scanOnPush: false } }))).toHaveLength(1);
        expect(await violationsOf(p, res(TYPES.ecrRepository, {}))).toHaveLength(1);
    });
});

describe("images-pinned", () => {
    const p = resourcePolicy("images-pinned");
    test("pinned images pass", async () => {
        expect(await violationsOf(p, res(TYPES.container, { image: "sha256:abc123" }))).toEqual([]);
        expect(await violationsOf(p, res(TYPES.remoteImage, { name: "mysql:8.4.6" }))).toEqual([]);
        const defs = JSON.stringify([{ name: "mlflow", image: "1234.dkr.ecr.eu-west-1.amazonaws.com/mlflow:3.17.2-ab12" }]);
        expect(await violationsOf(p, res(TYPES.taskDefinition, { containerDefinitions: defs }))).toEqual([]);
    });
    test("a :latest image fails in a container, a pulled image and a task definition", async () => {
        expect(await violationsOf(p, res(TYPES.container, { image: "minio/minio:latest" }))).toEqual([expect.stringContaining("latest")]);
        expect(await violationsOf(p, res(TYPES.remoteImage, { name: "nginx:latest" }))).toEqual([expect.stringContaining("latest")]);
        const defs = JSON.stringify([{ name: "proxy", image: "nginx:latest" }, { name: "mlflow", image: "mlflow" }]);
        expect(await violationsOf(p, res(TYPES.taskDefinition, { containerDefinitions: defs })))
            .toEqual([expect.stringContaining('"proxy"'), expect.stringContaining("has no tag")]);
    });
});

describe("no-data-ports-published", () => {
    const p = resourcePolicy("no-data-ports-published");
    test("the proxy's port passes", async () => {
        expect(await violationsOf(p, res(TYPES.container, { ports: [{ internal: 8080, external: 5000, ip: "127.0.0.1" }] }))).toEqual([]);
    });
    test.each([3306, 5432, 9000, 9001])("publishing %d fails", async port => {
        expect(await violationsOf(p, res(TYPES.container, { ports: [{ internal: port, external: port }] }))).toEqual([expect.stringContaining(String(port))]);
    });
    test("a port listed in allowedPorts passes", async () => {
        expect(await violationsOf(p, res(TYPES.container, { ports: [{ internal: 9001, external: 9101 }] }), { allowedPorts: [9001] })).toEqual([]);
    });
    test("host networking fails", async () => {
        expect(await violationsOf(p, res(TYPES.container, { networkMode: "host" }))).toHaveLength(1);
    });
});

describe("alb-https-when-certificate", () => {
    const p = stackPolicy("alb-https-when-certificate");
    const https = res(TYPES.listener[0], { protocol: "HTTPS", port: 443, certificateArn: "arn:aws:acm:x" }, "https");
    const redirect = res(TYPES.listener[0], { protocol: "HTTP", port: 80, defaultActions: [{ type: "redirect", redirect: { protocol: "HTTPS", port: "443" } }] }, "http");
    const forward = res(TYPES.listener[0], { protocol: "HTTP", port: 80, defaultActions: [{ type: "forward", targetGroupArn: "tg" }] }, "http");
    test("without a certificate, plain HTTP is allowed", async () => {
        expect(await stackViolationsOf(p, [forward])).toEqual([]);
    });
    test("with a certificate, HTTPS plus an HTTP redirect passes", async () => {
        expect(await stackViolationsOf(p, [https, redirect])).toEqual([]);
    });
    test("with a certificate, an HTTP listener that forwards fails", async () => {
        expect(await stackViolationsOf(p, [https, forward])).toEqual([expect.stringContaining("listener http serves plain HTTP")]);
    });
    test("a certificate on an HTTP listener fails", async () => {
        const bad = res(TYPES.listener[0], { protocol: "HTTP", certificateArn: "arn:aws:acm:x", defaultActions: [{ type: "forward" }] }, "bad");
        expect(await stackViolationsOf(p, [bad])).toEqual([expect.stringContaining("has a certificate but protocol HTTP"), expect.stringContaining("serves plain HTTP")]);
    });
});

describe("no-open-database-port", () => {
    const p = resourcePolicy("no-open-database-port");
    test("the database port from a security group, and 443 from anywhere, pass", async () => {
        expect(await violationsOf(p, res(TYPES.ingressRule, { ipProtocol: "tcp", fromPort: 3306, toPort: 3306, referencedSecurityGroupId: "sg-1" }))).toEqual([]);
        expect(await violationsOf(p, res(TYPES.ingressRule, { ipProtocol: "tcp", fromPort: 443, toPort: 443, cidrIpv4: "0.0.0.0/0" }))).toEqual([]);
    });
    test.each([
        [TYPES.ingressRule, { ipProtocol: "tcp", fromPort: 3306, toPort: 3306, cidrIpv4: "0.0.0.0/0" }],
        [TYPES.ingressRule, { ipProtocol: "-1", cidrIpv6: "::/0" }],
        [TYPES.sgRule, { type: "ingress", protocol: "tcp", fromPort: 5000, toPort: 6000, cidrBlocks: ["0.0.0.0/0"] }],
        [TYPES.securityGroup, { ingress: [{ protocol: "tcp", fromPort: 5432, toPort: 5432, cidrBlocks: ["10.0.0.0/8", "0.0.0.0/0"] }] }],
    ])("%s open to the world on a database port fails", async (type, props) => {
        expect(await violationsOf(p, res(type, props))).toEqual([expect.stringContaining("database port")]);
    });
    test("egress rules are not ingress", async () => {
        expect(await violationsOf(p, res(TYPES.sgRule, { type: "egress", protocol: "-1", cidrBlocks: ["0.0.0.0/0"] }))).toEqual([]);
    });
});

describe("secret-env-values", () => {
    const p = resourcePolicy("secret-env-values");
    test("generated values and non-secret names pass", async () => {
        const envs = ["MYSQL_PASSWORD=Xq7!rT9@pL2#vB5$wN8%", "MYSQL_USER=mlflow", "MYSQL_ROOT_PASSWORD_FILE=/run/secrets/root"];
        expect(await violationsOf(p, res(TYPES.container, { envs }))).toEqual([]);
    });
    test("a default or short credential fails", async () => {
        const envs = ["MINIO_ROOT_PASSWORD=minioadmin", "MYSQL_PASSWORD=hunter2"];
        expect(await violationsOf(p, res(TYPES.container, { envs })))
            .toEqual([expect.stringContaining("MINIO_ROOT_PASSWORD"), expect.stringContaining("MYSQL_PASSWORD")]);
    });
    test("ECS: secrets through `secrets` pass; a secret-named `environment` entry fails whatever its value", async () => {
        const ok = JSON.stringify([{ name: "mlflow", image: "x:1", environment: [{ name: "MLFLOW_HOST", value: "0.0.0.0" }], secrets: [{ name: "MLFLOW_DB_PASSWORD", valueFrom: "arn" }] }]);
        const bad = JSON.stringify([{ name: "mlflow", image: "x:1", environment: [{ name: "MLFLOW_DB_PASSWORD", value: "Xq7!rT9@pL2#vB5$wN8%" }] }]);
        expect(await violationsOf(p, res(TYPES.taskDefinition, { containerDefinitions: ok }))).toEqual([]);
        expect(await violationsOf(p, res(TYPES.taskDefinition, { containerDefinitions: bad }))).toEqual([expect.stringContaining("MLFLOW_DB_PASSWORD")]);
    });
});
