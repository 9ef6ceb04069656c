// Test helpers: run a policy the way the policy server does (type, props, getConfig) and collect
// the violation messages. Used by the pack's unit tests and by the whole-program graph tests.
import { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

export interface FakeResource {
    type: string;
    name: string;
    props: Record<string, any>;
    /** Names of resources this one's inputs came from (the engine's dependency data). */
    dependsOn?: string[];
}

function urnOf(r: { type: string; name: string }): string {
    return `urn:pulumi:test::mlflow-platform::${r.type}::${r.name}`;
}

export async function violationsOf(policy: ResourceValidationPolicy, r: FakeResource, config: object = {}): Promise<string[]> {
    const messages: string[] = [];
    const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
    if (validations.some(v => v === undefined)) throw new Error(`${policy.name} has no validateResource`);
    for (const validate of validations) {
        await validate!({
            type: r.type, props: r.props, urn: urnOf(r), name: r.name,
            opts: { protect: false, ignoreChanges: [], aliases: [], additionalSecretOutputs: [], customTimeouts: {} } as any,
            stackTags: new Map(),
            isType: () => { throw new Error("policies match on type tokens, not classes"); },
            asType: () => { throw new Error("policies match on type tokens, not classes"); },
            getConfig: <T extends object>() => config as T,
            notApplicable: (reason?: string) => { throw new Error(`not applicable: ${reason}`); },
        }, (message: string) => { messages.push(message); });
    }
    return messages;
}

export async function stackViolationsOf(policy: StackValidationPolicy, resources: FakeResource[], config: object = {}): Promise<string[]> {
    const byName = new Map<string, PolicyResource>();
    const all: PolicyResource[] = resources.map(r => {
        const pr = { type: r.type, name: r.name, props: r.props, urn: urnOf(r), opts: {} as any, dependencies: [], propertyDependencies: {} } as unknown as PolicyResource;
        byName.set(r.name, pr);
        return pr;
    });
    resources.forEach((r, i) => { all[i].dependencies = (r.dependsOn ?? []).map(n => byName.get(n)!).filter(Boolean); });
    const messages: string[] = [];
    await policy.validateStack({
        resources: all, stackTags: new Map(), getConfig: <T extends object>() => config as T,
        notApplicable: (reason?: string) => { throw new Error(`not applicable: ${reason}`); },
    }, (message: string) => { messages.push(message); });
    return messages;
}
