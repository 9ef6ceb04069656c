// Renders the aws-target program under Pulumi mocks and writes the MLflow container of the
// ECS task definition (environment, secret names, image entrypoint) to a JSON file, so the
// e2e suite runs the tracking server with exactly the environment ECS would give it.
// No AWS account is involved: the mocks answer with placeholder ARNs and endpoints, which the
// suite maps to local stand-ins (see test_server_lifecycle.py).
//
// Usage (Node 22, compiled with e2e/tsconfig.json; see e2e/run):
//   node e2e/out/build/e2e/render-aws-env.js <mysql|postgres> <out.json> [key=value ...]
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { PROJECT } from "../components/config";
import { qualifyConfig, settleRegistrations, unwrapMockSecrets } from "../tests/mockValues";

const REGION = "eu-west-1";
const TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition";
/** A served model's task (components/modelServer/aws.ts), under the mocks' stack name `aws`. */
const MODEL_TASK = /^mlflow-aws-model-[a-z0-9-]+-task$/;
/** retainDataOnDestroy=false: the scheduled project prune's task and list (components/trackingServer/awsPrune.ts). */
const PRUNE_TASK = /^mlflow-aws-tracking-prune$/;
/** Garbage collection: one task per server (`<server>-gc`), not run here. */
const GC_TASK = /-gc-task-def$/;

const captured: Array<{ type: string; name: string; inputs: Record<string, unknown> }> = [];

/** One per generated password, so a test can tell the users' login from each model's reader login. */
function placeholderPassword(resourceName: string): string {
    return `e2e-placeholder-${resourceName}`;
}

/** Enough of each resource's state for the program to derive its text from. */
function state(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
    const arn = `arn:aws:mock:${REGION}:123456789012:${type.split(":")[1]}/${name}`;
    const base = { ...inputs, name: inputs.name ?? name, arn };
    switch (type) {
        case "aws:s3/bucket:Bucket":
            return { ...base, bucket: inputs.bucket ?? `${name}-0a1b2c3`, arn: `arn:aws:s3:::${name}-0a1b2c3` };
        case "aws:cloudfront/distribution:Distribution":
            return { ...base, domainName: "d111111abcdef8.cloudfront.net" };
        case "aws:rds/cluster:Cluster":
            return {
                ...base, endpoint: `${name}.cluster-abc123.${REGION}.rds.amazonaws.com`, readerEndpoint: `${name}.cluster-ro-abc123.${REGION}.rds.amazonaws.com`,
                masterUserSecrets: [{ secretArn: `arn:aws:secretsmanager:${REGION}:123456789012:secret:rds!cluster-${name}`, kmsKeyId: "", secretStatus: "active" }],
            };
        case "aws:lb/loadBalancer:LoadBalancer":
            return { ...base, dnsName: `${name}-123456789.${REGION}.elb.amazonaws.com` };
        case "aws:ecr/repository:Repository":
            return { ...base, registryId: "123456789012", repositoryUrl: `123456789012.dkr.ecr.${REGION}.amazonaws.com/${name}` };
        case "random:index/randomPassword:RandomPassword":
            return { ...inputs, result: placeholderPassword(name), bcryptHash: `$2b$10$${"a".repeat(53)}` };
        case "aws:secretsmanager/secretVersion:SecretVersion":
            // The task definitions pin secrets to their version (shared/ecs.ts).
            return { ...base, versionId: `${name}-v1` };
        case "random:index/randomString:RandomString":
            // The proxy's htpasswd salt (components/shared/credentials.ts) is cut from this.
            return { ...inputs, result: "abcdefghijklmnopqrstuv".slice(0, Number(inputs.length ?? 22)) };
        default:
            return base;
    }
}

