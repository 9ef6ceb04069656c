// The static workflow checks of .ci/static-checks: the action-input check against the committed
// action.yml data, and the single-@pulumi/pulumi check. (actionlint itself runs in .ci/static-checks,
// which also proves that each .ci/workflow-fixtures/bad-*.yml fails.)
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

const inputs = require("../.ci/check-action-inputs.js") as {
    checkWorkflow(known: Record<string, unknown>, text: string, file: string): string[];
    loadKnown(): Record<string, { tag: string; inputs: Record<string, { required: boolean }> }>;
};
const single = require("../.ci/check-single-pulumi.js") as { copiesOf(name: string, dir: string): { dir: string; version: string }[] };

const known = inputs.loadKnown();
const PULUMI = "pulumi/actions@8e5e406f4007fca908480587cb9893c07090f58d";
const AWS = "aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c";

function workflow(step: string): string {
    return `name: t\non: [push]\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n${step}`;
}

describe("action inputs", () => {
    test.each(fs.readdirSync(".github/workflows").map(f => path.join(".github/workflows", f)))("%s has no problem", file => {
        expect(inputs.checkWorkflow(known, fs.readFileSync(file, "utf8"), file)).toEqual([]);
    });
    test("a known input passes; a misspelt one fails and lists the real ones", () => {
        const good = workflow(`      - uses: ${PULUMI} # v7.0.0\n        with:\n          command: preview\n          policyPacks: policy\n`);
        expect(inputs.checkWorkflow(known, good, "w")).toEqual([]);
        const bad = workflow(`      - uses: ${PULUMI} # v7.0.0\n        with:\n          policy-packs: policy\n`);
        expect(inputs.checkWorkflow(known, bad, "w")).toEqual([expect.stringMatching(/input "policy-packs" is not defined by pulumi\/actions v7.0.0; it has: .*policyPacks/)]);
    });
    test("a missing required input fails", () => {
        const bad = workflow(`      - uses: ${AWS} # v6.2.3\n        with:\n          role-to-assume: arn:aws:iam::1:role/x\n`);
        expect(inputs.checkWorkflow(known, bad, "w")).toEqual([expect.stringContaining('requires input "aws-region"')]);
    });
    test("a tag pin, an unknown SHA, or a wrong or missing version comment fails", () => {
        expect(inputs.checkWorkflow(known, workflow("      - uses: pulumi/actions@v7\n"), "w")).toEqual([expect.stringContaining("not pinned to a full commit SHA")]);
        expect(inputs.checkWorkflow(known, workflow(`      - uses: pulumi/actions@${"0".repeat(40)} # v7.0.0\n`), "w")).toEqual([expect.stringContaining("not in .ci/actions.json")]);
        expect(inputs.checkWorkflow(known, workflow(`      - uses: ${PULUMI} # v6.6.1\n`), "w")).toEqual([expect.stringContaining('needs the comment "# v7.0.0" (found "# v6.6.1")')]);
        expect(inputs.checkWorkflow(known, workflow(`      - uses: ${PULUMI}\n`), "w")).toEqual([expect.stringContaining("found none")]);
    });
    test("broken YAML fails", () => {
        expect(inputs.checkWorkflow(known, "on: [push\njobs: {}\n", "w")).toEqual([expect.stringContaining("not valid YAML")]);
    });
});

describe("one copy of @pulumi/pulumi", () => {
    test("the installed tree has exactly one", () => {
        expect(single.copiesOf("@pulumi/pulumi", ".").map(c => c.dir)).toEqual([path.join("node_modules", "@pulumi", "pulumi")]);
    });
    test("a nested second copy is found", () => {
        const root = fs.mkdtempSync(path.join(os.tmpdir(), "single-pulumi-"));
        const put = (dir: string, version: string) => {
            fs.mkdirSync(dir, { recursive: true });
            fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "@pulumi/pulumi", version }));
        };
        put(path.join(root, "node_modules", "@pulumi", "pulumi"), "3.270.0");
        put(path.join(root, "node_modules", "@pulumi", "policy", "node_modules", "@pulumi", "pulumi"), "3.204.0");
        expect(single.copiesOf("@pulumi/pulumi", root).map(c => c.version).sort()).toEqual(["3.204.0", "3.270.0"]);
        fs.rmSync(root, { recursive: true, force: true });
    });
});
