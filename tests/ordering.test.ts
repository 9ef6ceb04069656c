// Ordering under mocks: the dependencies the engine orders by (the harness records each
// resource's direct ones: explicit `dependsOn` and the resources its inputs came from). A lost
// edge starts a task before its permissions exist or MLflow before its bucket and database.
import { awsCalls as calls, REGION } from "./awsMocks";
import { ProgramRun, RecordedResource, runProgram } from "./harness";
import { T } from "./localInvariants";

const AWS = { "aws:region": REGION, target: "aws", dbMaxCapacity: "8", projects: '["alpha","beta-2"]', servedModels: '["churn"]', retainDataOnDestroy: "false" };
const DEV = { target: "local", backend: "mysql", hostPort: "5000", bindAddress: "127.0.0.1", projects: '["alpha","beta-2"]', servedModels: '["churn"]', retainDataOnDestroy: "false" };
const A = {
    service: "aws:ecs/service:Service",
    taskDef: "aws:ecs/taskDefinition:TaskDefinition",
    role: "aws:iam/role:Role",
    attachment: "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
    rolePolicy: "aws:iam/rolePolicy:RolePolicy",
    rule: "aws:lb/listenerRule:ListenerRule",
    bucketPolicy: "aws:s3/bucketPolicy:BucketPolicy",
    publicAccessBlock: "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
} as const;

let aws: ProgramRun;
let dev: ProgramRun;
beforeAll(async () => {
    aws = await runProgram({ stack: "aws", config: AWS, calls });
    dev = await runProgram({ stack: "dev", config: DEV });
}, 120000);

/** Direct dependencies by name, as the engine sees them. */
const directNames = (run: ProgramRun, r: RecordedResource) => run.dependencies.get(r.urn)!.map(u => u.split("::").pop());
/** The resource a mock ARN (`arn:aws:mock:<region>:<account>:<module>/<name>`) names. */
const byArn = (run: ProgramRun, type: string, arn: string) => run.one(type, new RegExp(`^${arn.split("/").pop()}$`));

describe("aws: every ECS service waits for its permissions and its route", () => {
    test("each service depends directly on every policy attachment of its task role", () => {
        const withTaskRole = aws.ofType(A.service).filter(s => byArn(aws, A.taskDef, s.inputs.taskDefinition).inputs.taskRoleArn !== undefined);
        // `/` and both projects run MLflow with a task role; the model server has none.
        expect(withTaskRole.map(s => s.name).sort()).toEqual(["mlflow-aws-project-alpha-tracking-service", "mlflow-aws-project-beta-2-tracking-service", "mlflow-aws-tracking-service"]);
        for (const service of withTaskRole) {
            const role = byArn(aws, A.role, byArn(aws, A.taskDef, service.inputs.taskDefinition).inputs.taskRoleArn);
            const attachments = aws.ofType(A.attachment).filter(a => a.inputs.role === role.name);
            expect(attachments.length).toBeGreaterThan(0);
            expect(directNames(aws, service)).toEqual(expect.arrayContaining(attachments.map(a => a.name)));
        }
    });

    // The ECS agent pulls the image and injects secrets with the execution role; the entrypoint
    // reads the database secret's metadata with the task role at start, before it serves.
    test("each service waits for every policy of its task and execution roles", () => {
        const policyTypes = [A.attachment, A.rolePolicy];
        const missing: string[] = [];
        for (const service of aws.ofType(A.service)) {
            const task = byArn(aws, A.taskDef, service.inputs.taskDefinition);
            for (const arn of [task.inputs.taskRoleArn, task.inputs.executionRoleArn].filter(a => a !== undefined)) {
                const role = byArn(aws, A.role, arn);
                const policies = aws.resources.filter(r => policyTypes.includes(r.type as typeof policyTypes[number]) && r.inputs.role === role.name);
                expect(policies.length).toBeGreaterThan(0);
                missing.push(...policies.filter(p => !aws.dependsOn(service, p)).map(p => `${service.name} -> ${p.name}`));
            }
        }
        expect(missing).toEqual([]);
    });

    test("a model service starts after its listener rule (ECS refuses a target group no rule uses)", () => {
        const service = aws.one(A.service, /^mlflow-aws-model-churn-service$/);
        expect(directNames(aws, service)).toContain("mlflow-aws-model-churn-rule");
    });

    test("the bucket policy is written after the public access block exists", () => {
        for (const policy of aws.ofType(A.bucketPolicy)) {
            expect(aws.dependsOn(policy, aws.one(A.publicAccessBlock))).toBe(true);
        }
        expect(aws.ofType(A.bucketPolicy).length).toBeGreaterThan(0);
    });
});

describe("dev: one-shot init before the servers, servers before the proxy", () => {
    const c = (name: string) => dev.one(T.container, new RegExp(`^mlflow-dev-${name}$`));

    test("`/`'s MLflow waits for its bucket init, the database and MinIO", () => {
        expect(directNames(dev, c("tracking-mlflow"))).toEqual(expect.arrayContaining(["mlflow-dev-bucket-init-mc", "mlflow-dev-backend-db", "mlflow-dev-artifacts-minio"]));
    });

    test.each(["alpha", "beta-2"])("project %s's MLflow waits for its own bucket and database init", p => {
        const deps = directNames(dev, c(`project-${p}-tracking-mlflow`));
        expect(deps).toEqual(expect.arrayContaining([`mlflow-dev-project-${p}-bucket-init-mc`, `mlflow-dev-project-${p}-database-init`, "mlflow-dev-backend-db"]));
        expect(directNames(dev, c(`project-${p}-bucket-init-mc`))).toContain("mlflow-dev-artifacts-minio");
        expect(directNames(dev, c(`project-${p}-database-init`))).toContain("mlflow-dev-backend-db");
    });

    test("bucket init waits for MinIO; the prune parts for the store and database they clean", () => {
        expect(directNames(dev, c("bucket-init-mc"))).toContain("mlflow-dev-artifacts-minio");
        expect(directNames(dev, c("prune-store"))).toContain("mlflow-dev-artifacts-minio");
        expect(directNames(dev, c("prune-db"))).toContain("mlflow-dev-backend-db");
    });

    test("the proxy starts after every server it routes to", () => {
        const upstreams = dev.ofType(T.container).filter(r => /-(tracking-mlflow|model-[a-z0-9-]+-server)$/.test(r.name)).map(r => r.name);
        expect(upstreams.sort()).toEqual(["mlflow-dev-model-churn-server", "mlflow-dev-project-alpha-tracking-mlflow", "mlflow-dev-project-beta-2-tracking-mlflow", "mlflow-dev-tracking-mlflow"]);
        expect(directNames(dev, c("proxy-nginx"))).toEqual(expect.arrayContaining(upstreams));
    });
});
