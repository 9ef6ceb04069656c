// `npm run cost`: the idle monthly cost of the aws stack. Evaluates the program for the aws
// target under Pulumi mocks (no AWS account, nothing created), as e2e/render-spec.ts does for
// the local target, and prices the registered resources with cost/pricing.ts.
//
// Usage (Node 22): npm run cost [-- key=value ...]   extra stack config, e.g. taskArchitecture=X86_64
// Prices are us-east-1 list prices, so the stack is evaluated in us-east-1.
// Each project's own cost is printed after the total; without projects, a sample project is
// evaluated beside the stack and priced alone (the total leaves it out).
import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "../components/config";
import { formatCost, idleCost, PricedResource, PRICES, projectCostLine, splitProjects } from "./pricing";
import { qualifyConfig, unwrapMockSecrets } from "../tests/mockValues";

const REGION = PRICES.region;
const graph: PricedResource[] = [];

// Provider functions the aws graph calls, answered with us-east-1-shaped values.
function call(token: string): Record<string, unknown> {
    switch (token) {
        case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return { id: REGION, names: [`${REGION}a`, `${REGION}b`, `${REGION}c`], zoneIds: ["use1-az1", "use1-az2", "use1-az4"] };
        case "aws:index/getRegion:getRegion":
            return { id: REGION, region: REGION, name: REGION, description: "US East (N. Virginia)", endpoint: `ec2.${REGION}.amazonaws.com` };
        case "aws:ec2/getManagedPrefixList:getManagedPrefixList":
            // CloudFront's origin-facing list (the default stack's load balancer admits only it).
            return { id: "pl-3b927c52", name: "com.amazonaws.global.cloudfront.origin-facing", addressFamily: "IPv4", maxEntries: 55, entries: [] };
        case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return { id: "123456789012", userName: "AWS", password: "mock", authorizationToken: "bW9jaw==", proxyEndpoint: "https://mock", expiresAt: "2030-01-01T00:00:00Z", registryId: "123456789012" };
        default:
            throw new Error(`cost: unexpected provider function call ${token}; teach cost/cost.ts about it`);
    }
}

function state(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    const arn = `arn:aws:mock:${REGION}:123456789012:${type.split(":")[1]}/${name}`;
    switch (type) {
        case "random:index/randomPassword:RandomPassword":
            return { ...inputs, result: "mock-password-0123456789", bcryptHash: `$2b$10$${"a".repeat(53)}` };
        case "random:index/randomString:RandomString":
            return { ...inputs, result: "abcdefghijklmnopqrstuv".slice(0, Number(inputs.length ?? 22)) };
        case "aws:s3/bucket:Bucket": {
            const bucket = typeof inputs.bucket === "string" ? inputs.bucket : `${name}-0a1b2c3`;
            return { ...inputs, bucket, arn: `arn:aws:s3:::${bucket}` };
        }
        case "aws:cloudfront/distribution:Distribution":
            return { ...inputs, arn, domainName: "d111111abcdef8.cloudfront.net" };
        case "aws:rds/cluster:Cluster":
            return {
                ...inputs, arn, endpoint: `${name}.cluster-x.${REGION}.rds.amazonaws.com`, readerEndpoint: `${name}.cluster-ro-x.${REGION}.rds.amazonaws.com`,
                masterUserSecrets: [{ secretArn: `${arn}-secret` }],
            };
        case "aws:ecr/repository:Repository":
            return { ...inputs, name, arn, registryId: "123456789012", repositoryUrl: `123456789012.dkr.ecr.${REGION}.amazonaws.com/${name}` };
        case "aws:lb/loadBalancer:LoadBalancer":
            return { ...inputs, arn, dnsName: `${name}.${REGION}.elb.amazonaws.com` };
        default:
            return { ...inputs, name: inputs.name ?? name, arn };
    }
}

async function settle(): Promise<void> {
    let last = -1;
    for (let i = 0; i < 200; i++) {
        await new Promise(r => setTimeout(r, 50));
        if (graph.length === last && i > 10) return;
        last = graph.length;
    }
    throw new Error("cost: resources kept being registered for 10 s");
}

/** Project names of a `projects` value (a JSON list or a comma-separated one, entries `name[:user]`). */
function projectNamesOf(value: string | undefined): string[] {
    if (value === undefined) return [];
    let entries: unknown;
    try {
        entries = JSON.parse(value);
    } catch {
        entries = value.split(",").map(e => e.trim()).filter(e => e !== "");
    }
    return Array.isArray(entries) ? entries.map(e => String(e).split(":")[0]) : [];
}

/** A project name no stack uses, for the per-project line of a stack without projects. */
const SAMPLE_PROJECT = "cost-sample";

async function main(): Promise<void> {
    const config: Record<string, string> = { "aws:region": REGION, target: "aws" };
    for (const kv of process.argv.slice(2)) {
        const eq = kv.indexOf("=");
        if (eq <= 0) throw new Error(`expected key=value, got ${kv}`);
        config[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    const projects = projectNamesOf(config.projects);
    const sample = projects.length === 0;
    if (sample) config.projects = JSON.stringify([SAMPLE_PROJECT]);
    await pulumi.runtime.setMocks({
        newResource(args) {
            const inputs = unwrapMockSecrets(args.inputs).value as Record<string, unknown>;
            graph.push({ type: args.type, name: args.name, inputs });
            return { id: `${args.name}-id`, state: state(args.type, args.name, inputs) };
        },
        call(args) { return call(args.token); },
    }, PROJECT, "aws", false);
    pulumi.runtime.setAllConfig(qualifyConfig(config));
    await import("../index");
    await settle();
    const extra = process.argv.slice(2);
    const split = splitProjects(graph, sample ? [SAMPLE_PROJECT] : projects);
    const stack = sample ? split.stack : graph;
    const projectLines = sample
        ? [projectCostLine("Per added project", split.byProject[SAMPLE_PROJECT])]
        : projects.map(p => projectCostLine(`Project ${p} (included above)`, split.byProject[p]));
    console.log(`Idle cost of the aws stack${extra.length ? ` with ${extra.join(" ")}` : " (defaults)"}, ${stack.length} resources:`);
    console.log(formatCost(idleCost(stack), projectLines));
}

main().catch(err => {
    console.error(`cost failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(1);
});