const mocks: pulumi.runtime.Mocks = {
    newResource(args) {
        const inputs = unwrapMockSecrets(args.inputs).value as Record<string, unknown>;
        captured.push({ type: args.type, name: args.name, inputs });
        return { id: `${args.name}-id`, state: state(args.type, args.name, inputs) };
    },
    call(args) {
        switch (args.token) {
            case "aws:index/getAvailabilityZones:getAvailabilityZones":
                return { id: REGION, names: [`${REGION}a`, `${REGION}b`], zoneIds: ["euw1-az1", "euw1-az2"] };
            case "aws:index/getRegion:getRegion":
                return { id: REGION, region: REGION, name: REGION };
            case "aws:ec2/getManagedPrefixList:getManagedPrefixList":
                // CloudFront's origin-facing list (the default stack's load balancer admits only it).
                return { id: "pl-3b927c52", name: "com.amazonaws.global.cloudfront.origin-facing", addressFamily: "IPv4", maxEntries: 55, entries: [] };
            case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
                return { id: "123456789012", userName: "AWS", password: "placeholder", proxyEndpoint: `https://123456789012.dkr.ecr.${REGION}.amazonaws.com` };
            default:
                throw new Error(`render-aws-env: unexpected provider function call ${args.token}`);
        }
    },
};


interface ContainerDef {
    name: string; entryPoint?: string[]; essential?: boolean; dependsOn?: unknown[]; command?: string[];
    environment?: Array<{ name: string; value: string }>; secrets?: Array<{ name: string; valueFrom: string }>;
    portMappings?: Array<{ containerPort: number }>;
}

/**
 * What ECS would inject for a `secrets` entry: the value stored in the Secrets Manager secret
 * the ARN names, at the version the task definition pins (`<arn>:::<versionId>`).
 */
function secretValue(valueFrom: string): string {
    const m = /^(arn:aws:mock:[^:]+:\d+:secretsmanager\/secret\/([^:]+)):::(.+)$/.exec(valueFrom);
    if (!m) throw new Error(`render-aws-env: not a version-pinned secret reference: ${valueFrom}`);
    const version = captured.find(c => c.type === "aws:secretsmanager/secretVersion:SecretVersion" && c.inputs.secretId === `${m[2]}-id`);
    if (!version || m[3] !== `${version.name}-v1`) throw new Error(`render-aws-env: no secret version ${m[3]} of ${m[2]}`);
    return String(version.inputs.secretString);
}

const envOf = (c: ContainerDef) => Object.fromEntries((c.environment ?? []).map(e => [e.name, e.value]));

/**
 * Served models (test_serving_aws.py): the tracking sidecar as ECS would start it (its config,
 * ports, command, and the files its secrets hold) and each model task's supervisor environment
 * with the secrets ECS injects, resolved from the secrets their ARNs name.
 */
function servingSpec(tracking: { name: string; inputs: Record<string, unknown> }, models: Array<{ name: string; inputs: Record<string, unknown> }>) {
    const proxy = containerOf(tracking, "proxy");
    const resolve = (c: ContainerDef) => Object.fromEntries((c.secrets ?? []).map(x => [x.name, secretValue(x.valueFrom)]));
    return {
        sidecar: { environment: envOf(proxy), secrets: resolve(proxy), command: proxy.command, ports: (proxy.portMappings ?? []).map(p => p.containerPort) },
        models: Object.fromEntries(models.map(t => {
            const model = containerOf(t, "model");
            return [envOf(model).MLFLOW_SERVE_MODEL_NAME, { environment: envOf(model), secrets: resolve(model) }];
        })),
        // The users' password (the proxy's RandomPassword): the test logs in as a user too.
        userPassword: placeholderPassword(captured.find(c => c.type === "random:index/randomPassword:RandomPassword" && /-proxy-password$/.test(c.name))!.name),
    };
}

function containerOf(taskDefinition: { name: string; inputs: Record<string, unknown> }, name: string): ContainerDef {
    const containers = JSON.parse(String(taskDefinition.inputs.containerDefinitions)) as ContainerDef[];
    const found = containers.find(c => c.name === name);
    if (!found) throw new Error(`no ${name} container in ${taskDefinition.name} (${containers.map(c => c.name).join(", ")})`);
    return found;
}

