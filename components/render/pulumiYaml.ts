// Pulumi.yaml's `config:` block, rendered from the config schema (components/config/schema.ts)
// so defaults, types and descriptions are written once. `npm run generate` writes it into
// Pulumi.yaml; a unit test fails when the committed file is not what this renders.
import type { KeySpec, Scope } from "../config/schema";

/** Marks the generated block; everything from this line to the end of Pulumi.yaml is rendered. */
export const CONFIG_BLOCK_MARKER = "# Every key the program reads (components/config/schema.ts, rendered by `npm run generate`;";

const PULUMI_TYPES: Record<KeySpec["type"], string> = {
    string: "string", choice: "string", integer: "integer", number: "string", boolean: "boolean", array: "array",
};

/** A YAML plain scalar when that reads back as the same string, else a double-quoted one. */
export function yamlString(text: string): string {
    const plain = /^[A-Za-z0-9_./(<-][^#]*$/.test(text) && !/: |:$|^(true|false|null|yes|no|~|-?\d+(\.\d+)?)$/i.test(text) && !/^- /.test(text);
    return plain ? text : JSON.stringify(text);
}

function describe(scope: Scope, description: string): string {
    return scope === "both" ? description : `[${scope}] ${description}`;
}

/** One key's declaration, as Pulumi reads it (type, items, secret, default, description). */
function renderKey(key: string, spec: KeySpec): string[] {
    const lines = [`  ${key}:`, `    type: ${PULUMI_TYPES[spec.type]}`];
    if (spec.type === "array") lines.push("    items:", "      type: string");
    if (spec.type === "string" && spec.secret) lines.push("    secret: true");
    const def = "default" in spec ? spec.default : undefined;
    if (def !== undefined) {
        // Stepped numbers are strings in Pulumi.yaml (its integer type has no fractions).
        lines.push(`    default: ${spec.type === "number" ? JSON.stringify(String(def)) : typeof def === "string" ? yamlString(def) : String(def)}`);
    }
    lines.push(`    description: ${yamlString(describe(spec.scope, spec.description))}`);
    return lines;
}

export function renderPulumiConfigBlock(schema: Readonly<Record<string, KeySpec>>): string {
    const lines = [
        CONFIG_BLOCK_MARKER,
        "# do not edit here). Keys without a default have one that depends on other keys; see README.",
        "config:",
    ];
    for (const [key, spec] of Object.entries(schema)) lines.push(...renderKey(key, spec));
    return `${lines.join("\n")}\n`;
}

/** Pulumi.yaml with its config block replaced by the rendered one; the head is kept as written. */
export function withRenderedConfig(pulumiYaml: string, schema: Readonly<Record<string, KeySpec>>): string {
    const legacy = pulumiYaml.indexOf("# Every key the program reads");
    const head = legacy >= 0 ? pulumiYaml.slice(0, legacy) : `${pulumiYaml.trimEnd()}\n`;
    return head + renderPulumiConfigBlock(schema);
}
