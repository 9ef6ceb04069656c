// The aws target with three projects, under mocks: exactly which resources each project adds,
// its listener rule and priority, its task role's scope, its task's containers (rendered by
// shared/ecs.ts), its secrets, the outputs, and no change to anything the stack had before.
import { awsCalls as calls, REGION } from "./awsMocks";
import { ProgramRun, RecordedResource, runProgram } from "./harness";
import { committedUrnSet, urnSet } from "./urnSets";
import { artifactAccessPolicy } from "../components/bucketInit/bucket";
import { renderProxyConfig } from "../components/authProxy/nginx";
import { keepAliveChain } from "../components/shared/keepalive";
import { projectListenerPriority, projectNames, renderProjectInitStatements } from "../components/shared/projects";
import { verifySha512Crypt } from "../components/authProxy/shaCrypt";

const BASE = { "aws:region": REGION, target: "aws", dbMaxCapacity: "8" };
/** The `/` rule's header condition; the value is the mocked RandomPassword's. */
const ORIGIN_CONDITION = { httpHeader: { httpHeaderName: "X-Origin-Verify", values: ["pw-mlflow-aws-proxy-origin-secret-S3cret!@:%"] } };
const PROJECTS = ["alpha", "beta-2:bob", "gamma"];
const NAMES = ["alpha", "beta-2", "gamma"];
const ARN = (type: string, name: string) => `arn:aws:mock:eu-west-1:123456789012:${type}/${name}`;

let run: ProgramRun;
let without: ProgramRun;
let two: ProgramRun;
beforeAll(async () => {
    run = await runProgram({ stack: "aws", config: { ...BASE, projects: JSON.stringify(PROJECTS) }, calls });
    without = await runProgram({ stack: "aws", config: BASE, calls });
    two = await runProgram({ stack: "aws", config: { ...BASE, projects: JSON.stringify(PROJECTS.slice(0, 2)) }, calls });
}, 60000);

const TYPE_OF: Record<string, string> = {
    "-task": "aws:ecs/taskDefinition:TaskDefinition", "-execution": "aws:iam/role:Role", "-secret": "aws:secretsmanager/secret:Secret",
    "-htpasswd": "aws:secretsmanager/secret:Secret", "-rule": "aws:lb/listenerRule:ListenerRule", "-tg": "aws:lb/targetGroup:TargetGroup",
    "-service": "aws:ecs/service:Service", "-artifact-access": "aws:iam/policy:Policy",
};
/** Its body lists every service: it changes when one is added (tests/aws-monitoring.test.ts). */
const DASHBOARD = "aws:cloudwatch/dashboard:Dashboard";
const named = (r: ProgramRun, name: string, type = Object.entries(TYPE_OF).find(([suffix]) => name.endsWith(suffix))![1]): RecordedResource => {
    const found = r.resources.filter(x => x.name === name && x.type === type);
    if (found.length !== 1) throw new Error(`expected one ${name}, found ${found.length}`);
    return found[0];
};
const masterSecret = () => run.outputs.databaseSecretArn as string;

test("adding projects adds only project resources and changes no URN or input the stack had", () => {
    const before = urnSet(without);
    const after = urnSet(run);
    expect(after).toEqual(expect.arrayContaining(before));
    const added = run.resources.filter(r => !before.includes(r.urn));
    const ofProject = (name: string, n: string) => ["mlflow-aws-project-", "mlflow-aws-proxy-project-", "mlflow-aws-monitoring-project-"].some(p => name.startsWith(`${p}${n}-`));
    expect(added.filter(r => !NAMES.some(n => ofProject(r.name, n)))).toEqual([]);
    // Per project: 3 components; proxy 6 (salt, password, htpasswd secret + version, target group, rule);
    // database 3 (password, secret + version); bucket init 1 (policy); tracking 8 (2 roles, role policy,
    // attachment, task definition, service, scaling target + policy). No image, cluster or log group.
    // Garbage collection 9: the component, the task definition, three roles, two inline policies, the
    // artifact policy attachment and the schedule. Monitoring 4: its service's alarms (unhealthy,
    // restart loop, memory, CPU).
    expect(added).toHaveLength(NAMES.length * (3 + 6 + 3 + 1 + 8 + 9 + 4));
    // The dashboard gains a row per project (tests/aws-monitoring.test.ts); nothing else changes.
    for (const r of without.resources.filter(x => x.type !== DASHBOARD)) {
        expect({ name: r.name, inputs: run.resources.find(x => x.urn === r.urn)!.inputs }).toEqual({ name: r.name, inputs: r.inputs });
    }
    expect(after).toEqual(committedUrnSet("aws-mysql-projects", run));
});

