// The aws target under mocks: exact resource graph per engine, and the security and data-safety
// invariants every AWS stack must hold. No AWS account is involved.
import { awsCalls as calls, ECR_TOKEN_PASSWORD, REGION } from "./awsMocks";
import { mockVersionId, ProgramRun, RecordedResource, runProgram } from "./harness";
import { committedUrnSet, urnSet } from "./urnSets";

const STACK_TAG = { "mlflow-platform:stack": "aws" };
const CERT = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666";

const T = {
    bucket: "aws:s3/bucket:Bucket",
    sse: "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    versioning: "aws:s3/bucketVersioning:BucketVersioning",
    publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
    ownership: "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    vpc: "aws:ec2/vpc:Vpc",
    subnet: "aws:ec2/subnet:Subnet",
    igw: "aws:ec2/internetGateway:InternetGateway",
    routeTable: "aws:ec2/routeTable:RouteTable",
    route: "aws:ec2/route:Route",
    rta: "aws:ec2/routeTableAssociation:RouteTableAssociation",
    endpoint: "aws:ec2/vpcEndpoint:VpcEndpoint",
    sg: "aws:ec2/securityGroup:SecurityGroup",
    ingress: "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    egress: "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
    iamPolicy: "aws:iam/policy:Policy",
    role: "aws:iam/role:Role",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    subnetGroup: "aws:rds/subnetGroup:SubnetGroup",
    cluster: "aws:rds/cluster:Cluster",
    clusterParams: "aws:rds/clusterParameterGroup:ClusterParameterGroup",
    instance: "aws:rds/clusterInstance:ClusterInstance",
    secret: "aws:secretsmanager/secret:Secret",
    secretVersion: "aws:secretsmanager/secretVersion:SecretVersion",
    alb: "aws:lb/loadBalancer:LoadBalancer",
    targetGroup: "aws:lb/targetGroup:TargetGroup",
    listener: "aws:lb/listener:Listener",
    listenerRule: "aws:lb/listenerRule:ListenerRule",
    distribution: "aws:cloudfront/distribution:Distribution",
    repo: "aws:ecr/repository:Repository",
    repoLifecycle: "aws:ecr/lifecyclePolicy:LifecyclePolicy",
    image: "docker:index/image:Image",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    ecsCluster: "aws:ecs/cluster:Cluster",
    taskDef: "aws:ecs/taskDefinition:TaskDefinition",
    service: "aws:ecs/service:Service",
    scalingTarget: "aws:appautoscaling/target:Target",
    scalingPolicy: "aws:appautoscaling/policy:Policy",
    password: "random:index/randomPassword:RandomPassword",
    randomString: "random:index/randomString:RandomString",
} as const;

/** AWS resource types that take no tags. */
const UNTAGGABLE = new Set<string>([
    T.sse, T.versioning, T.publicAccessBlock, T.ownership, T.bucketPolicy, T.lifecycle, T.route, T.rta,
    T.rolePolicy, T.attachment, T.secretVersion, T.repoLifecycle, T.scalingPolicy,
    // The provider's Schedule, Dashboard and TopicSubscription have no tags input.
    "aws:scheduler/schedule:Schedule", "aws:cloudwatch/dashboard:Dashboard", "aws:sns/topicSubscription:TopicSubscription",
]);
/** `/`'s task definition and roles (with retainDataOnDestroy=false the prune has its own: tests/aws-prune.test.ts). */
const ROOT_TASK = /-tracking-task$/;
/** What retainDataOnDestroy=false adds: the prune's parameter, task definition, three roles with a policy each, schedule. */
const PRUNE_COUNTS = { "aws:ssm/parameter:Parameter": 1, "aws:ecs/taskDefinition:TaskDefinition": 1, "aws:iam/role:Role": 3, "aws:iam/rolePolicy:RolePolicy": 3, "aws:scheduler/schedule:Schedule": 1 };
/** The prune's resources (retainDataOnDestroy=false), which the invariants below check as they apply. */
const isPrune = (name: string) => /-tracking-prune(-|$)/.test(name);
/** What the scheduled garbage collection (on by default) adds per server: tests/aws-gc.test.ts checks it. */
const GC_COUNTS = {
    "mlflow:index:GarbageCollection": 1, "aws:ecs/taskDefinition:TaskDefinition": 1, "aws:iam/role:Role": 3, "aws:iam/rolePolicy:RolePolicy": 2,
    "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 1, "aws:scheduler/schedule:Schedule": 1,
};
const isGc = (name: string) => /-tracking-gc(-|$)/.test(name);
/** What monitoring (on by default) adds for the server at `/`: the 5xx rate, four alarms per service, two for the database (tests/aws-monitoring.test.ts). */
const MONITORING_COUNTS = {
    "mlflow:index:Monitoring": 1, "aws:sns/topic:Topic": 1, "aws:cloudwatch/metricAlarm:MetricAlarm": 1 + 4 + 2, "aws:cloudwatch/dashboard:Dashboard": 1,
};


function aws(config: Record<string, string>): Promise<ProgramRun> {
    return runProgram({ stack: "aws", config: { "aws:region": REGION, target: "aws", ...config }, calls });
}

