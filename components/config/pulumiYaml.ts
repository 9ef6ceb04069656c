// Pulumi.yaml's `config:` block, rendered from the config schema (components/config/schema.ts)
// so defaults, types and descriptions are written once. `npm run generate` writes it into
// Pulumi.yaml; a unit test fails when the committed file is not what this renders.
import type { KeySpec, Scope } from "./schema";

/** Marks the generated block; everything from this line to the end of Pulumi.yaml is rendered. */
export const CONFIG_BLOCK_MARKER = "# Every key the program reads (components/config/schema.ts, rendered by `npm run generate`;";

const PULUMI_TYPES: Record<KeySpec["type"], string> = {
    string: "string", choice: "string", integer: "integer", number: "string", boolean: "boolean", array: "array", structured: "object",
};

/** A YAML plain scalar when that reads back as the same string, else a double-quoted one. */
export function yamlString(text: string): string {
    const plain = /^[A-Za-z0-9_./(<-][^#]*$/.test(text) && !/: |:$|^(true|false|null|yes|no|~|-?\d+(\.\d+)?)$/i.test(text) && !/^- /.test(text);
    return plain ? text : JSON.stringify(text);
}

function describe(scope: Scope, description: string): string {
    return scope === "both" ? description : `[${scope}] ${description}`;
}

/**
 * The CLI refuses to run a stack that lacks a value for a declared key without a default, and
 * checks a declared secret's default like a stack value (plaintext: refused). So only keys with
 * a fixed default are declared; a key whose default depends on other keys, and every secret,
 * stays undeclared (the program still reads and checks it).
 */
export function isDeclared(spec: KeySpec): boolean {
    return spec.type !== "structured" && "default" in spec && spec.default !== undefined && !(spec.type === "string" && spec.secret === true);
}

function renderDefault(spec: KeySpec): string {
    const def = "default" in spec ? spec.default : undefined;
    // Stepped numbers are strings in Pulumi.yaml (its integer type has no fractions).
    if (spec.type === "number") return JSON.stringify(String(def));
    if (Array.isArray(def)) return JSON.stringify(def);
    return typeof def === "string" ? yamlString(def) : String(def);
}

/** One key's declaration, as Pulumi reads it (type, items, default, description). */
function renderKey(key: string, spec: KeySpec): string[] {
    const lines = [`  ${key}:`, `    type: ${PULUMI_TYPES[spec.type]}`];
    if (spec.type === "array") lines.push("    items:", "      type: string");
    lines.push(`    default: ${renderDefault(spec)}`);
    lines.push(`    description: ${yamlString(describe(spec.scope, spec.description))}`);
    return lines;
}

/** Comment lines naming the undeclared keys, wrapped to fit the file's width. */
function undeclaredComment(keys: string[]): string[] {
    const lines: string[] = [];
    let line = "#  ";
    for (const key of keys) {
        if (line.length + key.length > 95) {
            lines.push(line.trimEnd());
            line = "#  ";
        }
        line += ` ${key}`;
    }
    return [...lines, line];
}

export function renderPulumiConfigBlock(schema: Readonly<Record<string, KeySpec>>): string {
    const undeclared = Object.entries(schema).filter(([, spec]) => !isDeclared(spec)).map(([key]) => key);
    const lines = [
        CONFIG_BLOCK_MARKER,
        "# do not edit here). Only keys with a fixed default are declared: the CLI refuses a stack",
        "# without a value for a declared key that has no default. Also read, with a default that",
        "# depends on other keys or as a secret (set with --secret), and listed in docs/configuration.md:",
        ...undeclaredComment(undeclared),
        "config:",
    ];
    for (const [key, spec] of Object.entries(schema)) if (isDeclared(spec)) lines.push(...renderKey(key, spec));
    return `${lines.join("\n")}\n`;
}

/** Pulumi.yaml with its config block replaced by the rendered one; the head is kept as written. */
export function withRenderedConfig(pulumiYaml: string, schema: Readonly<Record<string, KeySpec>>): string {
    const legacy = pulumiYaml.indexOf("# Every key the program reads");
    const head = legacy >= 0 ? pulumiYaml.slice(0, legacy) : `${pulumiYaml.trimEnd()}\n`;
    return head + renderPulumiConfigBlock(schema);
}
