import { CONFIG_SCHEMA, type KeySpec } from "./schema";
import { allowedOf, cell, defaultOf, renderConfigReference, renderRow, typeOf } from "./reference";

const spec = (s: Partial<KeySpec> & { type: KeySpec["type"] }): KeySpec => ({ scope: "both", description: "d", ...s } as KeySpec);

test.each<[string, KeySpec, string, string, string]>([
    ["choice", spec({ type: "choice", default: "local", choices: ["local", "aws"] }), "string", "`local`", "`local`, `aws`"],
    ["integer", spec({ type: "integer", default: 5000, min: 1, max: 65535 }), "integer", "`5000`", "1 to 65535"],
    ["integer, default from other keys", spec({ type: "integer", min: 1, max: 64 }), "integer", "depends (see description)", "1 to 64"],
    ["stepped", spec({ type: "number", default: 0, min: 0, max: 256, step: 0.5 }), "number", "`0`", "0 to 256 in steps of 0.5"],
    ["boolean", spec({ type: "boolean", default: false }), "boolean", "`false`", "`true`, `false`"],
    ["empty list", spec({ type: "array", default: [] }), "list of strings", "none", "one string per item (`--path 'key[0]'`)"],
    ["list", spec({ type: "array", default: ["0.0.0.0/0"] }), "list of strings", "`0.0.0.0/0`", "one string per item (`--path 'key[0]'`)"],
    ["secret", spec({ type: "string", secret: true, allowed: "must be 12 to 128 characters" }), "string, secret", "none (see description)", "12 to 128 characters"],
    ["empty string", spec({ type: "string", default: "" }), "string", "none", "any text"],
])("%s: type, default, allowed", (_, s, type, def, allowed) => {
    expect([typeOf(s), defaultOf(s), allowedOf(s)]).toEqual([type, def, allowed]);
});

test("cells escape pipes and keep <name> visible", () => {
    expect(cell("a | b at /projects/<name>/")).toBe("a \\| b at /projects/&lt;name&gt;/");
});

test("an undeclared key is marked as such", () => {
    expect(renderRow("bucketName", CONFIG_SCHEMA.bucketName)).toMatch(/^\| `bucketName` \(not declared\) \| string \| depends/);
    expect(renderRow("hostPort", CONFIG_SCHEMA.hostPort)).toMatch(/^\| `hostPort` \| integer \| `5000` \| 1 to 65535 \|/);
});

test("every key of the schema has exactly one row, under its target's heading", () => {
    const doc = renderConfigReference(CONFIG_SCHEMA);
    for (const [key, s] of Object.entries(CONFIG_SCHEMA)) {
        const rows = doc.split("\n").filter(line => line.startsWith(`| \`${key}\``));
        expect([key, rows.length]).toEqual([key, 1]);
        const heading = { both: "## Both targets", local: "## Local target", aws: "## AWS target" }[s.scope];
        const before = doc.slice(0, doc.indexOf(rows[0])).lastIndexOf("\n## ");
        expect([key, doc.slice(before + 1).startsWith(heading)]).toEqual([key, true]);
    }
});
