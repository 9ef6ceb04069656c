// Runs the program under Pulumi mocks and records every resource it registers, so tests
// assert the resource graph exactly. Each call gets a fresh module registry: the program
// runs once per call, with its own config.
import { createHash } from "crypto";
import type * as pulumiType from "@pulumi/pulumi";
import { inspect } from "util";
import { PROJECT } from "../components/config";
import { qualifiedType, resolveAliasUrns } from "./aliasUrns";
import { qualifyConfig, unwrapMockSecrets } from "./mockValues";

export interface RecordedResource {
    readonly type: string;
    readonly name: string;
    /** Inputs as the provider receives them: secrets unwrapped to plain values. */
    readonly inputs: Record<string, any>;
    /** Names of the inputs that arrived marked secret. */
    readonly secretInputs: string[];
    /** Resource options the mocks do not see, captured by a stack transformation. */
    readonly options: { retainOnDelete?: boolean; deleteBeforeReplace?: boolean; parent?: string; dependsOn?: string[] };
    /** The URN Pulumi gives this resource: stack, project, parent types joined by `$`, name. */
    readonly urn: string;
    /**
     * The URNs the engine takes as this resource's earlier identity: its own `aliases` and,
     * as the engine derives them, one per alias of each ancestor (aliasUrns.ts).
     */
    readonly aliasUrns: string[];
}

export interface ProgramRun {
    readonly resources: RecordedResource[];
    /**
     * By URN: the URNs of every resource this one waits for, as the engine orders them (its
     * `dependsOn`, expanded to a component's children, and every resource its inputs came from).
     */
    readonly dependencies: ReadonlyMap<string, readonly string[]>;
    /** Whether `from` waits for `to`, directly or through other resources. */
    dependsOn(from: RecordedResource, to: RecordedResource): boolean;
    /** Stack outputs by export name, resolved. */
    readonly outputs: Record<string, unknown>;
    /** Which outputs are marked secret. */
    readonly secretOutputs: Record<string, boolean>;
    ofType(type: string): RecordedResource[];
    one(type: string, namePattern?: RegExp): RecordedResource;
}

export type CallHandler = (token: string, inputs: Record<string, any>) => Record<string, any> | undefined;