test("the server at `/`'s task role is denied every project's prefix and holds no other S3 grant", () => {
    const bucketArn = `arn:aws:s3:::${run.outputs.artifactBucket as string}`;
    const policy = named(run, "mlflow-aws-bucket-init-artifact-access");
    const doc = JSON.parse(policy.inputs.policy);
    expect(doc).toEqual(artifactAccessPolicy(bucketArn));
    expect(doc.Statement.filter((st: any) => st.Effect === "Deny").map((st: any) => st.Resource)).toEqual([[`${bucketArn}/projects/*`]]);
    for (const n of NAMES) expect(projectNames(n).artifactPrefix.startsWith("projects/")).toBe(true);
    // Listings under projects/ are refused by a conditional Allow, so nothing else on the role may allow s3.
    const role = "mlflow-aws-tracking-task";
    expect(run.ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter(a => a.inputs.role === role).map(a => a.inputs.policyArn))
        .toEqual([ARN("iam/policy", policy.name)]);
    const inline = run.ofType("aws:iam/rolePolicy:RolePolicy").filter(p => p.inputs.role === role).map(p => JSON.parse(p.inputs.policy));
    expect(inline.flatMap(d => d.Statement).flatMap((st: any) => [st.Action].flat()).filter((a: string) => a.startsWith("s3:"))).toEqual([]);
});

test("adding a third project changes nothing of the first two (rules, priorities, tasks)", () => {
    for (const r of two.resources.filter(x => x.type !== DASHBOARD)) {
        expect({ name: r.name, inputs: run.resources.find(x => x.urn === r.urn)!.inputs }).toEqual({ name: r.name, inputs: r.inputs });
    }
});

test("one cluster, one image, one load balancer, one listener, one Aurora cluster", () => {
    for (const type of ["aws:ecs/cluster:Cluster", "docker:index/image:Image", "aws:lb/loadBalancer:LoadBalancer", "aws:lb/listener:Listener", "aws:rds/cluster:Cluster", "aws:s3/bucket:Bucket"]) {
        expect([type, run.ofType(type).length]).toEqual([type, 1]);
    }
});

test("listener rule priorities are derived from the names and distinct", () => {
    const rules = run.ofType("aws:lb/listenerRule:ListenerRule").filter(r => r.name !== "mlflow-aws-proxy-origin");
    expect(rules.map(r => [r.name, r.inputs.priority])).toEqual(NAMES.map(n => [`mlflow-aws-proxy-project-${n}-rule`, projectListenerPriority(n)]));
    expect(new Set(rules.map(r => r.inputs.priority)).size).toBe(3);
});

test("with a certificate the rules sit on the HTTPS listener (the HTTP one only redirects)", async () => {
    const cert = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666";
    const https = await runProgram({ stack: "aws", config: { ...BASE, certificateArn: cert, projects: JSON.stringify(PROJECTS) }, calls });
    expect(https.ofType("aws:lb/listenerRule:ListenerRule").map(r => r.inputs.listenerArn)).toEqual(NAMES.map(() => ARN("lb/listener", "mlflow-aws-proxy-https")));
    expect((https.outputs.projects as Record<string, { trackingUri: string }>).alpha.trackingUri).toMatch(/^https:\/\/.*\/projects\/alpha$/);
}, 30000);

