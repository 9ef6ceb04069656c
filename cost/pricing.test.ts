import { cloudFrontUsageUsd, DEFAULT_IDLE_USAGE, formatCost, HOURS_PER_MONTH, idleCost, PricedResource, PRICES, projectCostLine, projectOf, splitProjects } from "./pricing";

const r = (type: string, name: string, inputs: Record<string, any>): PricedResource => ({ type, name, inputs });

/** A small graph shaped like the aws target: ALB in 2 subnets, one Fargate service, Aurora, a secret. */
function graph(o: { arch?: "X86_64" | "ARM64"; cpu?: number; memory?: number; tasks?: number; minAcu?: number; publicIp?: boolean } = {}): PricedResource[] {
    return [
        r("aws:lb/loadBalancer:LoadBalancer", "alb", { loadBalancerType: "application", internal: false, subnets: ["a", "b"] }),
        r("aws:ecs/taskDefinition:TaskDefinition", "task", { cpu: String(o.cpu ?? 1024), memory: String(o.memory ?? 2048), runtimePlatform: { cpuArchitecture: o.arch ?? "X86_64" } }),
        r("aws:ecs/service:Service", "svc", { launchType: "FARGATE", desiredCount: o.tasks ?? 1, networkConfiguration: { assignPublicIp: o.publicIp ?? true } }),
        r("aws:rds/cluster:Cluster", "db", { manageMasterUserPassword: true, serverlessv2ScalingConfiguration: { minCapacity: o.minAcu ?? 0, maxCapacity: 2 } }),
        r("aws:rds/clusterInstance:ClusterInstance", "db-1", { instanceClass: "db.serverless" }),
        r("aws:secretsmanager/secret:Secret", "htpasswd", {}),
        r("aws:appautoscaling/policy:Policy", "cpu", { policyType: "TargetTrackingScaling" }),
        r("aws:iam/role:Role", "role", {}),
    ];
}

const line = (g: PricedResource[], prefix: string) => {
    const found = idleCost(g).lines.filter(l => l.item.startsWith(prefix));
    expect(found).toHaveLength(1);
    return found[0].monthlyUsd;
};

describe("idleCost with project services", () => {
    test("each service is priced with its own task definition (<x>-service runs <x>-task)", () => {
        const g = [
            ...graph({ cpu: 1024, memory: 2048 }).filter(x => x.type !== "aws:ecs/taskDefinition:TaskDefinition" && x.type !== "aws:ecs/service:Service"),
            r("aws:ecs/taskDefinition:TaskDefinition", "m-tracking-task", { cpu: "1024", memory: "2048", runtimePlatform: { cpuArchitecture: "ARM64" } }),
            r("aws:ecs/service:Service", "m-tracking-service", { launchType: "FARGATE", desiredCount: 1, networkConfiguration: { assignPublicIp: false } }),
            r("aws:ecs/taskDefinition:TaskDefinition", "m-project-a-tracking-task", { cpu: "512", memory: "1024", runtimePlatform: { cpuArchitecture: "ARM64" } }),
            r("aws:ecs/service:Service", "m-project-a-tracking-service", { launchType: "FARGATE", desiredCount: 2, networkConfiguration: { assignPublicIp: false } }),
        ];
        const fargate = idleCost(g).lines.filter(l => l.item.startsWith("Fargate"));
        const perTask = (vcpu: number, gb: number) => HOURS_PER_MONTH * (vcpu * PRICES.fargateVcpuHour.ARM64 + gb * PRICES.fargateGbHour.ARM64);
        expect(fargate.map(l => l.item)).toEqual(["Fargate m-tracking-service", "Fargate m-project-a-tracking-service"]);
        expect(fargate[0].monthlyUsd).toBeCloseTo(perTask(1, 2), 6);
        expect(fargate[1].monthlyUsd).toBeCloseTo(2 * perTask(0.5, 1), 6);
    });
    test("a service without its task definition among several is an error", () => {
        const g = [
            r("aws:ecs/taskDefinition:TaskDefinition", "a-task", { cpu: "512", memory: "1024" }),
            r("aws:ecs/taskDefinition:TaskDefinition", "b-task", { cpu: "512", memory: "1024" }),
            r("aws:ecs/service:Service", "c-service", { launchType: "FARGATE" }),
        ];
        expect(() => idleCost(g)).toThrow(/c-service: expected its task definition c-task among 2/);
    });
});

