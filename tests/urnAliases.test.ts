// Stacks deployed before MlflowPlatform existed had every component at the stack's root. Moving
// them under the platform must replace nothing: every URN of those stacks (tests/urns/pre-platform,
// as committed before the move) must still name exactly one resource, by its URN or through its
// aliases, with the same type and the same inputs. The inputs are committed as hashes beside each
// set, keyed by the old URN; rewrite them only for a change meant to alter inputs:
//   WRITE_URN_INPUTS=1 npx jest tests/urnAliases.test.ts
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { awsCalls as calls, REGION } from "./awsMocks";
import { ProgramRun, RecordedResource, runProgram } from "./harness";

const DEV = { target: "local", backend: "mysql", hostPort: "5000", bindAddress: "127.0.0.1" };
const AWS = { "aws:region": REGION, target: "aws" };
const PROJECTS = JSON.stringify(["alpha", "beta-2:bob", "gamma"]);
const MODELS = '["churn","Fraud.Detector@challenger"]';
const VPC = {
    vpcId: "vpc-0123456789abcdef0",
    publicSubnetIds: JSON.stringify(["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"]),
    privateSubnetIds: JSON.stringify(["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"]),
};

/** Each committed URN set and a stack config that produces it (the one its own test uses). */
const GRAPHS: [string, string, Record<string, string>][] = [
    ["dev-mysql", "dev", DEV],
    ["dev-postgres", "dev", { ...DEV, backend: "postgres" }],
    ["dev-mysql-projects", "dev", { ...DEV, mlflowWorkers: "2", projects: PROJECTS }],
    ["dev-serving", "dev", { ...DEV, servedModels: MODELS, servingWorkers: "2", servingPollSeconds: "5" }],
    ["aws-mysql", "aws", { ...AWS, backend: "mysql" }],
    ["aws-postgres", "aws", {
        ...AWS, backend: "postgres", certificateArn: "arn:aws:acm:eu-west-1:123456789012:certificate/abc", domainName: "mlflow.example.com",
        ingressCidrs: JSON.stringify(["203.0.113.0/24", "198.51.100.7/32"]), dbMinCapacity: "0.5", dbMaxCapacity: "4",
        noncurrentVersionExpirationDays: "45", retainDataOnDestroy: "false", taskArchitecture: "X86_64", taskCpu: "1024", taskMemory: "2048", ...VPC,
    }],
    ["aws-mysql-plain-http", "aws", { ...AWS, plainHttp: "true", ingressCidrs: '["10.0.0.0/8"]' }],
    ["aws-mysql-projects", "aws", { ...AWS, dbMaxCapacity: "8", projects: PROJECTS }],
    ["aws-serving", "aws", { ...AWS, backend: "mysql", servedModels: MODELS, servingWorkers: "2", servingPollSeconds: "5" }],
];

const URNS = path.join(__dirname, "urns", "pre-platform");

function canonical(v: unknown): unknown {
    if (Array.isArray(v)) return v.map(canonical);
    if (typeof v === "object" && v !== null) return Object.fromEntries(Object.keys(v).sort().map(k => [k, canonical((v as Record<string, unknown>)[k])]));
    return v;
}

const CHECKOUT = path.resolve(__dirname, "..");

/**
 * What the provider is asked for: inputs and which of them are secret. The local image's build
 * context is an absolute path into the checkout, the same for every stack run from one
 * checkout: it is hashed as `<checkout>` so the committed hashes hold in any clone.
 */
function inputsHash(r: RecordedResource): string {
    const text = JSON.stringify(canonical({ inputs: r.inputs, secret: [...r.secretInputs].sort() })).split(CHECKOUT).join("<checkout>");
    return createHash("sha256").update(text).digest("hex").slice(0, 32);
}

function typeOf(urn: string): string {
    const qualified = urn.split("::")[2];
    return qualified.slice(qualified.lastIndexOf("$") + 1);
}

/** The resource each old URN now names: by its own URN or one of its aliases. */
function matches(run: ProgramRun, oldUrn: string): RecordedResource[] {
    return run.resources.filter(r => r.urn === oldUrn || r.aliasUrns.includes(oldUrn));
}

describe.each(GRAPHS)("%s: every resource a deployed stack has keeps its identity", (graph, stack, config) => {
    let run: ProgramRun;
    const committed = JSON.parse(fs.readFileSync(path.join(URNS, `${graph}.json`), "utf8")) as string[];
    const hashesFile = path.join(URNS, `${graph}.inputs.json`);
    beforeAll(async () => {
        run = await runProgram({ stack, config, calls });
        if (process.env.WRITE_URN_INPUTS === "1") {
            const byOldUrn = committed.map(u => [u, inputsHash(matches(run, u)[0])]);
            fs.writeFileSync(hashesFile, `${JSON.stringify(Object.fromEntries(byOldUrn), null, 2)}\n`);
        }
    });

    test("each committed URN is the URN or an alias of exactly one resource, of the same type", () => {
        const misses = committed.filter(u => matches(run, u).length !== 1);
        expect(misses).toEqual([]);
        for (const u of committed) expect(matches(run, u)[0].type).toBe(typeOf(u));
    });

    test("that resource gets the same inputs, secrets included", () => {
        const hashes = JSON.parse(fs.readFileSync(hashesFile, "utf8")) as Record<string, string>;
        expect(Object.keys(hashes).sort()).toEqual(committed);
        const changed = committed.filter(u => inputsHash(matches(run, u)[0]) !== hashes[u]);
        expect(changed).toEqual([]);
    });

    test("nothing new but the platform component itself, the scheduled garbage collection, the backup, on aws the monitoring (all new, on by default) and the local metrics scraper's login", () => {
        const known = new Set(committed);
        const gc = (r: RecordedResource) => r.urn.includes("mlflow:index:GarbageCollection") || r.urn.includes("mlflow:index:Backup");
        const monitoring = (r: RecordedResource) => r.urn.includes("mlflow:index:Monitoring");
        expect(run.resources.filter(gc).length).toBeGreaterThan(0);
        expect(run.resources.some(monitoring)).toBe(config.target === "aws");
        // The Prometheus scraper's password and htpasswd salt (docs/observability.md), local target only.
        const scraper = (r: RecordedResource) => /-proxy-metrics-(password|salt)$/.test(r.name) && r.urn.includes("mlflow:index:AuthProxy$random:");
        const added = run.resources.filter(r => !gc(r) && !monitoring(r) && !scraper(r) && !known.has(r.urn) && !r.aliasUrns.some(a => known.has(a)));
        expect(added.map(r => r.type)).toEqual(added.length === 0 ? [] : ["mlflow:index:MlflowPlatform"]);
        expect(run.resources.filter(scraper).length).toBe(graph.startsWith("dev") ? 2 : 0);
    });
});
