// Every relative link in the user docs points to a file that exists and, with an anchor, to a
// heading of that file (GitHub's slugs), so moving a section cannot leave a dead link behind.
import * as fs from "fs";
import * as path from "path";

const ROOT = path.join(__dirname, "..");
const DOCS = ["README.md", "CHANGELOG.md", ...fs.readdirSync(path.join(ROOT, "docs")).filter(f => f.endsWith(".md")).map(f => `docs/${f}`)];

/** Markdown without fenced blocks and code spans, where `[x](y)` is not a link. */
export function prose(markdown: string): string {
    return markdown.replace(/^```[\s\S]*?^```/gm, "").replace(/`[^`\n]*`/g, "");
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
export function anchors(markdown: string): Set<string> {
    const seen = new Map<string, number>();
    const out = new Set<string>();
    for (const m of markdown.replace(/^```[\s\S]*?^```/gm, "").matchAll(/^#{1,6} (.+)$/gm)) {
        const slug = m[1].trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replace(/ /g, "-");
        const n = seen.get(slug) ?? 0;
        seen.set(slug, n + 1);
        out.add(n === 0 ? slug : `${slug}-${n}`);
    }
    return out;
}

/** The relative links of one file that do not resolve: missing file or missing heading. */
export function deadLinks(file: string, markdown: string, read: (p: string) => string | undefined): string[] {
    const dead: string[] = [];
    for (const m of prose(markdown).matchAll(/\]\(([^)\s]+)\)/g)) {
        const target = m[1];
        if (/^(https?:|mailto:)/.test(target)) continue;
        const [rel, anchor] = target.split("#");
        const resolved = rel === "" ? file : path.normalize(path.join(path.dirname(file), rel));
        const text = read(resolved);
        if (text === undefined) dead.push(`${file}: ${target} (no such file)`);
        else if (anchor !== undefined && resolved.endsWith(".md") && !anchors(text).has(anchor)) dead.push(`${file}: ${target} (no such heading)`);
    }
    return dead;
}

const readRepo = (p: string) => {
    const full = path.join(ROOT, p);
    if (!fs.existsSync(full)) return undefined;
    return fs.statSync(full).isDirectory() ? "" : fs.readFileSync(full, "utf8");
};

test("the checker finds a missing file, a missing heading, and passes good links", () => {
    const files: Record<string, string> = { "docs/a.md": "# A\n## Day two: upgrade, rotate\n## Day two: upgrade, rotate\n", "README.md": "" };
    const read = (p: string) => files[p];
    const md = "[ok](a.md#day-two-upgrade-rotate) [ok2](a.md#day-two-upgrade-rotate-1) [ok3](../README.md) [web](https://x.y/z) `[code](nope.md)`\n"
        + "[bad](b.md) [bad2](a.md#nope) [self](#a)";
    expect(deadLinks("docs/a.md", md, read)).toEqual(["docs/a.md: b.md (no such file)", "docs/a.md: a.md#nope (no such heading)"]);
    expect(anchors("## `pulumi up` again on kept data (destroy, then up)")).toEqual(new Set(["pulumi-up-again-on-kept-data-destroy-then-up"]));
});

test.each(DOCS)("%s: every relative link resolves", file => {
    expect(deadLinks(file, fs.readFileSync(path.join(ROOT, file), "utf8"), readRepo)).toEqual([]);
});