function countByType(run: ProgramRun): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const r of run.resources) counts[r.type] = (counts[r.type] ?? 0) + 1;
    return counts;
}

/** The graph of every stack; listeners and LB ingress rules depend on the certificate. */
function expectedCounts(o: { certificate: boolean; ingressCidrs: number; newVpc: boolean; prune?: boolean; cloudFront?: boolean }): Record<string, number> {
    const counts = expectedRootCounts(o);
    for (const [t, n] of Object.entries(GC_COUNTS)) counts[t] = (counts[t] ?? 0) + n;
    for (const [t, n] of Object.entries(MONITORING_COUNTS)) counts[t] = (counts[t] ?? 0) + n;
    if (o.prune) for (const [t, n] of Object.entries(PRUNE_COUNTS)) counts[t] = (counts[t] ?? 0) + n;
    return counts;
}

function expectedRootCounts(o: { certificate: boolean; ingressCidrs: number; newVpc: boolean; cloudFront?: boolean }): Record<string, number> {
    const withCertificate = o.certificate;
    // Behind CloudFront: one rule from its prefix list instead of one per CIDR.
    const ingressCidrs = o.cloudFront ? 1 : o.ingressCidrs;
    // CloudFront: the distribution, the `/` rule requiring the origin header, and that header's secret.
    const cloudFront: Record<string, number> = o.cloudFront ? { [T.distribution]: 1, [T.listenerRule]: 1 } : {};
    const vpc: Record<string, number> = o.newVpc ? { [T.vpc]: 1, [T.subnet]: 4, [T.igw]: 1, [T.routeTable]: 2, [T.route]: 1, [T.rta]: 4, [T.endpoint]: 1 } : {};
    return {
        ...vpc,
        ...cloudFront,
        "mlflow:index:MlflowPlatform": 1, "mlflow:index:Network": 1, "mlflow:index:ArtifactStore": 1, "mlflow:index:BucketInit": 1,
        "mlflow:index:BackendStore": 1, "mlflow:index:TrackingServer": 1, "mlflow:index:AuthProxy": 1,
        [T.sg]: 3,
        // LB: listener ports x CIDRs; service: from the LB; database: from the service.
        [T.ingress]: (withCertificate ? 2 : 1) * ingressCidrs + 2,
        // LB -> proxy; service -> 443 and -> database.
        [T.egress]: 3,
        [T.bucket]: 1, [T.sse]: 1, [T.versioning]: 1, [T.publicAccessBlock]: 1, [T.ownership]: 1, [T.bucketPolicy]: 1, [T.lifecycle]: 1,
        [T.iamPolicy]: 1,
        [T.subnetGroup]: 1, [T.cluster]: 1, [T.clusterParams]: 1, [T.instance]: 1,
        // The generated basic-auth password (none is configured in these runs).
        [T.password]: o.cloudFront ? 2 : 1,
        // The salt of its htpasswd entry, kept in state so the entry does not change per run.
        [T.randomString]: 1,
        [T.secret]: 1, [T.secretVersion]: 1, [T.alb]: 1, [T.targetGroup]: 1, [T.listener]: withCertificate ? 2 : 1,
        [T.repo]: 1, [T.repoLifecycle]: 1, [T.image]: 1, [T.logGroup]: 1, [T.ecsCluster]: 1,
        [T.role]: 2, [T.rolePolicy]: 2, [T.attachment]: 1, [T.taskDef]: 1, [T.service]: 1,
        [T.scalingTarget]: 1, [T.scalingPolicy]: 1,
    };
}

interface ContainerDef {
    name: string;
    image: string;
    environment?: { name: string; value: string }[];
    secrets?: { name: string; valueFrom: string }[];
    command?: string[];
    portMappings?: { containerPort: number }[];
    dependsOn?: { containerName: string; condition: string }[];
    logConfiguration?: { logDriver: string; options: Record<string, string> };
}

function containers(run: ProgramRun): ContainerDef[] {
    return JSON.parse(run.one(T.taskDef, ROOT_TASK).inputs.containerDefinitions);
}

function container(run: ProgramRun, name: string): ContainerDef {
    const found = containers(run).find(c => c.name === name);
    if (!found) throw new Error(`no container ${name}`);
    return found;
}

function env(c: ContainerDef): Record<string, string> {
    return Object.fromEntries((c.environment ?? []).map(e => [e.name, e.value]));
}

function sgId(run: ProgramRun, suffix: string): string {
    return `${run.one(T.sg, new RegExp(`-${suffix}$`)).name}-id`;
}

function rulesOf(run: ProgramRun, type: string, groupId: string): RecordedResource[] {
    return run.ofType(type).filter(r => r.inputs.securityGroupId === groupId);
}

interface Statement { Effect: string; Action: string | string[]; Resource: string | string[]; Condition?: unknown }

function statements(run: ProgramRun): Statement[] {
    return [...run.ofType(T.iamPolicy), ...run.ofType(T.rolePolicy)]
        .flatMap(p => (JSON.parse(p.inputs.policy).Statement as Statement[]));
}

const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