/** What fake providers answer: realistic values where the program derives text from them. */
function mockState(type: string, name: string, inputs: Record<string, any>): Record<string, any> {
    switch (type) {
        case "random:index/randomPassword:RandomPassword":
            // A fixed, recognisable value per resource so tests can look for leaks of it.
            return { ...inputs, result: `pw-${name}-S3cret!@:%`, bcryptHash: `$2b$10$${"a".repeat(22)}${"b".repeat(31)}` };
        case "random:index/randomString:RandomString":
            return { ...inputs, result: "abcdefghijklmnopqrstuv".slice(0, inputs.length ?? 22) };
        case "docker:index/remoteImage:RemoteImage":
            return { ...inputs, imageId: `sha256:${name}`, repoDigest: `${inputs.name}@sha256:0000` };
        case "docker:index/image:Image":
            return { ...inputs, repoDigest: "", baseImageName: inputs.imageName };
        case "aws:secretsmanager/secretVersion:SecretVersion":
            // Secrets Manager gives each stored value a new version id.
            return { ...inputs, versionId: mockVersionId(name, inputs.secretString) };
        case "docker:index/container:Container":
            return { ...inputs, exitCode: 0 };
        // AWS: the attributes the program derives text from (ARNs, names, endpoints).
        case "aws:s3/bucket:Bucket": {
            const bucket = inputs.bucket ?? `${name}-0a1b2c3`;
            return { ...inputs, bucket, arn: `arn:aws:s3:::${bucket}` };
        }
        case "aws:rds/cluster:Cluster":
            return {
                ...inputs,
                clusterIdentifier: inputs.clusterIdentifier ?? `${name}-0a1b2c3`,
                endpoint: `${name}.cluster-abc123.eu-west-1.rds.amazonaws.com`,
                readerEndpoint: `${name}.cluster-ro-abc123.eu-west-1.rds.amazonaws.com`,
                masterUserSecrets: [{ secretArn: `arn:aws:secretsmanager:eu-west-1:123456789012:secret:rds!cluster-${name}-AbCdEf`, kmsKeyId: "", secretStatus: "active" }],
            };
        case "aws:lb/loadBalancer:LoadBalancer":
            return {
                ...inputs, arn: `arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/${name}/0123`, arnSuffix: `app/${name}/0123`,
                dnsName: `${name}-123456789.eu-west-1.elb.amazonaws.com`,
            };
        case "aws:lb/targetGroup:TargetGroup":
            // The ARN as for the types below; the suffix is CloudWatch's TargetGroup dimension.
            return { ...inputs, name: inputs.name ?? name, arn: `arn:aws:mock:eu-west-1:123456789012:${type.split(":")[1]}/${name}`, arnSuffix: `targetgroup/${name}/4567` };
        case "aws:cloudfront/distribution:Distribution":
            return { ...inputs, arn: `arn:aws:cloudfront::123456789012:distribution/E${name.length}ABCDEF`, domainName: "d111111abcdef8.cloudfront.net" };
        case "aws:ecr/repository:Repository":
            return { ...inputs, name, arn: `arn:aws:ecr:eu-west-1:123456789012:repository/${name}`, registryId: "123456789012", repositoryUrl: `123456789012.dkr.ecr.eu-west-1.amazonaws.com/${name}` };
        case "aws:lb/listener:Listener":
        case "aws:secretsmanager/secret:Secret":
        case "aws:cloudwatch/logGroup:LogGroup":
        case "aws:iam/role:Role":
        case "aws:iam/policy:Policy":
        case "aws:ecs/cluster:Cluster":
        case "aws:ecs/taskDefinition:TaskDefinition":
        case "aws:ecs/service:Service":
        case "aws:rds/subnetGroup:SubnetGroup":
        case "aws:rds/clusterParameterGroup:ClusterParameterGroup":
        case "aws:servicediscovery/service:Service":
        case "aws:ssm/parameter:Parameter":
        case "aws:sns/topic:Topic":
        case "aws:cloudwatch/metricAlarm:MetricAlarm":
            return { ...inputs, name: inputs.name ?? name, arn: `arn:aws:mock:eu-west-1:123456789012:${type.split(":")[1]}/${name}` };
        default:
            return { ...inputs };
    }
}

