// Through the whole program, both targets: background work per replica
// count, and the AI Gateway off by default or on with the passphrase from stack config only.
import { awsCalls as calls, REGION } from "./awsMocks";
import { envRecord, ProgramRun, runProgram } from "./harness";

const PASSPHRASE = "kek-passphrase-from-stack-config-0123456789";
const SECRET = "aws:secretsmanager/secret:Secret";
const SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion";

function mlflowContainer(run: ProgramRun): { environment: Array<{ name: string; value: string }>; secrets: Array<{ name: string; valueFrom: string }> } {
    const defs = JSON.parse(run.one("aws:ecs/taskDefinition:TaskDefinition", /-tracking-task$/).inputs.containerDefinitions);
    return defs.find((c: { name: string }) => c.name === "mlflow");
}

describe.each([
    ["default", {}, { jobs: "false", periodic: "false" }],
    ["one task, Aurora may pause", { maxTasks: "1", minTasks: "1", desiredCount: "1" }, { jobs: "true", periodic: "false" }],
    ["one task, Aurora kept warm", { maxTasks: "1", minTasks: "1", desiredCount: "1", dbMinCapacity: "0.5" }, { jobs: "true", periodic: "true" }],
])("aws, %s", (_label, extra, expected) => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ stack: "aws", config: { "aws:region": REGION, target: "aws", ...extra }, calls });
    });

    test("background work as the replica count and auto-pause allow", () => {
        const env = Object.fromEntries(mlflowContainer(run).environment.map(e => [e.name, e.value]));
        expect(env.MLFLOW_SERVER_ENABLE_JOB_EXECUTION).toBe(expected.jobs);
        expect(env.MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS).toBe(expected.periodic);
    });

    test("the AI Gateway is off and no passphrase secret exists", () => {
        const c = mlflowContainer(run);
        expect(c.environment).toContainEqual({ name: "MLFLOW_ENABLE_AI_GATEWAY", value: "false" });
        expect(c.secrets.map(s => s.name)).not.toContain("MLFLOW_CRYPTO_KEK_PASSPHRASE");
        expect(run.ofType(SECRET).filter(s => /gateway-kek/.test(s.name))).toEqual([]);
    });
});

describe("aws with the AI Gateway on", () => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({
            stack: "aws", calls,
            config: { "aws:region": REGION, target: "aws", enableAiGateway: "true", aiGatewayKekPassphrase: PASSPHRASE },
        });
    });

    test("the passphrase reaches MLflow only through an ECS secret", () => {
        const c = mlflowContainer(run);
        const secret = run.one(SECRET, /gateway-kek$/);
        expect(c.environment).toContainEqual({ name: "MLFLOW_ENABLE_AI_GATEWAY", value: "true" });
        expect(c.secrets).toContainEqual({ name: "MLFLOW_CRYPTO_KEK_PASSPHRASE", valueFrom: `arn:aws:mock:eu-west-1:123456789012:secretsmanager/secret/${secret.name}` });
        expect(JSON.stringify(run.one("aws:ecs/taskDefinition:TaskDefinition", /-tracking-task$/).inputs)).not.toContain(PASSPHRASE);
    });

    test("the secret holds the configured passphrase, marked secret", () => {
        const version = run.one(SECRET_VERSION, /gateway-kek$/);
        expect(version.inputs.secretString).toBe(PASSPHRASE);
        expect(version.secretInputs).toContain("secretString");
    });

    test("the execution role may read it", () => {
        const policy = JSON.parse(run.one("aws:iam/rolePolicy:RolePolicy", /-execution$/).inputs.policy);
        const secrets = policy.Statement.find((s: { Sid: string }) => s.Sid === "Secrets").Resource;
        expect(secrets).toContain(`arn:aws:mock:eu-west-1:123456789012:secretsmanager/secret/${run.one(SECRET, /gateway-kek$/).name}`);
    });
});

describe.each([
    ["off by default", {}, undefined],
    ["on", { enableAiGateway: "true", aiGatewayKekPassphrase: PASSPHRASE }, PASSPHRASE],
])("local, AI Gateway %s", (_label, extra, passphrase) => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ stack: "dev", config: { target: "local", ...extra } });
    });

    test("switch and passphrase in the container's secret environment", () => {
        const container = run.one("docker:index/container:Container", /-mlflow$/);
        const env = envRecord(container.inputs.envs);
        expect(env.MLFLOW_ENABLE_AI_GATEWAY).toBe(passphrase ? "true" : "false");
        expect(env.MLFLOW_CRYPTO_KEK_PASSPHRASE).toBe(passphrase);
        expect(container.secretInputs).toContain("envs");
    });
});

