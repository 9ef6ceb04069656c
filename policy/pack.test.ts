// The pack started as the Pulumi CLI starts it (type-checked TypeScript, its own tsconfig, the root
// node_modules), then asked over the analyzer gRPC API the CLI uses: which policies it has, and
// what it says about a failing and a passing resource.
import { ChildProcess, spawn } from "child_process";
import * as path from "path";
import { policies } from "./policies";

const grpc = require("@grpc/grpc-js");
const analyzerGrpc = require("@pulumi/pulumi/proto/analyzer_grpc_pb");
const analyzerPb = require("@pulumi/pulumi/proto/analyzer_pb");
const { Empty } = require("google-protobuf/google/protobuf/empty_pb");
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");

const ROOT = path.resolve(__dirname, "..");
let child: ChildProcess;
let client: any;

beforeAll(async () => {
    child = spawn(process.execPath, ["run-like-cli.js", ROOT], { cwd: __dirname, stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    child.stderr!.on("data", d => { err += d; });
    const port = await new Promise<number>((resolve, reject) => {
        child.stdout!.once("data", d => resolve(Number(String(d).trim())));
        child.once("exit", code => reject(new Error(`the pack exited with ${code}: ${err}`)));
    });
    expect(port).toBeGreaterThan(0);
    client = new analyzerGrpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
}, 120000);

afterAll(() => {
    client?.close();
    child?.kill();
});

function call<T>(method: string, request: unknown): Promise<T> {
    return new Promise((resolve, reject) => client[method](request, (e: Error | null, r: T) => (e ? reject(e) : resolve(r))));
}

async function analyze(type: string, props: object): Promise<{ policyName: string; enforcementLevel: number; message: string }[]> {
    const req = new analyzerPb.AnalyzeRequest();
    req.setType(type);
    req.setName("r");
    req.setUrn(`urn:pulumi:ci::mlflow-platform::${type}::r`);
    req.setProperties(Struct.fromJavaScript(props));
    req.setOptions(new analyzerPb.AnalyzerResourceOptions());
    const res = await call<any>("analyze", req);
    return res.getDiagnosticsList().map((d: any) => ({ policyName: d.getPolicyname(), enforcementLevel: d.getEnforcementlevel(), message: d.getMessage() }));
}

test("the CLI sees the pack's name and every policy, all mandatory", async () => {
    const info = await call<any>("getAnalyzerInfo", new Empty());
    expect(info.getName()).toBe("mlflow-platform-guards");
    const listed = info.getPoliciesList().map((p: any) => [p.getName(), p.getEnforcementlevel()]);
    expect(listed.map((p: any[]) => p[0]).sort()).toEqual(policies.map(p => p.name).sort());
    expect(new Set(listed.map((p: any[]) => p[1]))).toEqual(new Set([analyzerPb.EnforcementLevel.MANDATORY]));
});

test("a :latest container image is a mandatory violation; a pinned one passes", async () => {
    const bad = await analyze("docker:index/container:Container", { image: "nginx:latest", name: "proxy" });
    expect(bad).toEqual([expect.objectContaining({ policyName: "images-pinned", enforcementLevel: analyzerPb.EnforcementLevel.MANDATORY })]);
    expect(await analyze("docker:index/container:Container", { image: "nginx:1.28.0-alpine", name: "proxy" })).toEqual([]);
});

test("a public-read bucket and an unencrypted cluster are violations", async () => {
    expect(await analyze("aws:s3/bucket:Bucket", { acl: "public-read" })).toEqual([expect.objectContaining({ policyName: "s3-bucket-not-public" })]);
    expect(await analyze("aws:rds/cluster:Cluster", { storageEncrypted: false, deletionProtection: true }))
        .toEqual([expect.objectContaining({ policyName: "rds-encrypted-private-protected", message: expect.stringContaining("storageEncrypted") })]);
});

test("arrays and nested objects work through the server's unknown-checking proxy", async () => {
    const found = await analyze("docker:index/container:Container", {
        image: "mysql:8.4.6", name: "db", envs: ["MYSQL_DATABASE=mlflow", "MYSQL_PASSWORD=minioadmin"],
        ports: [{ internal: 3306, external: 3306, ip: "0.0.0.0", protocol: "tcp" }],
    });
    expect(found.map(d => d.policyName).sort()).toEqual(["no-data-ports-published", "secret-env-values"]);
});

/** The engine's marker for a value not known until apply (sdk/go/common/resource/plugin/rpc.go). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

function stackResource(type: string, name: string, props: object, dependsOn: string[] = []): any {
    const r = new analyzerPb.AnalyzerResource();
    r.setType(type);
    r.setName(name);
    r.setUrn(`urn:pulumi:ci::mlflow-platform::${type}::${name}`);
    r.setProperties(Struct.fromJavaScript(props));
    r.setOptions(new analyzerPb.AnalyzerResourceOptions());
    r.setDependenciesList(dependsOn);
    if (dependsOn.length > 0) {
        const deps = new analyzerPb.AnalyzerPropertyDependencies();
        deps.setUrnsList(dependsOn);
        r.getPropertydependenciesMap().set("bucket", deps);
    }
    return r;
}

test("stack policies link a bucket's block and encryption by dependency while the bucket's ID is unknown (preview)", async () => {
    const bucket = stackResource("aws:s3/bucket:Bucket", "artifacts", { bucket: "mlflow-artifacts-x" });
    const pab = stackResource("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "pab",
        { bucket: UNKNOWN, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true }, [bucket.getUrn()]);
    const sse = stackResource("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", "sse",
        { bucket: UNKNOWN, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }] }, [bucket.getUrn()]);
    const stack = async (resources: any[]) => {
        const req = new analyzerPb.AnalyzeStackRequest();
        req.setResourcesList(resources);
        const res = await call<any>("analyzeStack", req);
        return res.getDiagnosticsList().map((d: any) => `${d.getPolicyname()}: ${d.getMessage()}`);
    };
    expect(await stack([bucket, pab, sse])).toEqual([]);
    expect(await stack([bucket, pab])).toEqual([expect.stringMatching(/^s3-bucket-blocked-and-encrypted: [\s\S]*bucket artifacts has no server-side encryption/)]);
});
