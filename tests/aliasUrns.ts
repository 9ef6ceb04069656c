// The URNs the engine accepts as a resource's earlier identity, computed as Pulumi does:
// its own `aliases` (each field defaulting to the resource's current one), and for every
// alias URN of its parent the same child under that parent (the engine derives children's
// aliases from their parent's; Pulumi docs, "Refactoring with aliases"). The mocks never see them.
import type * as pulumiType from "@pulumi/pulumi";

const STACK_TYPE = "pulumi:pulumi:Stack";

/**
 * A resource's type qualified by its ancestors' types, as the engine builds URNs: every
 * parent's type joined by `$`, the root stack left out.
 */
export function qualifiedType(type: string, parent: pulumiType.Resource | undefined): string {
    const chain = [type];
    for (let p: any = parent; p !== undefined; p = p.__parentResource) {
        if (p.__pulumiType !== STACK_TYPE) chain.unshift(p.__pulumiType);
    }
    return chain.join("$");
}

/** `name` of type `type` as a child of the resource whose URN is `parentUrn` (undefined: the stack). */
function childUrn(stack: string, project: string, type: string, name: string, parentUrn: string | undefined): string {
    if (parentUrn === undefined) return `urn:pulumi:${stack}::${project}::${type}::${name}`;
    const prefix = parentUrn.slice(0, parentUrn.lastIndexOf("::"));
    return `${prefix}$${type}::${name}`;
}

function urnOf(stack: string, project: string, r: any): string | undefined {
    if (r === undefined || r.__pulumiType === STACK_TYPE) return undefined;
    return childUrn(stack, project, qualifiedType(r.__pulumiType, r.__parentResource), r.__name, urnOf(stack, project, r.__parentResource));
}

export function resolveAliasUrns(a: {
    stack: string; project: string; type: string; name: string;
    parent: pulumiType.Resource | undefined;
    aliases: pulumiType.Input<string | pulumiType.Alias>[] | undefined;
    /** Alias URNs already resolved, by "type::name" (parents register before children). */
    aliasUrnsOf: ReadonlyMap<string, string[]>;
}): string[] {
    const parentUrn = urnOf(a.stack, a.project, a.parent);
    const out = new Set<string>();
    for (const alias of a.aliases ?? []) {
        if (typeof alias === "string") { out.add(alias); continue; }
        const spec = alias as pulumiType.Alias;
        if (spec.stack !== undefined || spec.project !== undefined) throw new Error("aliases across stacks or projects are not modelled");
        if ((spec.name !== undefined && typeof spec.name !== "string") || (spec.type !== undefined && typeof spec.type !== "string")) {
            throw new Error(`${a.type}::${a.name}: alias name and type must be plain strings`);
        }
        const parent: any = "parent" in spec ? spec.parent : a.parent;
        if (typeof parent === "string") throw new Error("aliases by parent URN are not modelled");
        out.add(childUrn(a.stack, a.project, (spec.type) ?? a.type, (spec.name) ?? a.name, urnOf(a.stack, a.project, parent)));
    }
    const p: any = a.parent;
    if (p !== undefined && p.__pulumiType !== STACK_TYPE) {
        for (const parentAlias of a.aliasUrnsOf.get(`${p.__pulumiType}::${p.__name}`) ?? []) {
            out.add(childUrn(a.stack, a.project, a.type, a.name, parentAlias));
        }
    }
    out.delete(childUrn(a.stack, a.project, a.type, a.name, parentUrn));
    return [...out].sort();
}
