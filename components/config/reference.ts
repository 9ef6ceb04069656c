// docs/configuration.md, rendered from the config schema (components/config/schema.ts) like
// Pulumi.yaml's config block, so the reference cannot drift from what the program reads.
// `npm run generate` writes it; components/generated.test.ts fails when the committed file is stale.
import type { KeySpec, Scope } from "./schema";
import { isDeclared } from "./pulumiYaml";

const SCOPES: ReadonlyArray<[Scope, string, string]> = [
    ["both", "Both targets", "Read on `target` local and aws."],
    ["local", "Local target (Docker)", "Read only with `target` local; ignored on aws."],
    ["aws", "AWS target", "Read only with `target` aws; details in [aws.md](aws.md)."],
];

const HEAD = `# Configuration reference

<!-- Generated from components/config/schema.ts by \`npm run generate\`; do not edit here. -->

Set a key with \`pulumi config set <key> <value>\` (\`--secret\` for secrets); set a list item by
item with \`--path\` (\`projects[0]\`, \`projects[1]\`, ...): a JSON text is stored as a string, which
the CLI refuses for a list. Pulumi.yaml declares the keys with a fixed default; the secrets and
the keys whose default depends on other keys are read without being declared, since the CLI
requires a value for a declared key without a default. Every value is validated before anything
is created; a bad one stops the run with the key, the value, what is allowed and the command
that fixes it:

\`\`\`
Invalid stack configuration (nothing was created):
  - mlflow-platform:hostPort = "70000" is invalid: must be a whole number from 1 to 65535. Fix: pulumi config set hostPort 5000
\`\`\`
`;

/** Text for a Markdown table cell: pipes escaped, angle brackets kept visible. */
export function cell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/\n/g, " ");
}

const code = (text: string) => `\`${text}\``;

export function typeOf(spec: KeySpec): string {
    const secret = (spec.type === "string" || spec.type === "structured") && spec.secret === true ? ", secret" : "";
    if (spec.type === "structured") return spec.shape + secret;
    const types: Record<Exclude<KeySpec["type"], "structured">, string> = {
        string: "string", choice: "string", integer: "integer", number: "number", boolean: "boolean", array: "list of strings",
    };
    return types[spec.type] + secret;
}

export function defaultOf(spec: KeySpec): string {
    const def = "default" in spec ? spec.default : undefined;
    if (def === undefined) return ((spec.type === "string" && spec.secret === true) || spec.type === "structured") ? "none (see description)" : "depends (see description)";
    if (Array.isArray(def)) return def.length === 0 ? "none" : def.map(code).join(", ");
    if (def === "") return "none";
    return code(String(def));
}

export function allowedOf(spec: KeySpec): string {
    switch (spec.type) {
        case "choice": return spec.choices.map(code).join(", ");
        case "integer": return `${spec.min} to ${spec.max}`;
        case "number": return `${spec.min} to ${spec.max} in steps of ${spec.step}`;
        case "boolean": return "`true`, `false`";
        case "array": return "one string per item (`--path 'key[0]'`)";
        case "string": return cell(spec.allowed ?? "any text").replace(/^must be /, "");
        case "structured": return cell(spec.allowed);
    }
}

/** One table row; the key is marked when Pulumi.yaml does not declare it. */
export function renderRow(key: string, spec: KeySpec): string {
    const name = isDeclared(spec) ? code(key) : `${code(key)} (not declared)`;
    return `| ${name} | ${typeOf(spec)} | ${defaultOf(spec)} | ${allowedOf(spec)} | ${cell(spec.description)} |`;
}

export function renderConfigReference(schema: Readonly<Record<string, KeySpec>>): string {
    const parts = [HEAD];
    for (const [scope, title, note] of SCOPES) {
        const keys = Object.entries(schema).filter(([, spec]) => spec.scope === scope);
        if (keys.length === 0) continue;
        parts.push(`## ${title}`, "", note, "", "| Key | Type | Default | Allowed | Description |", "|---|---|---|---|---|");
        parts.push(...keys.map(([key, spec]) => renderRow(key, spec)), "");
    }
    return `${parts.join("\n").trimEnd()}\n`;
}