describe("idleCost", () => {
    test.each([
        // arch, cpu, memory, tasks, expected Fargate $/month (hand-computed from the list prices)
        ["X86_64", 1024, 2048, 1, 730 * (0.04048 + 2 * 0.004445)],
        ["ARM64", 1024, 2048, 1, 730 * (0.03238 + 2 * 0.00356)],
        ["ARM64", 256, 2048, 1, 730 * (0.25 * 0.03238 + 2 * 0.00356)],
        ["ARM64", 512, 1024, 3, 3 * 730 * (0.5 * 0.03238 + 1 * 0.00356)],
    ] as const)("Fargate %s %i/%i x %i", (arch, cpu, memory, tasks, expected) => {
        expect(line(graph({ arch, cpu, memory, tasks }), "Fargate")).toBeCloseTo(expected, 6);
    });

    test("ALB hours and one public IPv4 per ALB subnet and per task", () => {
        const g = graph({ tasks: 2 });
        expect(line(g, "ALB")).toBeCloseTo(730 * 0.0225, 6);
        expect(line(g, "Public IPv4 of alb")).toBeCloseTo(2 * 730 * 0.005, 6);
        expect(line(g, "Public IPv4 of svc")).toBeCloseTo(2 * 730 * 0.005, 6);
        expect(idleCost(graph({ publicIp: false })).lines.some(l => l.item.startsWith("Public IPv4 of svc"))).toBe(false);
    });

    test.each([[0, 0], [0.5, 0.5 * 0.12 * 730], [2, 2 * 0.12 * 730]])("Aurora idle at min %s ACU", (minAcu, expected) => {
        expect(line(graph({ minAcu }), "Aurora Serverless")).toBeCloseTo(expected, 6);
    });

    test.each([[0, 0.5, 0], [1, 0.5, 0.5 * 0.12 * 730], [2, 1, 2 * 0.12 * 730], [1, 0, 0]])(
        "%s reader instance(s) at min %s ACU: their own line, the writer's unchanged", (readers, minAcu, expected) => {
            const g = [...graph({ minAcu }), ...Array.from({ length: readers }, (_, i) => r("aws:rds/clusterInstance:ClusterInstance", `db-reader-${i + 1}`, { instanceClass: "db.serverless" }))];
            expect(line(g, "Aurora Serverless")).toBeCloseTo(minAcu * 0.12 * 730, 6);
            const found = idleCost(g).lines.filter(l => l.item.startsWith("Aurora readers"));
            expect(found.map(l => l.monthlyUsd)).toEqual(readers === 0 ? [] : [expect.closeTo(expected, 6)]);
            expect(idleCost(g).totalUsd).toBeCloseTo(idleCost(graph({ minAcu })).totalUsd + expected, 6);
        });

    test("the RDS-managed master password counts as a secret", () => {
        expect(line(graph(), "Secrets Manager")).toBeCloseTo(2 * 0.40, 6);
    });

    test("total is the sum of the lines and untracked types cost nothing", () => {
        const { lines, totalUsd } = idleCost(graph());
        expect(totalUsd).toBeCloseTo(lines.reduce((s, l) => s + l.monthlyUsd, 0), 9);
        expect(lines.some(l => l.item.includes("role"))).toBe(false);
        // The pre-change default (x86, 1 vCPU / 2 GB) is well above the $45 budget.
        expect(totalUsd).toBeGreaterThan(60);
    });

    test("unsupported shapes are refused rather than priced wrong", () => {
        const g = graph();
        g.push(r("aws:ecs/taskDefinition:TaskDefinition", "second", { cpu: "256", memory: "512" }));
        // Two task definitions and a service named after neither: which one it runs is unknown.
        expect(() => idleCost(g)).toThrow(/svc: expected its task definition svc-task among 2/);
        expect(() => idleCost([r("aws:lb/loadBalancer:LoadBalancer", "nlb", { loadBalancerType: "network" })])).toThrow(/only application/);
        // Without a price for the architecture the line would be NaN dollars.
        const riscv = graph().map(x => x.name === "task" ? r(x.type, x.name, { ...x.inputs, runtimePlatform: { cpuArchitecture: "RISCV" } }) : x);
        expect(() => idleCost(riscv)).toThrow(/svc: unknown cpuArchitecture "RISCV"/);
    });

    test("prices have a source, the month is 730 hours, output ends with the total", () => {
        expect(HOURS_PER_MONTH).toBe(730);
        for (const [key, value] of Object.entries(PRICES)) {
            if (typeof value === "object") expect([key, value.source]).toEqual([key, expect.stringMatching(/^https:\/\/aws\.amazon\.com\//)]);
        }
        const text = formatCost(idleCost(graph(), DEFAULT_IDLE_USAGE));
        expect(text.split("\n").pop()).toMatch(/^Idle total\s+\$\d+\.\d\d\s+per month, us-east-1 list prices of \d{4}-\d\d-\d\d$/);
    });
});

describe("idleCost of a scheduled task (the AWS project prune)", () => {
    const schedule = (expression: string, arn = "arn:aws:mock:us-east-1:1:ecs/taskDefinition/m-prune") =>
        r("aws:scheduler/schedule:Schedule", "m-prune", { scheduleExpression: expression, target: { ecsParameters: { taskDefinitionArn: arn, networkConfiguration: { assignPublicIp: true } } } });
    const pruneTask = r("aws:ecs/taskDefinition:TaskDefinition", "m-prune", { family: "m-prune", cpu: "256", memory: "512", runtimePlatform: { cpuArchitecture: "ARM64" } });
    test("daily: Fargate minutes and the IPv4 while it runs, and Aurora's resume when it auto-pauses", () => {
        const g = [...graph({ minAcu: 0 }), pruneTask, schedule("rate(1 day)")];
        const runs = HOURS_PER_MONTH / 24;
        const hours = runs * DEFAULT_IDLE_USAGE.scheduledTaskMinutes / 60;
        expect(line(g, "Fargate scheduled m-prune")).toBeCloseTo(hours * (0.25 * PRICES.fargateVcpuHour.ARM64 + 0.5 * PRICES.fargateGbHour.ARM64 + PRICES.publicIpv4Hour.usd), 6);
        expect(line(g, "Aurora resumed by m-prune")).toBeCloseTo((hours + runs * 300 / 3600) * 0.5 * PRICES.auroraAcuHour.usd, 6);
        // The service's line is still priced with its own task definition.
        expect(idleCost(g).lines.map(l => l.item)).toContain("Fargate svc");
    });
    test("Aurora that never pauses costs nothing more; a revisioned ARN finds its family", () => {
        const g = [...graph({ minAcu: 0.5 }), pruneTask, schedule("rate(6 hours)", "arn:aws:ecs:us-east-1:1:task-definition/m-prune:3")];
        expect(idleCost(g).lines.filter(l => l.item.startsWith("Aurora resumed"))).toEqual([]);
        expect(line(g, "Fargate scheduled")).toBeGreaterThan(0);
    });
    test("cron expressions and a missing task definition are errors, not guesses", () => {
        expect(() => idleCost([...graph(), pruneTask, schedule("cron(0 3 * * ? *)")])).toThrow(/only rate/);
        expect(() => idleCost([...graph(), schedule("rate(1 day)")])).toThrow(/not in the graph/);
    });
});

describe("backups and versions", () => {
    const cluster = (days?: number) => r("aws:rds/cluster:Cluster", "db", { backupRetentionPeriod: days, serverlessv2ScalingConfiguration: { minCapacity: 0 } });
    const bucket = (noncurrentDays?: number) => [
        r("aws:s3/bucket:Bucket", "b", {}),
        r("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration", "b-lifecycle", { rules: [
            ...(noncurrentDays ? [{ id: "expire-noncurrent-versions", noncurrentVersionExpiration: { noncurrentDays } }] : []),
            { id: "abort-incomplete-multipart-uploads", abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
        ] }),
    ];
    const use = (o: Partial<typeof DEFAULT_IDLE_USAGE>) => ({ ...DEFAULT_IDLE_USAGE, ...o });
    const item = (g: PricedResource[], u: typeof DEFAULT_IDLE_USAGE, prefix: string) => idleCost(g, u).lines.filter(l => l.item.startsWith(prefix));

    test("idle: both lines are there and cost nothing", () => {
        expect(item([cluster(7)], DEFAULT_IDLE_USAGE, "Aurora backups").map(l => l.monthlyUsd)).toEqual([0]);
        expect(item(bucket(30), DEFAULT_IDLE_USAGE, "S3 noncurrent versions").map(l => l.monthlyUsd)).toEqual([0]);
    });

    test.each([[7, 0.1, 7 * 0.1 * 0.021], [35, 0.1, 35 * 0.1 * 0.021], [7, 0, 0]])("Aurora: %i days x %s GB/day changed", (days, gb, expected) => {
        const [l] = item([cluster(days)], use({ auroraChangedGbPerDay: gb }), "Aurora backups");
        expect(l.monthlyUsd).toBeCloseTo(expected, 9);
        expect(l.detail).toContain(`${days} days retained`);
    });

    test.each([[30, 1, 30 * 0.023], [45, 2, 90 * 0.023]])("S3: noncurrent versions kept %i days, %i GB deleted a day", (days, gb, expected) => {
        const [l] = item(bucket(days), use({ s3DeletedGbPerDay: gb }), "S3 noncurrent versions");
        expect(l.monthlyUsd).toBeCloseTo(expected, 9);
    });

    test("no noncurrent-version rule, no line", () => {
        expect(item(bucket(undefined), use({ s3DeletedGbPerDay: 1 }), "S3 noncurrent versions")).toEqual([]);
    });
});

describe("CloudFront", () => {
    test("a distribution costs nothing at idle and says what use costs", () => {
        const g = [...graph(), r("aws:cloudfront/distribution:Distribution", "cdn", {})];
        const [cdn] = idleCost(g).lines.filter(l => l.item === "CloudFront cdn");
        expect(cdn.monthlyUsd).toBe(0);
        expect(cdn.detail).toMatch(/no idle fee; per use \$0\.01\/10k HTTPS requests, \$0\.085\/GB out, \$0\.02\/GB uploaded/);
        expect(idleCost(g).totalUsd).toBeCloseTo(idleCost(graph()).totalUsd, 9);
    });

    test.each([
        // downloads GB, uploads GB, requests -> $ (free tier: 1 TB out and 10M requests a month)
        [0, 0, 0, 0],
        [500, 0, 2_000_000, 0],
        [100, 200, 1_000_000, 200 * 0.02],
        [2048, 0, 0, 1024 * 0.085],
        [0, 0, 20_000_000, 1000 * 0.01],
    ])("%i GB down, %i GB up, %i requests: $%d", (downloadGb, uploadGb, requests, expected) => {
        expect(cloudFrontUsageUsd({ downloadGb, uploadGb, requests })).toBeCloseTo(expected, 9);
    });
});

describe("per-project cost", () => {
    /** One project's resources as platform/aws.ts names them: task, service, scaling policy, 2 secrets, and unpriced ones. */
    function project(name: string, o: { cpu?: number; memory?: number; publicIp?: boolean } = {}): PricedResource[] {
        return [
            r("aws:ecs/taskDefinition:TaskDefinition", `m-project-${name}-tracking-task`, { cpu: String(o.cpu ?? 256), memory: String(o.memory ?? 512), runtimePlatform: { cpuArchitecture: "ARM64" } }),
            r("aws:ecs/service:Service", `m-project-${name}-tracking-service`, { launchType: "FARGATE", desiredCount: 1, networkConfiguration: { assignPublicIp: o.publicIp ?? true } }),
            r("aws:appautoscaling/policy:Policy", `m-project-${name}-tracking-cpu`, { policyType: "TargetTrackingScaling" }),
            r("aws:secretsmanager/secret:Secret", `m-project-${name}-database-secret`, {}),
            r("aws:secretsmanager/secret:Secret", `m-proxy-project-${name}-htpasswd`, {}),
            r("aws:lb/listenerRule:ListenerRule", `m-proxy-project-${name}-rule`, {}),
        ];
    }
    const month = (hourly: number) => HOURS_PER_MONTH * hourly;

    test.each([
        // cpu, memory, public IPv4, expected $/month: Fargate ARM64 + IPv4 + 2 secrets + 2 alarms, hand-computed
        [256, 1024, true, month(0.25 * 0.03238 + 1 * 0.00356) + month(0.005) + 2 * 0.40 + 2 * 0.10], // the default before: 13.16
        [256, 1024, false, month(0.25 * 0.03238 + 1 * 0.00356) + 2 * 0.40 + 2 * 0.10], // existing VPC before: 9.51
        [256, 512, true, month(0.25 * 0.03238 + 0.5 * 0.00356) + month(0.005) + 2 * 0.40 + 2 * 0.10], // the default: 11.86
        [256, 512, false, month(0.25 * 0.03238 + 0.5 * 0.00356) + 2 * 0.40 + 2 * 0.10], // existing VPC: 8.21
        [512, 1024, true, month(0.5 * 0.03238 + 1 * 0.00356) + month(0.005) + 2 * 0.40 + 2 * 0.10], // the task of / before: 19.06
    ] as const)("a project of %i CPU / %i MiB, public IPv4 %p", (cpu, memory, publicIp, expected) => {
        const line = projectCostLine("p", project("a", { cpu, memory, publicIp }));
        expect(line.monthlyUsd).toBeCloseTo(expected, 6);
    });

    test("the defaults: $11.86 with a public IPv4 per task, $8.21 without (an existing VPC)", () => {
        expect(projectCostLine("p", project("a")).monthlyUsd.toFixed(2)).toBe("11.86");
        expect(projectCostLine("p", project("a", { publicIp: false })).monthlyUsd.toFixed(2)).toBe("8.21");
        // Fargate's smallest task (0.25 vCPU / 0.5 GB) and one public IPv4 alone exceed $10.
        expect(month(0.25 * PRICES.fargateVcpuHour.ARM64 + 0.5 * PRICES.fargateGbHour.ARM64 + PRICES.publicIpv4Hour.usd)).toBeGreaterThan(10);
    });

    test("the line names what it is made of, the project once", () => {
        const line = projectCostLine("Per added project", project("a"));
        expect(line.item).toBe("Per added project");
        expect(line.detail).toMatch(/^Fargate \$7\.21 \(1 task x \(0\.25 vCPU .*ARM64\) \+ Public IPv4 \$3\.65 \(1 x \$0\.005\/h\) \+ Secrets Manager \$0\.80 \(2 secrets .*\) \+ CloudWatch alarms \(autoscaling\) \$0\.20 \(2 x \$0\.1\/month\)$/);
        expect(line.detail).not.toContain("m-project-a");
    });

    test.each([
        ["m-project-ab-tracking-task", ["ab", "ab-c"], "ab"],
        ["m-project-ab-c-tracking-task", ["ab", "ab-c"], "ab-c"], // the longest of names that prefix each other
        ["m-proxy-project-ab-c-htpasswd", ["ab-c", "ab"], "ab-c"],
        ["m-tracking-task", ["ab"], undefined],
        ["m-proxy-alb", ["ab"], undefined],
    ] as const)("projectOf(%s, %j) = %p", (name, projects, expected) => {
        expect(projectOf(name, projects)).toBe(expected);
    });

    test("splitting leaves the stack's own resources priced as without projects", () => {
        const stack = graph({ arch: "ARM64", cpu: 512, memory: 1024 }).map(x => ({ ...x, name: x.name === "task" ? "m-tracking-task" : x.name === "svc" ? "m-tracking-service" : x.name }));
        const all = [...stack, ...project("ab"), ...project("ab-c")];
        const split = splitProjects(all, ["ab", "ab-c"]);
        expect(split.stack).toEqual(stack);
        expect(split.byProject["ab"]).toEqual(project("ab"));
        expect(split.byProject["ab-c"]).toEqual(project("ab-c"));
        const whole = idleCost(all).totalUsd;
        expect(whole).toBeCloseTo(idleCost(stack).totalUsd + 2 * projectCostLine("p", project("ab")).monthlyUsd, 6);
    });

    test("formatCost prints project lines after the total", () => {
        const text = formatCost(idleCost(graph()), [projectCostLine("Per added project", project("a"))]).split("\n");
        expect(text[text.length - 2]).toMatch(/^Idle total/);
        expect(text[text.length - 1]).toMatch(/^Per added project\s+\$11\.86  Fargate/);
    });
});

describe("monitoring and logs", () => {
    const alarm = (name: string, metrics = 0) => r("aws:cloudwatch/metricAlarm:MetricAlarm", name, metrics === 0
        ? { metricName: "CPUUtilization" }
        : { metricQueries: [...Array.from({ length: metrics }, (_, i) => ({ id: `m${i + 1}`, metric: { metricName: "RequestCount" } })), { id: "e1", expression: "m1" }] });
    const monitored = [
        ...graph(),
        alarm("m-lb-5xx-rate", 3), alarm("m-tracking-cpu"), alarm("m-tracking-memory"), alarm("m-db-connections"),
        r("aws:cloudwatch/dashboard:Dashboard", "m-dashboard", { dashboardName: "m" }),
        r("aws:sns/topic:Topic", "m-alarms", {}),
    ];

    test("alarms per metric they read (metric math: each metric, not the expression), hand-computed", () => {
        expect(line(monitored, "CloudWatch alarms (monitoring)")).toBeCloseTo((3 + 1 + 1 + 1) * 0.10, 6);
        expect(idleCost(monitored).lines.find(l => l.item === "CloudWatch alarms (monitoring)")!.detail).toBe("4 alarms reading 6 metrics x $0.1/month");
        // Autoscaling's own two alarms stay their own line.
        expect(line(monitored, "CloudWatch alarms (autoscaling)")).toBeCloseTo(0.2, 6);
    });

    test("the dashboard at $3 a month, the topic at nothing, and no line without them", () => {
        expect(line(monitored, "CloudWatch dashboard")).toBeCloseTo(3, 6);
        expect(line(monitored, "SNS alarm topic")).toBe(0);
        expect(idleCost(graph()).lines.filter(l => /monitoring|dashboard|SNS/.test(l.item))).toEqual([]);
        expect(idleCost(monitored).totalUsd - idleCost(graph()).totalUsd).toBeCloseTo(0.6 + 3, 6);
    });

    test("a project's alarms are its own cost", () => {
        const { byProject } = splitProjects([...monitored, alarm("m-monitoring-project-alpha-cpu"), alarm("m-monitoring-project-alpha-memory")], ["alpha"]);
        expect(projectCostLine("alpha", byProject.alpha).monthlyUsd).toBeCloseTo(0.2, 6);
    });

    test.each([
        // retention days, GB stored in a steady month for 0.1 GB ingested a month
        [30, 0.1], [90, 0.3], [7, 0.1 * 7 / 30], [365, 0.1 * 365 / 30],
    ])("logs kept %i days: %f GB stored", (days, stored) => {
        const g = [...graph(), r("aws:cloudwatch/logGroup:LogGroup", "logs", { retentionInDays: days })];
        expect(line(g, "CloudWatch Logs")).toBeCloseTo(0.1 * PRICES.logsIngestGb.usd + stored * PRICES.logsStoreGbMonth.usd, 9);
    });
});