test("with the AI Gateway on, each project's MLflow gets the one KEK secret of / (and only MLflow)", async () => {
    const on = await runProgram({ stack: "aws", config: { ...BASE, enableAiGateway: "true", aiGatewayKekPassphrase: "a-long-kek-passphrase-0123456789", projects: '["alpha"]' }, calls });
    const kek = ARN("secretsmanager/secret", "mlflow-aws-tracking-gateway-kek");
    expect(on.ofType("aws:secretsmanager/secret:Secret").filter(x => x.name.endsWith("gateway-kek"))).toHaveLength(1);
    const defs = JSON.parse(named(on, "mlflow-aws-project-alpha-tracking-task").inputs.containerDefinitions) as Array<Record<string, any>>;
    expect(defs.map(d => [d.name, (d.secrets ?? []).some((x: any) => x.valueFrom === kek)])).toEqual([["mlflow", true], ["proxy", false], ["project-db-init", false]]);
    const exec = JSON.parse(named(on, "mlflow-aws-project-alpha-tracking-execution", "aws:iam/rolePolicy:RolePolicy").inputs.policy);
    expect(exec.Statement.find((x: any) => x.Sid === "Secrets").Resource).toContain(kek);
}, 30000);

test("projects' settings reach their tasks: pool 1 + 1 where Aurora does not pause, job execution when asked for", async () => {
    const sized = await runProgram({ stack: "aws", config: {
        ...BASE, dbMinCapacity: "0.5", projects: '["alpha"]', projectTaskCpu: "512", projectTaskMemory: "3072", projectWorkers: "2", projectJobExecution: "true",
    }, calls });
    const envOf = (name: string) => Object.fromEntries((JSON.parse(named(sized, name).inputs.containerDefinitions) as Array<Record<string, any>>)
        .find(x => x.name === "mlflow")!.environment.map((e: any) => [e.name, e.value]));
    expect(named(sized, "mlflow-aws-project-alpha-tracking-task").inputs).toMatchObject({ cpu: "512", memory: "3072" });
    expect(envOf("mlflow-aws-project-alpha-tracking-task")).toMatchObject({
        MLFLOW_WORKERS: "2", MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: "1", MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: "1",
        MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "true", MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS: "true",
    });
    // The server at / keeps the bench-chosen pool and, with 3 tasks, no job execution.
    expect(envOf("mlflow-aws-tracking-task")).toMatchObject({
        MLFLOW_WORKERS: "1", MLFLOW_SQLALCHEMYSTORE_POOL_SIZE: "2", MLFLOW_SQLALCHEMYSTORE_MAX_OVERFLOW: "1", MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
    });
}, 60000);

test("outputs: one secret map of name -> trackingUri, username, password", () => {
    expect(run.secretOutputs.projects).toBe(true);
    const projects = run.outputs.projects as Record<string, { trackingUri: string; username: string; password: string }>;
    expect(Object.keys(projects)).toEqual(NAMES);
    expect(projects["beta-2"].username).toBe("bob");
    expect(projects.alpha.trackingUri).toBe(`${run.outputs.trackingUri as string}/projects/alpha`);
});