/** Invariants that hold for every AWS stack, whatever the engine and options. */
function describeAwsInvariants(label: string, get: () => ProgramRun) {
    describe(`${label}: invariants`, () => {
        test("the artifact bucket is encrypted, versioned, private, owner-enforced and TLS-only", () => {
            const run = get();
            const bucketId = `${run.one(T.bucket).name}-id`;
            for (const type of [T.sse, T.versioning, T.publicAccessBlock, T.ownership, T.bucketPolicy, T.lifecycle]) {
                expect(run.one(type).inputs.bucket).toBe(bucketId);
            }
            expect(run.one(T.sse).inputs.rules[0].applyServerSideEncryptionByDefault.sseAlgorithm).toMatch(/^(AES256|aws:kms)$/);
            expect(run.one(T.versioning).inputs.versioningConfiguration.status).toBe("Enabled");
            expect(run.one(T.publicAccessBlock).inputs).toMatchObject({
                blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true,
            });
            expect(run.one(T.ownership).inputs.rule.objectOwnership).toBe("BucketOwnerEnforced");
            const policy = JSON.parse(run.one(T.bucketPolicy).inputs.policy);
            const arn = `arn:aws:s3:::${String(run.outputs.artifactBucket)}`;
            expect(policy.Statement).toEqual([expect.objectContaining({
                Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [arn, `${arn}/*`],
                Condition: { Bool: { "aws:SecureTransport": "false" } },
            })]);
            expect(policy.Statement.filter((s: Statement) => s.Effect === "Allow")).toEqual([]);
            const rules = run.one(T.lifecycle).inputs.rules;
            expect(rules.find((r: any) => r.abortIncompleteMultipartUpload)?.abortIncompleteMultipartUpload.daysAfterInitiation).toBe(7);
            // Versions of deleted or overwritten artifacts expire, then their lone delete markers go too.
            expect(rules.filter((r: any) => r.noncurrentVersionExpiration).length).toBe(1);
            expect(rules.filter((r: any) => r.expiration)).toEqual([expect.objectContaining({ status: "Enabled", filter: {}, expiration: { expiredObjectDeleteMarker: true } })]);
            expect(rules.every((r: any) => r.status === "Enabled")).toBe(true);
        });

        test("no identity can remove an artifact for good or turn the bucket's versioning or lifecycle off", () => {
            // gc and the project prune delete objects; with versioning the bytes stay as noncurrent
            // versions until the lifecycle expires them: only the lifecycle may remove a version.
            const forbidden = /^s3:(\*|Delete\*|DeleteObjectVersion|PutBucketVersioning|PutLifecycleConfiguration|PutBucketPolicy|DeleteBucket)$/;
            const actions = statements(get()).filter(s => s.Effect === "Allow").flatMap(s => list(s.Action));
            expect(actions).toContain("s3:DeleteObject");
            expect(actions.filter(a => forbidden.test(a) || a === "*")).toEqual([]);
        });

        test("the database is private, encrypted, and its password is managed by RDS", () => {
            const run = get();
            const cluster = run.one(T.cluster).inputs;
            expect(cluster).toMatchObject({
                engineMode: "provisioned", storageEncrypted: true, manageMasterUserPassword: true,
                skipFinalSnapshot: false, copyTagsToSnapshot: true, vpcSecurityGroupIds: [sgId(run, "db-sg")],
            });
            expect(cluster.masterPassword).toBeUndefined();
            expect(cluster.finalSnapshotIdentifier).toMatch(/^[a-z][a-z0-9-]*[a-z0-9]$/);
            expect(run.one(T.instance).inputs).toMatchObject({ instanceClass: "db.serverless", publiclyAccessible: false, autoMinorVersionUpgrade: false });
            expect(run.outputs.databaseSecretArn).toMatch(/^arn:aws:secretsmanager:/);
        });

        test("the database admits its engine port from the tasks' security group only", () => {
            const run = get();
            const port = run.one(T.cluster).inputs.port;
            const dbIngress = rulesOf(run, T.ingress, sgId(run, "db-sg"));
            expect(dbIngress.map(r => r.inputs)).toEqual([expect.objectContaining({
                ipProtocol: "tcp", fromPort: port, toPort: port, referencedSecurityGroupId: sgId(run, "service-sg"),
            })]);
            expect(dbIngress[0].inputs.cidrIpv4).toBeUndefined();
            expect(rulesOf(run, T.egress, sgId(run, "db-sg"))).toEqual([]);
            const serviceToDb = rulesOf(run, T.egress, sgId(run, "service-sg")).filter(r => r.inputs.referencedSecurityGroupId === sgId(run, "db-sg"));
            expect(serviceToDb.map(r => [r.inputs.fromPort, r.inputs.toPort])).toEqual([[port, port]]);
        });

        test("the tasks admit the proxy port from the load balancer only", () => {
            const run = get();
            expect(rulesOf(run, T.ingress, sgId(run, "service-sg")).map(r => r.inputs)).toEqual([expect.objectContaining({
                fromPort: 8080, toPort: 8080, referencedSecurityGroupId: sgId(run, "lb-sg"),
            })]);
            // Only the load balancer's group takes traffic from IP ranges (CIDRs or CloudFront's prefix list).
            const cidrIngress = run.ofType(T.ingress).filter(r => r.inputs.cidrIpv4 !== undefined || r.inputs.cidrIpv6 !== undefined || r.inputs.prefixListId !== undefined);
            expect(new Set(cidrIngress.map(r => r.inputs.securityGroupId))).toEqual(new Set([sgId(run, "lb-sg")]));
        });

        test("no plaintext secret anywhere in the task definition", () => {
            const run = get();
            const text = run.one(T.taskDef, ROOT_TASK).inputs.containerDefinitions as string;
            for (const c of containers(run)) {
                for (const e of c.environment ?? []) expect(e.name).not.toMatch(/PASSWORD|SECRET|TOKEN|HTPASSWD|ACCESS_KEY/i);
                for (const s of c.secrets ?? []) expect(s.valueFrom).toMatch(/^arn:aws:/);
            }
            expect(text).not.toContain("pw-");
            expect(text).not.toMatch(/\$(2b|6)\$/);
            expect(text).not.toContain(ECR_TOKEN_PASSWORD);
            expect(text).not.toMatch(/AWS_(ACCESS_KEY_ID|SECRET_ACCESS_KEY)|MLFLOW_BACKEND_STORE_URI/);
            // Credentials come from the RDS-managed secret and the htpasswd secret.
            const dbSecret = run.outputs.databaseSecretArn as string;
            expect(container(run, "mlflow").secrets).toEqual([
                { name: "MLFLOW_DB_USER", valueFrom: `${dbSecret}:username::` },
                { name: "MLFLOW_DB_PASSWORD", valueFrom: `${dbSecret}:password::` },
            ]);
            const htpasswdSecretArn = `arn:aws:mock:eu-west-1:123456789012:secretsmanager/secret/${run.one(T.secret).name}`;
            // Pinned to the secret's current version, so a new password changes the task definition and rolls the service.
            const htpasswdVersion = run.one(T.secretVersion, /-htpasswd$/);
            expect(container(run, "proxy").secrets).toEqual([{ name: "HTPASSWD", valueFrom: `${htpasswdSecretArn}:::${mockVersionId(htpasswdVersion.name, htpasswdVersion.inputs.secretString)}` }]);
            // The command names variables only.
            expect(container(run, "proxy").command!.join(" ")).not.toMatch(/\$2b\$|\$6\$|pw-|mlflow:/);
        });

        test("secret values reach Secrets Manager and the registry login marked secret", () => {
            const run = get();
            const version = run.one(T.secretVersion);
            expect(version.secretInputs).toContain("secretString");
            expect(version.inputs.secretString).toMatch(/^mlflow:\$6\$rounds=1000\$/);
            expect(run.one(T.image).secretInputs).toContain("registry");
            expect(run.secretOutputs.password).toBe(true);
        });

        test("IAM grants are scoped: no s3:* or * action, no * resource except the ECR token", () => {
            const run = get();
            const allows = statements(run).filter(s => s.Effect === "Allow");
            expect(allows.length).toBeGreaterThan(0);
            for (const s of allows) {
                const actions = list(s.Action);
                expect(actions).not.toContain("*");
                expect(actions).not.toContain("s3:*");
                if (list(s.Resource).includes("*")) expect(actions).toEqual(["ecr:GetAuthorizationToken"]);
            }
            const bucketArn = `arn:aws:s3:::${String(run.outputs.artifactBucket)}`;
            const s3 = allows.filter(s => list(s.Action).some(a => a.startsWith("s3:")));
            const prune = run.resources.some(r => isPrune(r.name)) ? [`${bucketArn}/projects/*`] : [];
            expect([...new Set(s3.flatMap(s => list(s.Resource)))].sort()).toEqual([bucketArn, `${bucketArn}/*`, ...prune].sort());
            const secrets = allows.filter(s => list(s.Action).includes("secretsmanager:GetSecretValue"));
            expect([...new Set(secrets.flatMap(s => list(s.Resource)))].sort()).toEqual([
                run.outputs.databaseSecretArn,
                `arn:aws:mock:eu-west-1:123456789012:secretsmanager/secret/${run.one(T.secret).name}`,
            ].sort());
        });

        test("the task role holds the artifact policy and, to notice password rotations, DescribeSecret on the database secret", () => {
            const run = get();
            const taskRole = run.one(T.role, /-tracking-task$/);
            const taskDef = run.one(T.taskDef, ROOT_TASK).inputs;
            expect(taskDef.taskRoleArn).toContain(taskRole.name);
            expect(taskDef.executionRoleArn).toContain(run.one(T.role, /-tracking-execution$/).name);
            const attachments = run.ofType(T.attachment).filter(a => !isGc(a.name));
            expect(attachments.map(a => [a.inputs.role, a.inputs.policyArn])).toEqual([
                [taskRole.name, `arn:aws:mock:eu-west-1:123456789012:iam/policy/${run.one(T.iamPolicy).name}`],
            ]);
            expect(run.ofType(T.rolePolicy).filter(p => !isPrune(p.name) && !isGc(p.name)).map(p => p.inputs.role).sort()).toEqual([run.one(T.role, /-tracking-execution$/).name, taskRole.name].sort());
            const watch = run.ofType(T.rolePolicy).find(p => p.inputs.role === taskRole.name)!;
            expect(JSON.parse(watch.inputs.policy).Statement).toEqual([{
                Sid: "WatchDatabaseSecretRotation", Effect: "Allow", Action: ["secretsmanager:DescribeSecret"], Resource: [run.outputs.databaseSecretArn],
            }]);
            expect(env(container(run, "mlflow"))).toMatchObject({ MLFLOW_DB_ROTATION_WATCH_ARN: run.outputs.databaseSecretArn, MLFLOW_DB_ROTATION_CHECK_SECONDS: "300" });
            // The prune's scheduler role trusts EventBridge Scheduler (tests/aws-prune.test.ts).
            for (const role of run.ofType(T.role).filter(r => !r.name.endsWith("-prune-scheduler") && !r.name.endsWith("-gc-sched"))) {
                expect(JSON.parse(role.inputs.assumeRolePolicy).Statement).toEqual([
                    { Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" },
                ]);
                expect(role.inputs.managedPolicyArns ?? []).toEqual([]);
            }
        });

        test("images are scanned on push, immutable, and the registry keeps a bounded history", () => {
            const run = get();
            expect(run.one(T.repo).inputs).toMatchObject({ imageScanningConfiguration: { scanOnPush: true }, imageTagMutability: "IMMUTABLE" });
            const rules = JSON.parse(run.one(T.repoLifecycle).inputs.policy).rules;
            expect(rules[0].selection).toMatchObject({ countType: "imageCountMoreThan", countNumber: 10 });
            const image = run.one(T.image).inputs;
            expect(image.imageName).toMatch(new RegExp(`^${String(run.outputs.ecrRepositoryUrl)}:\\d+\\.\\d+\\.\\d+-[0-9a-f]{12}$`));
            expect(container(run, "mlflow").image).toBe(image.imageName);
            expect(image.build.args).toEqual({ PYTHON_IMAGE: "python:3.12.11-slim-bookworm" });
        });

        test("logs are kept for the configured period and both containers write there", () => {
            const run = get();
            const logGroup = run.one(T.logGroup);
            expect(logGroup.inputs.retentionInDays).toBe(30);
            for (const c of containers(run)) {
                expect(c.logConfiguration).toEqual({
                    logDriver: "awslogs",
                    options: { "awslogs-group": logGroup.inputs.name ?? logGroup.name, "awslogs-region": REGION, "awslogs-stream-prefix": c.name },
                });
            }
        });

        test("the load balancer reaches only the proxy sidecar, which waits for a healthy MLflow", () => {
            const run = get();
            const service = run.one(T.service).inputs;
            expect(service.loadBalancers).toEqual([expect.objectContaining({ containerName: "proxy", containerPort: 8080 })]);
            expect(service.deploymentCircuitBreaker).toEqual({ enable: true, rollback: true });
            expect(service.healthCheckGracePeriodSeconds).toBeGreaterThanOrEqual(120);
            expect(service.networkConfiguration.securityGroups).toEqual([sgId(run, "service-sg")]);
            expect(container(run, "mlflow").portMappings ?? []).toEqual([]);
            expect(container(run, "proxy").portMappings).toEqual([{ containerPort: 8080, protocol: "tcp" }]);
            expect(container(run, "proxy").dependsOn).toEqual([{ containerName: "mlflow", condition: "HEALTHY" }]);
            const tg = run.one(T.targetGroup).inputs;
            expect(tg).toMatchObject({ targetType: "ip", port: 8080, protocol: "HTTP", healthCheck: { path: "/health", matcher: "200" } });
            expect(run.one(T.alb).inputs).toMatchObject({ internal: false, loadBalancerType: "application", dropInvalidHeaderFields: true });
            expect(env(container(run, "mlflow")).MLFLOW_SERVER_ALLOWED_HOSTS.split(",")).toContain(new URL(String(run.outputs.trackingUri)).host);
        });

        test("keep-alive chain: ALB idle < nginx client keepalive_timeout; nginx upstream < uvicorn", () => {
            const run = get();
            const conf = env(container(run, "proxy")).NGINX_CONF;
            const idle = run.one(T.alb).inputs.idleTimeout as number;
            const client = Number(/server \{[^]*?\n    keepalive_timeout (\d+)s;/.exec(conf)![1]);
            const upstream = Number(/upstream mlflow_tracking \{[^}]*keepalive_timeout (\d+)s;/.exec(conf)![1]);
            const uvicorn = Number(/--timeout-keep-alive (\d+)/.exec(env(container(run, "mlflow")).MLFLOW_UVICORN_OPTS)![1]);
            expect(idle).toBe(3600); // proxyTimeoutSeconds: also bounds silent stretches inside a long transfer
            expect(idle).toBeLessThan(client);
            expect(upstream).toBeLessThan(uvicorn);
        });

        test("autoscaling tracks CPU between minTasks and maxTasks", () => {
            const run = get();
            expect(run.one(T.scalingTarget).inputs).toMatchObject({
                minCapacity: 1, maxCapacity: 3, scalableDimension: "ecs:service:DesiredCount", serviceNamespace: "ecs",
            });
            expect(run.one(T.scalingPolicy).inputs).toMatchObject({
                policyType: "TargetTrackingScaling",
                targetTrackingScalingPolicyConfiguration: { predefinedMetricSpecification: { predefinedMetricType: "ECSServiceAverageCPUUtilization" } },
            });
        });

        test("every AWS resource is tagged with the stack and parented by a platform component", () => {
            const run = get();
            const components = new Set(run.resources.filter(r => r.type.startsWith("mlflow:index:")).map(r => r.name));
            for (const r of run.resources) {
                if (r.type.startsWith("mlflow:index:")) continue;
                expect([r.name, components.has(r.options.parent ?? "")]).toEqual([r.name, true]);
                if (r.type.startsWith("aws:") && !UNTAGGABLE.has(r.type)) {
                    expect([r.name, r.inputs.tags]).toEqual([r.name, expect.objectContaining(STACK_TAG)]);
                }
            }
        });
    });
}

// --- MySQL, defaults: new VPC, CloudFront in front, auto-pause -----------------------------

let mysql: ProgramRun;
let postgres: ProgramRun;
const POSTGRES_CIDRS = ["203.0.113.0/24", "198.51.100.7/32"];
const VPC = {
    vpcId: "vpc-0123456789abcdef0",
    publicSubnetIds: ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa2"],
    privateSubnetIds: ["subnet-0bbbbbbbbbbbbbbb1", "subnet-0bbbbbbbbbbbbbbb2"],
};

beforeAll(async () => {
    // One at a time: each run isolates the module registry.
    mysql = await aws({ backend: "mysql" });
    postgres = await aws({
        backend: "postgres", certificateArn: CERT, domainName: "mlflow.example.com",
        ingressCidrs: JSON.stringify(POSTGRES_CIDRS), dbMinCapacity: "0.5", dbMaxCapacity: "4",
        noncurrentVersionExpirationDays: "45", dbBackupRetentionDays: "35", dbBackupWindow: "23:45-00:15", retainDataOnDestroy: "false", taskArchitecture: "X86_64",
        taskCpu: "1024", taskMemory: "2048", vpcId: VPC.vpcId,
        publicSubnetIds: JSON.stringify(VPC.publicSubnetIds), privateSubnetIds: JSON.stringify(VPC.privateSubnetIds),
    });
});

describeAwsInvariants("mysql", () => mysql);
describeAwsInvariants("postgres with HTTPS in an existing VPC", () => postgres);

describe("mysql with defaults", () => {
    test("creates exactly these resources", () => {
        expect(countByType(mysql)).toEqual(expectedCounts({ certificate: false, ingressCidrs: 1, newVpc: true, cloudFront: true }));
    });

    test("Aurora MySQL Serverless v2 scales to zero and pauses after the configured idle time", () => {
        expect(mysql.one(T.cluster).inputs).toMatchObject({
            engine: "aurora-mysql", engineVersion: "8.0.mysql_aurora.3.10.0", port: 3306, databaseName: "mlflow",
            masterUsername: "mlflow_admin",
            serverlessv2ScalingConfiguration: { minCapacity: 0, maxCapacity: 2, secondsUntilAutoPause: 900 },
            deletionProtection: true, backupRetentionPeriod: 7,
        });
        // No window configured: the input stays unset, so a deployed cluster keeps the one AWS chose.
        expect(mysql.one(T.cluster).inputs.preferredBackupWindow).toBeUndefined();
        expect(mysql.one(T.lifecycle).inputs.rules.find((r: any) => r.noncurrentVersionExpiration).noncurrentVersionExpiration).toEqual({ noncurrentDays: 30 });
        expect(mysql.one(T.instance).inputs.engine).toBe("aurora-mysql");
    });

    test("MLflow releases idle connections so Aurora can pause", () => {
        expect(env(container(mysql, "mlflow")).MLFLOW_SQLALCHEMYSTORE_POOLCLASS).toBe("NullPool");
    });

    test("MLflow gets the non-secret database settings and proxied S3 artifacts", () => {
        expect(env(container(mysql, "mlflow"))).toMatchObject({
            MLFLOW_DB_ENGINE: "mysql", MLFLOW_DB_HOST: mysql.outputs.databaseEndpoint, MLFLOW_DB_PORT: "3306", MLFLOW_DB_NAME: "mlflow",
            MLFLOW_ARTIFACTS_DESTINATION: `s3://${String(mysql.outputs.artifactBucket)}/`, MLFLOW_SERVE_ARTIFACTS: "true",
            AWS_DEFAULT_REGION: REGION, MLFLOW_DB_UPGRADE: "true", MLFLOW_UVICORN_OPTS: "--timeout-keep-alive 12 --timeout-worker-healthcheck 60",
        });
        expect(env(container(mysql, "mlflow")).MLFLOW_S3_ENDPOINT_URL).toBeUndefined();
    });

    test("data is kept on destroy: bucket, cluster and instance retained, final snapshot, bucket not force-destroyed", () => {
        expect(mysql.one(T.bucket).options.retainOnDelete).toBe(true);
        expect(mysql.one(T.bucket).inputs.forceDestroy).toBe(false);
        expect(mysql.one(T.cluster).options.retainOnDelete).toBe(true);
        expect(mysql.one(T.instance).options.retainOnDelete).toBe(true);
        // Images are rebuilt from source; a non-empty repository would fail pulumi destroy.
        expect(mysql.one(T.repo).inputs.forceDelete).toBe(true);
    });

    test("noncurrent artifact versions expire after the default 30 days", () => {
        const rules = mysql.one(T.lifecycle).inputs.rules;
        expect(rules.find((r: any) => r.noncurrentVersionExpiration).noncurrentVersionExpiration.noncurrentDays).toBe(30);
    });

    test("without a certificate: HTTPS through CloudFront, the load balancer's port 80 open to CloudFront only (tests/aws-https.test.ts)", () => {
        const [listener] = mysql.ofType(T.listener);
        expect(listener.inputs).toMatchObject({ port: 80, protocol: "HTTP" });
        expect(listener.inputs.defaultActions).toEqual([expect.objectContaining({ type: "fixed-response" })]);
        expect(rulesOf(mysql, T.ingress, sgId(mysql, "lb-sg")).map(r => [r.inputs.cidrIpv4, r.inputs.fromPort, r.inputs.toPort]))
            .toEqual([[undefined, 80, 80]]);
        expect(mysql.outputs.trackingUri).toBe("https://d111111abcdef8.cloudfront.net");
    });

    test("a new VPC over two zones with isolated private subnets, no NAT, and a free S3 endpoint", () => {
        expect(mysql.one(T.vpc).inputs).toMatchObject({ enableDnsSupport: true, enableDnsHostnames: true });
        const subnets = mysql.ofType(T.subnet);
        expect(subnets.map(s => s.inputs.availabilityZone).sort()).toEqual(["eu-west-1a", "eu-west-1a", "eu-west-1b", "eu-west-1b"]);
        expect(subnets.every(s => s.inputs.mapPublicIpOnLaunch === false)).toBe(true);
        expect(mysql.ofType("aws:ec2/natGateway:NatGateway")).toEqual([]);
        expect(mysql.ofType("aws:ec2/eip:Eip")).toEqual([]);
        // The one default route goes to the internet gateway, from the public table only.
        const [route] = mysql.ofType(T.route);
        expect(route.inputs).toMatchObject({ destinationCidrBlock: "0.0.0.0/0", gatewayId: `${mysql.one(T.igw).name}-id`, routeTableId: `${mysql.one(T.routeTable, /-public-rt$/).name}-id` });
        const privateRt = `${mysql.one(T.routeTable, /-private-rt$/).name}-id`;
        const privateSubnetIds = mysql.ofType(T.subnet).filter(s => /-private-\d$/.test(s.name)).map(s => `${s.name}-id`);
        expect(mysql.ofType(T.rta).filter(a => a.inputs.routeTableId === privateRt).map(a => a.inputs.subnetId).sort()).toEqual(privateSubnetIds.sort());
        expect(mysql.one(T.endpoint).inputs).toMatchObject({ serviceName: "com.amazonaws.eu-west-1.s3", vpcEndpointType: "Gateway" });
        expect(mysql.one(T.endpoint).inputs.routeTableIds).toHaveLength(2);
    });

    test("tasks run in the public subnets with public IPs; the database in the private ones", () => {
        const publicIds = mysql.ofType(T.subnet).filter(s => /-public-\d$/.test(s.name)).map(s => `${s.name}-id`);
        const privateIds = mysql.ofType(T.subnet).filter(s => /-private-\d$/.test(s.name)).map(s => `${s.name}-id`);
        expect(mysql.one(T.service).inputs.networkConfiguration).toMatchObject({ subnets: publicIds, assignPublicIp: true });
        expect(mysql.one(T.subnetGroup).inputs.subnetIds).toEqual(privateIds);
        expect(mysql.one(T.alb).inputs.subnets).toEqual(publicIds);
    });

    test("the task is sized from config and built for ARM64 by default (0.5 vCPU / 1 GB, one MLflow worker)", () => {
        expect(mysql.one(T.taskDef, ROOT_TASK).inputs).toMatchObject({
            cpu: "512", memory: "1024", networkMode: "awsvpc", requiresCompatibilities: ["FARGATE"],
            runtimePlatform: { operatingSystemFamily: "LINUX", cpuArchitecture: "ARM64" },
        });
        expect(mysql.one(T.image).inputs.build.platform).toBe("linux/arm64");
        const [mlflow] = JSON.parse(mysql.one(T.taskDef, ROOT_TASK).inputs.containerDefinitions);
        expect(mlflow.environment).toContainEqual({ name: "MLFLOW_WORKERS", value: "1" });
        // Relative paths: the same state on every checkout.
        expect(mysql.one(T.image).inputs.build.context).toBe("images/tracking-server");
        expect(mysql.one(T.image).inputs.build.dockerfile).toBe("images/tracking-server/Dockerfile");
    });
});

// --- PostgreSQL with HTTPS, a domain, restricted CIDRs, min capacity 0.5, an existing VPC ---

describe("postgres with a certificate, a domain, custom settings and an existing VPC", () => {
    test("creates exactly these resources", () => {
        expect(countByType(postgres)).toEqual(expectedCounts({ certificate: true, ingressCidrs: POSTGRES_CIDRS.length, newVpc: false, prune: true }));
    });

    test("Aurora PostgreSQL without auto-pause when min capacity is 0.5", () => {
        const cluster = postgres.one(T.cluster).inputs;
        expect(cluster).toMatchObject({
            engine: "aurora-postgresql", engineVersion: "16.8", port: 5432,
            serverlessv2ScalingConfiguration: { minCapacity: 0.5, maxCapacity: 4 },
        });
        expect(cluster.serverlessv2ScalingConfiguration.secondsUntilAutoPause).toBeUndefined();
        expect(env(container(postgres, "mlflow")).MLFLOW_SQLALCHEMYSTORE_POOLCLASS).toBeUndefined();
        expect(env(container(postgres, "mlflow"))).toMatchObject({ MLFLOW_DB_ENGINE: "postgres", MLFLOW_DB_PORT: "5432" });
    });

    test("HTTPS on 443 with a modern TLS policy, and port 80 redirecting to it", () => {
        const https = postgres.one(T.listener, /-https$/).inputs;
        expect(https).toMatchObject({ port: 443, protocol: "HTTPS", certificateArn: CERT, sslPolicy: "ELBSecurityPolicy-TLS13-1-2-2021-06" });
        expect(https.defaultActions).toEqual([expect.objectContaining({ type: "forward" })]);
        const http = postgres.one(T.listener, /-http-redirect$/).inputs;
        expect(http).toMatchObject({ port: 80, protocol: "HTTP" });
        expect(http.defaultActions).toEqual([expect.objectContaining({
            type: "redirect", redirect: expect.objectContaining({ protocol: "HTTPS", port: "443", statusCode: "HTTP_301" }),
        })]);
        expect(postgres.outputs.trackingUri).toBe("https://mlflow.example.com");
    });

    test("the load balancer admits only the configured CIDRs, on 80 and 443", () => {
        const rules = rulesOf(postgres, T.ingress, sgId(postgres, "lb-sg")).map(r => `${r.inputs.cidrIpv4}:${r.inputs.fromPort}-${r.inputs.toPort}`);
        expect(rules.sort()).toEqual(POSTGRES_CIDRS.flatMap(c => [`${c}:80-80`, `${c}:443-443`]).sort());
    });

    test("MLflow accepts the domain and the load balancer name, with HTTPS origins", () => {
        const e = env(container(postgres, "mlflow"));
        expect(e.MLFLOW_SERVER_ALLOWED_HOSTS.split(",")).toEqual(expect.arrayContaining(["mlflow.example.com", `${postgres.one(T.alb).name}-123456789.eu-west-1.elb.amazonaws.com`]));
        expect(e.MLFLOW_SERVER_CORS_ALLOWED_ORIGINS.split(",")).toContain("https://mlflow.example.com");
    });

    test("noncurrent versions expire after the configured days", () => {
        const rules = postgres.one(T.lifecycle).inputs.rules;
        expect(rules.find((r: any) => r.noncurrentVersionExpiration).noncurrentVersionExpiration.noncurrentDays).toBe(45);
    });

    test("retainDataOnDestroy=false lets destroy remove bucket and repository, but still snapshots the database", () => {
        expect(postgres.one(T.bucket).options.retainOnDelete).toBe(false);
        expect(postgres.one(T.bucket).inputs.forceDestroy).toBe(true);
        expect(postgres.one(T.repo).inputs.forceDelete).toBe(true);
        expect(postgres.one(T.cluster).inputs).toMatchObject({ skipFinalSnapshot: false, deletionProtection: true });
    });

    test("X86_64 tasks get an amd64 image and the configured size", () => {
        expect(postgres.one(T.taskDef, ROOT_TASK).inputs).toMatchObject({ cpu: "1024", memory: "2048", runtimePlatform: { cpuArchitecture: "X86_64" } });
        expect(postgres.one(T.image).inputs.build.platform).toBe("linux/amd64");
        // Another platform, another tag: immutable ECR tags never see the same tag twice.
        expect(postgres.one(T.image).inputs.imageName.split(":").pop()).not.toBe(mysql.one(T.image).inputs.imageName.split(":").pop());
    });
});

describe("postgres in an existing VPC", () => {
    test("creates no VPC, subnet, gateway, route or endpoint", () => {
        for (const type of [T.vpc, T.subnet, T.igw, T.routeTable, T.route, T.rta, T.endpoint]) {
            expect([type, postgres.ofType(type).length]).toEqual([type, 0]);
        }
        expect(countByType(postgres)[T.sg]).toBe(3);
    });

    test("uses the given ids: groups in the VPC, ALB public, tasks and database private without public IPs", () => {
        for (const sg of postgres.ofType(T.sg)) expect(sg.inputs.vpcId).toBe(VPC.vpcId);
        expect(postgres.one(T.targetGroup).inputs.vpcId).toBe(VPC.vpcId);
        expect(postgres.one(T.alb).inputs.subnets).toEqual(VPC.publicSubnetIds);
        expect(postgres.one(T.subnetGroup).inputs.subnetIds).toEqual(VPC.privateSubnetIds);
        expect(postgres.one(T.service).inputs.networkConfiguration).toMatchObject({ subnets: VPC.privateSubnetIds, assignPublicIp: false });
    });
});

test.each<[string, () => ProgramRun]>([
    ["aws-mysql", () => mysql],
    ["aws-postgres", () => postgres],
])("the URNs of %s are the committed ones: an existing aws stack sees no replacement", (graph, getRun) => {
    expect(urnSet(getRun())).toEqual(committedUrnSet(graph, getRun()));
});