async function main(): Promise<void> {
    const [backend, outFile, ...extra] = process.argv.slice(2);
    if ((backend !== "mysql" && backend !== "postgres") || !outFile) {
        throw new Error("usage: render-aws-env <mysql|postgres> <out.json> [key=value ...]");
    }
    const config: Record<string, string> = { target: "aws", backend, "aws:region": REGION };
    for (const kv of extra) {
        const eq = kv.indexOf("=");
        if (eq <= 0) throw new Error(`expected key=value, got ${kv}`);
        config[kv.slice(0, eq)] = kv.slice(eq + 1);
    }
    await pulumi.runtime.setMocks(mocks, PROJECT, "aws", false);
    pulumi.runtime.setAllConfig(qualifyConfig(config));
    await import("../index");
    await settleRegistrations(captured, "render-aws-env");
    const taskDefinitions = captured.filter(c => c.type === TASK_DEFINITION);
    // The server at / and, with `projects`, one task per project (test_projects.py runs their init containers).
    const root = taskDefinitions.filter(t => !t.name.includes("-project-") && !MODEL_TASK.test(t.name) && !PRUNE_TASK.test(t.name) && !GC_TASK.test(t.name));
    if (root.length !== 1) throw new Error(`expected one ECS task definition for /, found ${root.length}`);
    const mlflow = containerOf(root[0], "mlflow");
    const environment = Object.fromEntries((mlflow.environment ?? []).map(e => [e.name, e.value]));
    const projects: Record<string, Record<string, unknown>> = {};
    for (const t of taskDefinitions.filter(d => d.name.includes("-project-") && !GC_TASK.test(d.name))) {
        const name = /-project-([a-z0-9-]+)-tracking-task$/.exec(t.name)?.[1];
        if (name === undefined) throw new Error(`unexpected task definition ${t.name}`);
        projects[name] = Object.fromEntries(["mlflow", "project-db-init"].map(c => [c, containerOf(t, c)]));
    }
    const models = taskDefinitions.filter(d => MODEL_TASK.test(d.name));
    // retainDataOnDestroy=false: the prune task's container and the list parameter (test_project_prune_aws.py runs it).
    const rootContainers = JSON.parse(String(root[0].inputs.containerDefinitions)) as ContainerDef[];
    const pruneTask = taskDefinitions.find(t => PRUNE_TASK.test(t.name));
    const list = captured.find(c => c.type === "aws:ssm/parameter:Parameter" && c.name === "mlflow-aws-tracking-prune-projects");
    const prune = pruneTask === undefined ? undefined : {
        container: containerOf(pruneTask, "project-prune"),
        containers: (JSON.parse(String(pruneTask.inputs.containerDefinitions)) as ContainerDef[]).map(c => c.name),
        rootContainers: rootContainers.map(c => c.name),
        mlflowEnvironment: environment,
        list: { value: list?.inputs.insecureValue, type: list?.inputs.type },
    };
    const out = {
        backend, config, environment, secrets: (mlflow.secrets ?? []).map(s => s.name),
        ...(Object.keys(projects).length > 0 ? { projects } : {}),
        ...(models.length > 0 ? { serving: servingSpec(root[0], models) } : {}),
        ...(prune === undefined ? {} : { prune }),
    };
    fs.mkdirSync(path.dirname(outFile), { recursive: true });
    fs.writeFileSync(outFile, JSON.stringify(out, null, 2), { mode: 0o600 });
    console.log(`render-aws-env: ${backend}: ${Object.keys(environment).length} variables, secrets ${out.secrets.join(", ")} -> ${outFile}`);
}

main().catch(err => {
    console.error(`render-aws-env failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
    process.exit(1);
});