describe.each(NAMES)("project %s", name => {
    const n = projectNames(name);
    const username = name === "beta-2" ? "bob" : name;
    const base = `mlflow-aws-project-${name}`;
    const containers = () => JSON.parse(named(run, `${base}-tracking-task`).inputs.containerDefinitions) as Array<Record<string, any>>;
    const c = (cname: string) => containers().find(x => x.name === cname)!;
    const dbSecretArn = () => ARN("secretsmanager/secret", `${base}-database-secret`);

    test("its listener rule forwards /projects/<n> and /projects/<n>/* to its own target group, checked on the sidecar's /health", () => {
        const rule = named(run, `mlflow-aws-proxy-project-${name}-rule`);
        const tg = named(run, `mlflow-aws-proxy-project-${name}-tg`);
        expect(rule.inputs).toMatchObject({
            listenerArn: ARN("lb/listener", "mlflow-aws-proxy-http"),
            // Behind CloudFront, as the `/` rule: only requests carrying the secret origin header.
            conditions: [{ pathPattern: { values: [n.urlPath, `${n.urlPath}/*`] } }, ORIGIN_CONDITION],
            actions: [{ type: "forward", targetGroupArn: ARN("lb/targetGroup", tg.name) }],
        });
        expect(tg.inputs.healthCheck).toMatchObject({ path: "/health", matcher: "200" });
        const service = named(run, `${base}-tracking-service`);
        expect(service.inputs.loadBalancers).toEqual([{ targetGroupArn: ARN("lb/targetGroup", tg.name), containerName: "proxy", containerPort: 8080 }]);
        expect(service.inputs.cluster).toBe(ARN("ecs/cluster", "mlflow-aws-tracking-cluster"));
    });

    test("its task role holds only its prefix of the bucket: no rotation watch, nothing else", () => {
        const policy = named(run, `${base}-bucket-init-artifact-access`);
        const bucketArn = `arn:aws:s3:::${run.outputs.artifactBucket as string}`;
        expect(JSON.parse(policy.inputs.policy)).toEqual(artifactAccessPolicy(bucketArn, n.artifactPrefix));
        const task = named(run, `${base}-tracking-task`);
        expect(task.inputs.taskRoleArn).toBe(ARN("iam/role", `${base}-tracking-task`));
        expect(run.ofType("aws:iam/rolePolicyAttachment:RolePolicyAttachment").filter(a => a.inputs.role === `${base}-tracking-task`).map(a => a.inputs.policyArn))
            .toEqual([ARN("iam/policy", policy.name)]);
        expect(run.ofType("aws:iam/rolePolicy:RolePolicy").filter(p => p.inputs.role === `${base}-tracking-task`)).toEqual([]);
    });

    test("its execution role injects its own secrets and the master secret (for the init container)", () => {
        const exec = JSON.parse(named(run, `${base}-tracking-execution`, "aws:iam/rolePolicy:RolePolicy").inputs.policy);
        const secrets = exec.Statement.find((s: any) => s.Sid === "Secrets").Resource;
        expect(secrets).toEqual([dbSecretArn(), ARN("secretsmanager/secret", `mlflow-aws-proxy-project-${name}-htpasswd`), masterSecret()]);
    });

    test("its task: MLflow under its prefix with its own DB secret, the sidecar with its login, the init with the master secret", () => {
        expect(containers().map(x => [x.name, x.essential])).toEqual([["mlflow", true], ["proxy", true], ["project-db-init", false]]);
        const mlflow = c("mlflow");
        const envOf = (x: Record<string, any>) => Object.fromEntries(x.environment.map((e: any) => [e.name, e.value]));
        expect(envOf(mlflow)).toMatchObject({
            MLFLOW_STATIC_PREFIX: n.urlPath, MLFLOW_DB_NAME: n.database,
            MLFLOW_ARTIFACTS_DESTINATION: `s3://${run.outputs.artifactBucket as string}/${n.artifactPrefix}`,
        });
        expect(mlflow.secrets.map((s: any) => s.valueFrom)).toEqual([`${dbSecretArn()}:username::`, `${dbSecretArn()}:password::`]);
        expect(mlflow.dependsOn).toEqual([{ containerName: "project-db-init", condition: "SUCCESS" }]);
        expect(mlflow.image).toBe(c("project-db-init").image);
        expect(mlflow.image).toBe(run.one("docker:index/image:Image").inputs.imageName);
        const init = c("project-db-init");
        expect(init.secrets.map((s: any) => s.valueFrom)).toEqual([`${masterSecret()}:username::`, `${masterSecret()}:password::`, `${dbSecretArn()}:password::`]);
        expect(JSON.parse(envOf(init).MLFLOW_PROJECT_DB_STATEMENTS)).toEqual(renderProjectInitStatements("mysql", name));
        expect(JSON.stringify([mlflow, c("proxy")])).not.toContain(masterSecret());
        const proxy = c("proxy");
        const htpasswd = named(run, `mlflow-aws-proxy-project-${name}-htpasswd`);
        const version = run.ofType("aws:secretsmanager/secretVersion:SecretVersion").find(v => v.name === `mlflow-aws-proxy-project-${name}-htpasswd`)!;
        expect(proxy.secrets).toEqual([{ name: "HTPASSWD", valueFrom: expect.stringMatching(new RegExp(`^${ARN("secretsmanager/secret", htpasswd.name)}:::`)) }]);
        expect(envOf(proxy).NGINX_CONF).toBe(renderProxyConfig({
            listenPort: 8080, upstream: "127.0.0.1:5000", maxUploadSize: "5g", timeoutSeconds: 3600, htpasswdPath: "/etc/nginx/mlflow.htpasswd",
            keepAlive: keepAliveChain({ proxyTimeoutSeconds: 3600, loadBalancer: true }), servedProject: name,
        }));
        const [user, entry] = (version.inputs.secretString as string).trim().split(":");
        expect(user).toBe(username);
        const password = (run.outputs.projects as Record<string, { password: string }>)[name].password;
        expect(verifySha512Crypt(password, entry)).toBe(true);
        expect(version.secretInputs).toContain("secretString");
    });

    test("its own, smaller task: 0.25 vCPU / 0.5 GB (the Fargate minimum), one task (autoscaling max 1), one worker, no job execution; / keeps its size", () => {
        const envOf = (x: Record<string, any>) => Object.fromEntries(x.environment.map((e: any) => [e.name, e.value]));
        expect(named(run, `${base}-tracking-task`).inputs).toMatchObject({ cpu: "256", memory: "512" });
        expect(run.resources.find(r => r.name === `${base}-tracking-scaling`)!.inputs).toMatchObject({ minCapacity: 1, maxCapacity: 1 });
        expect(named(run, `${base}-tracking-service`).inputs).toMatchObject({ desiredCount: 1, deploymentMaximumPercent: 200 });
        // Aurora may pause (dbMinCapacity 0): NullPool, no pool sizes; job execution off although one task runs.
        expect(envOf(c("mlflow"))).toMatchObject({ MLFLOW_WORKERS: "1", MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false", MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS: "false" });
        expect(named(run, "mlflow-aws-tracking-task").inputs).toMatchObject({ cpu: "512", memory: "1024" });
        expect(run.resources.find(r => r.name === "mlflow-aws-tracking-scaling")!.inputs).toMatchObject({ maxCapacity: 3 });
    });

    test("its database secret: generated, secret, kept on destroy by default", () => {
        const secret = named(run, `${base}-database-secret`);
        expect(secret.options.retainOnDelete).toBe(true);
        const version = run.ofType("aws:secretsmanager/secretVersion:SecretVersion").find(v => v.name === `${base}-database-secret`)!;
        expect(version.options.retainOnDelete).toBe(true);
        expect(version.secretInputs).toContain("secretString");
        expect(JSON.parse(version.inputs.secretString)).toEqual({ username: n.databaseUser, password: `pw-${base}-database-password-S3cret!@:%` });
        const text = JSON.stringify(run.resources.filter(r => r.type !== "aws:secretsmanager/secretVersion:SecretVersion" && r.type !== "random:index/randomPassword:RandomPassword").map(r => r.inputs));
        expect(text).not.toContain(`pw-${base}-database-password`);
    });
});