describe.each([
    ["defaults: one worker, no job execution, on / and every project", {}, { workers: "1", jobs: "false" }, { workers: "1", jobs: "false" }],
    ["jobExecution on /", { jobExecution: "true" }, { workers: "1", jobs: "true" }, { workers: "1", jobs: "false" }],
    ["projects with job execution and two workers", { projectJobExecution: "true", projectWorkers: "2", mlflowWorkers: "3" }, { workers: "3", jobs: "false" }, { workers: "2", jobs: "true" }],
])("local servers, %s", (_label, extra, root, project) => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ stack: "dev", config: { target: "local", projects: '["alpha","beta"]', ...extra } });
    });

    test.each([["/", /^mlflow-dev-tracking-mlflow$/, root], ["alpha", /project-alpha-tracking-mlflow$/, project], ["beta", /project-beta-tracking-mlflow$/, project]])(
        "%s: workers, job execution and its periodic tasks (one container, a database that never pauses)", (_server, name, expected) => {
            const env = envRecord(run.one("docker:index/container:Container", name).inputs.envs);
            expect(env.MLFLOW_WORKERS).toBe(expected.workers);
            expect(env.MLFLOW_SERVER_ENABLE_JOB_EXECUTION).toBe(expected.jobs);
            expect(env.MLFLOW_SERVER_JOB_ENABLE_PERIODIC_TASKS).toBe(expected.jobs);
        });
});

describe.each([
    ["mysql", {}, { collation_server: "utf8mb4_bin", character_set_server: "utf8mb4", require_secure_transport: "ON" }, "aurora-mysql8.0",
        "ssl_ca=/opt/mlflow/rds-global-bundle.pem&ssl_check_hostname=true"],
    ["postgres", { backend: "postgres" }, { "rds.force_ssl": "1" }, "aurora-postgresql16",
        "sslmode=verify-full&sslrootcert=/opt/mlflow/rds-global-bundle.pem"],
])("aws %s: the database compares names like Docker and is reached over verified TLS", (_engine, extra, parameters, family, tlsQuery) => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ stack: "aws", config: { "aws:region": REGION, target: "aws", ...extra }, calls });
    });

    test("the cluster uses a parameter group with the rendered parameters, kept with the cluster", () => {
        const group = run.one("aws:rds/clusterParameterGroup:ClusterParameterGroup");
        expect(group.inputs.family).toBe(family);
        expect(Object.fromEntries(group.inputs.parameters.map((p: { name: string; value: string }) => [p.name, p.value]))).toEqual(parameters);
        expect(run.one("aws:rds/cluster:Cluster").inputs.dbClusterParameterGroupName).toBe(group.name);
        expect(group.options.retainOnDelete).toBe(true);
    });

    test("MLflow connects with the TLS query", () => {
        expect(mlflowContainer(run).environment).toContainEqual({ name: "MLFLOW_DB_TLS_QUERY", value: tlsQuery });
    });
});

// With retainDataOnDestroy (default) everything the kept cluster and bucket use is kept.
describe.each([
    ["retainDataOnDestroy true (default)", {}, true],
    ["retainDataOnDestroy false", { retainDataOnDestroy: "false" }, false],
])("aws destroy with %s", (_label, extra, kept) => {
    let run: ProgramRun;
    beforeAll(async () => {
        run = await runProgram({ stack: "aws", config: { "aws:region": REGION, target: "aws", ...extra }, calls });
    });
    const retained = (type: string, pattern?: RegExp) =>
        run.ofType(type).filter(r => !pattern || pattern.test(r.name)).map(r => [r.name, r.options.retainOnDelete ?? false]);

    test("the bucket's protections stay with the bucket", () => {
        for (const type of [
            "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
            "aws:s3/bucketVersioning:BucketVersioning",
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
            "aws:s3/bucketPolicy:BucketPolicy",
            "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        ]) {
            const found = retained(type);
            expect(found).toHaveLength(1);
            expect(found).toEqual([[found[0][0], kept]]);
        }
    });

    test("the cluster's subnet group, security group, private subnets and VPC stay with the cluster", () => {
        const expectKept = (type: string, pattern: RegExp, count: number) => {
            const found = retained(type, pattern);
            expect(found).toHaveLength(count);
            expect(found.every(([, k]) => k === kept)).toBe(true);
        };
        expectKept("aws:rds/subnetGroup:SubnetGroup", /./, 1);
        expectKept("aws:ec2/securityGroup:SecurityGroup", /-db-sg$/, 1);
        expectKept("aws:ec2/subnet:Subnet", /-private-\d$/, 2);
        expectKept("aws:ec2/vpc:Vpc", /./, 1);
        // What the cluster does not use goes, so destroy + up starts clean around the kept parts.
        expect(retained("aws:ec2/securityGroup:SecurityGroup", /-(lb|service)-sg$/).every(([, k]) => k === false)).toBe(true);
        expect(retained("aws:ec2/subnet:Subnet", /-public-\d$/).every(([, k]) => k === false)).toBe(true);
    });

    test("the ECR repository is emptied on delete instead of failing destroy", () => {
        expect(run.one("aws:ecr/repository:Repository").inputs.forceDelete).toBe(true);
    });
});