export async function runProgram(opts: {
    stack: string;
    config: Record<string, string>;
    calls?: CallHandler;
    preview?: boolean;
    /** Another program than this stack's index.ts (loaded inside the mocked runtime), and its project name. */
    program?: () => Promise<Record<string, unknown>>;
    project?: string;
}): Promise<ProgramRun> {
    const project = opts.project ?? PROJECT;
    const resources: RecordedResource[] = [];
    const options = new Map<string, RecordedResource["options"]>();
    const qualifiedTypes = new Map<string, string>();
    const aliasUrns = new Map<string, string[]>();
    // The mock monitor's URNs carry only the parent's type: keyed by type and name until resolved.
    const dependencyKeys = new Map<string, string[]>();
    let run: ProgramRun | undefined;
    await jestIsolated(async () => {
        const pulumi: typeof pulumiType = await import("@pulumi/pulumi");
        await pulumi.runtime.setMocks({
            newResource(args) {
                const { value: inputs, secretPaths } = unwrapMockSecrets(args.inputs);
                const secretInputs = [...new Set(secretPaths.map(p => p.split(/[.[]/)[0]))];
                if (args.type === "pulumi:pulumi:Stack") return { id: `${args.name}-id`, state: {} };
                const qualified = qualifiedTypes.get(`${args.type}::${args.name}`) ?? args.type;
                const urn = `urn:pulumi:${opts.stack}::${project}::${qualified}::${args.name}`;
                const aliases = aliasUrns.get(`${args.type}::${args.name}`) ?? [];
                resources.push({ type: args.type, name: args.name, inputs, secretInputs, options: options.get(`${args.type}::${args.name}`) ?? {}, urn, aliasUrns: aliases });
                return { id: `${args.name}-id`, state: mockState(args.type, args.name, inputs) };
            },
            call(args) {
                const answer = opts.calls?.(args.token, args.inputs);
                if (answer === undefined) throw new Error(`unexpected function call in mocks: ${args.token}`);
                return answer;
            },
        }, project, opts.stack, opts.preview ?? false);
        recordDependencies(pulumi, dependencyKeys);
        pulumi.runtime.setAllConfig(qualifyConfig(opts.config));
        let program: Record<string, unknown> = {};
        // Inside a stack, as `pulumi up` runs it, so stack transformations can see resource options.
        await pulumi.runtime.runInPulumiStack(async () => {
            pulumi.runtime.registerStackTransformation(t => {
                const parent = t.opts.parent;
                const deleteBeforeReplace = (t.opts as pulumiType.CustomResourceOptions).deleteBeforeReplace;
                // By type and name: a subnet and its route table association share a name.
                // dependsOn as resource names (plain resources only: what the program passes).
                const deps = t.opts.dependsOn === undefined ? undefined : ([] as unknown[]).concat(t.opts.dependsOn as unknown[]).map(d => (d as any).__name as string);
                options.set(`${t.type}::${t.name}`, {
                    retainOnDelete: t.opts.retainOnDelete, deleteBeforeReplace, parent: parent ? (parent as any).__name : undefined, ...(deps === undefined ? {} : { dependsOn: deps }),
                });
                qualifiedTypes.set(`${t.type}::${t.name}`, qualifiedType(t.type, parent));
                aliasUrns.set(`${t.type}::${t.name}`, resolveAliasUrns({ stack: opts.stack, project, type: t.type, name: t.name, parent, aliases: t.opts.aliases, aliasUrnsOf: aliasUrns }));
                return undefined;
            });
            program = await (opts.program ?? (() => import("../index")))();
            return program;
        });
        const outputs: Record<string, unknown> = {};
        const secretOutputs: Record<string, boolean> = {};
        // `export =` modules also show up under `default` when imported.
        for (const [key, value] of Object.entries(program).filter(([k]) => k !== "default")) {
            if (pulumi.Output.isInstance(value)) {
                outputs[key] = await new Promise(resolve => value.apply(v => { resolve(v); return v; }));
                secretOutputs[key] = await pulumi.isSecret(value);
            } else {
                outputs[key] = value;
            }
        }
        await pulumi.runtime.disconnect();
        const dependencies = resolveDependencies(resources, dependencyKeys);
        run = {
            resources,
            dependencies,
            dependsOn: (from, to) => reaches(dependencies, from.urn, to.urn),
            outputs,
            secretOutputs,
            ofType: (type: string) => resources.filter(r => r.type === type),
            one(type: string, namePattern?: RegExp) {
                const matches = resources.filter(r => r.type === type && (!namePattern || namePattern.test(r.name)));
                if (matches.length !== 1) {
                    throw new Error(`expected one ${type}${namePattern ? ` matching ${namePattern}` : ""}, found ${matches.map(m => m.name).join(", ") || "none"}`);
                }
                return matches[0];
            },
        };
    });
    return run!;
}

/**
 * Wraps the mock monitor's registerResource to keep each request's direct dependencies (the
 * URNs the SDK sends: explicit `dependsOn` and the resources behind every input), by the
 * dependent's and the dependency's type and name.
 */
function recordDependencies(pulumi: typeof pulumiType, into: Map<string, string[]>): void {
    const monitor = (pulumi.runtime as any).getMonitor();
    const register = monitor.registerResource.bind(monitor);
    monitor.registerResource = (req: any, callback: unknown) => {
        const key = (urn: string) => { const [, , qualified, ...name] = urn.split("::"); return `${qualified.split("$").pop()}::${name.join("::")}`; };
        into.set(`${req.getType()}::${req.getName()}`, (req.getDependenciesList() as string[]).map(key));
        return register(req, callback);
    };
}

/** The recorded dependencies as the harness's URNs; a dependency on the stack is left out. */
function resolveDependencies(resources: RecordedResource[], keys: Map<string, string[]>): Map<string, string[]> {
    const urnOf = new Map(resources.map(r => [`${r.type}::${r.name}`, r.urn]));
    const out = new Map<string, string[]>();
    for (const r of resources) {
        const deps = (keys.get(`${r.type}::${r.name}`) ?? []).filter(k => !k.startsWith("pulumi:pulumi:Stack::"));
        out.set(r.urn, [...new Set(deps.map(k => {
            const urn = urnOf.get(k);
            if (urn === undefined) throw new Error(`${r.urn} depends on ${k}, which was not registered`);
            return urn;
        }))].sort());
    }
    return out;
}

function reaches(dependencies: ReadonlyMap<string, readonly string[]>, from: string, to: string): boolean {
    const seen = new Set<string>();
    const stack = [...(dependencies.get(from) ?? [])];
    while (stack.length > 0) {
        const next = stack.pop()!;
        if (next === to) return true;
        if (seen.has(next)) continue;
        seen.add(next);
        stack.push(...(dependencies.get(next) ?? []));
    }
    return false;
}

/**
 * Runs a program that must fail, outside a stack (a failing stack init would crash the test
 * worker), and reports the error and how many resources were registered before it.
 */
export async function runFailingProgram(opts: { stack: string; config: Record<string, string> }): Promise<{ error: Error; registered: number }> {
    let registered = 0;
    let error: Error | undefined;
    await jestIsolated(async () => {
        const pulumi: typeof pulumiType = await import("@pulumi/pulumi");
        await pulumi.runtime.setMocks({
            newResource(args) { registered++; return { id: `${args.name}-id`, state: args.inputs }; },
            call() { throw new Error("no calls expected"); },
        }, PROJECT, opts.stack, false);
        pulumi.runtime.setAllConfig(qualifyConfig(opts.config));
        try {
            await import("../index");
        } catch (e) {
            error = e as Error;
        }
        await pulumi.runtime.disconnect();
    });
    if (!error) throw new Error("the program was expected to fail but did not");
    return { error, registered };
}

/** The program and the Pulumi runtime keep module-level state: give each run its own modules. */
async function jestIsolated(fn: () => Promise<void>): Promise<void> {
    let failure: unknown;
    // Pulumi records each resource's source position from `new Error().stack`; jest's
    // source-mapped stack formatting makes that cost ~50 ms a resource. V8's own is enough.
    const errorClass = Error as { prepareStackTrace?: unknown };
    const prepareStackTrace = errorClass.prepareStackTrace;
    errorClass.prepareStackTrace = undefined;
    try {
        await jest.isolateModulesAsync(async () => {
            try { await fn(); } catch (e) { failure = e; }
        });
    } finally {
        errorClass.prepareStackTrace = prepareStackTrace;
    }
    if (failure) throw failure instanceof Error ? failure : new Error(`non-Error thrown: ${inspect(failure)}`);
}

/** Docker `envs` ("K=V") as a record. */
export function envRecord(envs: string[] | undefined): Record<string, string> {
    const out: Record<string, string> = {};
    for (const entry of envs ?? []) {
        const i = entry.indexOf("=");
        out[entry.slice(0, i)] = entry.slice(i + 1);
    }
    return out;
}

/** What the mocks answer as a SecretVersion's id: new for every stored value, like Secrets Manager's. */
export function mockVersionId(name: string, secretString: unknown): string {
    return `${name}-${createHash("sha256").update(typeof secretString === "string" ? secretString : JSON.stringify(secretString ?? "")).digest("hex").slice(0, 12)}`;
}
