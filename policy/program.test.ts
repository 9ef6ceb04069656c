// The pack against the resource graphs the program really registers (under Pulumi mocks): the
// defaults of every target pass every policy, and weakening a default by config fails one.
import { awsCalls as calls, REGION } from "../tests/awsMocks";
import { ProgramRun, RecordedResource, runProgram } from "../tests/harness";
import { policies } from "./policies";
import { FakeResource, stackViolationsOf, violationsOf } from "./testing";

// Each test evaluates the whole program once (5-10 s on a loaded 2-core machine).
jest.setTimeout(60000);

const CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666";
const DEV = { target: "local", backend: "mysql", hostPort: "5000", bindAddress: "127.0.0.1" };


/** Recorded resources as the policy server sees them; dependencies from the mock IDs (`<name>-id`) they reference. */
function asPolicyInput(resources: RecordedResource[]): FakeResource[] {
    return resources.map(r => {
        const text = JSON.stringify(r.inputs);
        const dependsOn = resources.filter(q => q !== r && text.includes(`"${q.name}-id"`)).map(q => q.name);
        return { type: r.type, name: r.name, props: r.inputs, dependsOn };
    });
}

/** Every violation of every policy, as "policy: resource: message". */
async function violations(run: ProgramRun, config: Record<string, object> = {}): Promise<string[]> {
    const input = asPolicyInput(run.resources);
    const out: string[] = [];
    for (const p of policies) {
        if ("validateStack" in p) {
            out.push(...(await stackViolationsOf(p, input, config[p.name])).map(m => `${p.name}: ${m}`));
            continue;
        }
        for (const r of input) out.push(...(await violationsOf(p, r, config[p.name])).map(m => `${p.name}: ${r.name}: ${m}`));
    }
    return out;
}

function aws(config: Record<string, string>): Promise<ProgramRun> {
    return runProgram({ stack: "aws", config: { "aws:region": REGION, target: "aws", ...config }, calls });
}

describe("the defaults pass every policy", () => {
    test.each([
        ["mysql", {}],
        ["postgres", {}],
        // The shortest password config accepts (12): it must not trip the secret-value policy.
        ["postgres with a configured 12-character password", { backend: "postgres", password: "twelve-chars" }],
    ])("dev stack, %s", async (backend, extra) => {
        const run = await runProgram({ stack: "dev", config: { ...DEV, backend: backend.split(" ")[0], ...extra } });
        expect(run.ofType("docker:index/container:Container").length).toBeGreaterThan(3);
        expect(await violations(run)).toEqual([]);
    });
    test.each([
        ["mysql, no certificate", { backend: "mysql" }],
        ["postgres, certificate and domain", { backend: "postgres", certificateArn: CERT, domainName: "mlflow.example.com" }],
    ])("aws stack, %s", async (_label, config) => {
        const run = await aws(config);
        for (const type of ["aws:s3/bucket:Bucket", "aws:rds/cluster:Cluster", "aws:ecs/taskDefinition:TaskDefinition", "aws:lb/listener:Listener"]) {
            expect(run.ofType(type).length).toBeGreaterThan(0);
        }
        expect(await violations(run)).toEqual([]);
    });
});

describe("weakening a default by config fails a policy", () => {
    test("exposeMinioConsole=true publishes 9001: fails until the policy config allows that port", async () => {
        const run = await runProgram({ stack: "dev", config: { ...DEV, exposeMinioConsole: "true" } });
        expect(await violations(run)).toEqual([expect.stringMatching(/^no-data-ports-published: .*minio: container port 9001 \(MinIO console\)/)]);
        expect(await violations(run, { "no-data-ports-published": { allowedPorts: [9001] } })).toEqual([]);
    });
    test("dbDeletionProtection=false fails until the stack opts out in the policy config", async () => {
        const run = await aws({ backend: "mysql", dbDeletionProtection: "false" });
        expect(await violations(run)).toEqual([expect.stringMatching(/^rds-encrypted-private-protected: .*deletionProtection must be true/)]);
        expect(await violations(run, { "rds-encrypted-private-protected": { allowDeletionUnprotected: true } })).toEqual([]);
    });
    test("an image configured with :latest fails (config validation aside, the policy catches it too)", async () => {
        const run = await runProgram({ stack: "dev", config: DEV });
        const proxy = run.resources.find(r => r.type === "docker:index/remoteImage:RemoteImage" && /proxy/.test(r.name));
        expect(proxy).toBeDefined();
        const tampered = { ...run, resources: run.resources.map(r => (r === proxy ? { ...r, inputs: { ...r.inputs, name: "nginx:latest" } } : r)) };
        expect(await violations(tampered)).toEqual([expect.stringMatching(/^images-pinned: .*proxy.*latest/)]);
    });
});
