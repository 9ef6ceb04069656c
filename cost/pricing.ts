// Idle monthly cost of an AWS resource graph, from list prices kept in ONE table below.
// Pure: `npm run cost` (cost/cost.ts) feeds it the graph the program registers under Pulumi
// mocks; cost/pricing.test.ts feeds it small synthetic graphs.

export interface PricedResource {
    readonly type: string;
    readonly name: string;
    readonly inputs: Readonly<Record<string, unknown>>;
}

/** A nested input such as networkConfiguration.assignPublicIp; undefined where any step is missing. */
function field(inputs: unknown, ...path: string[]): unknown {
    let v = inputs;
    for (const key of path) v = typeof v === "object" && v !== null ? (v as Record<string, unknown>)[key] : undefined;
    return v;
}

/**
 * us-east-1 list prices (USD), on-demand, Linux. The only place prices live: change them here
 * and `npm run cost` follows. `source` is the AWS pricing page each comes from; `date` is when
 * this table was last checked (2026-11-25, without live access to aws.amazon.com: the values
 * are those docs/aws.md quoted, with the Fargate x86/ARM rates cross-checked against
 * vantage.sh/blog/fargate-pricing and cloudburn.io's 2026 table). Re-check before relying on them.
 */
export const PRICES = {
    region: "us-east-1",
    date: "2026-11-25",
    albHour: { usd: 0.0225, source: "https://aws.amazon.com/elasticloadbalancing/pricing/ (Application Load Balancer, per ALB-hour)" },
    albLcuHour: { usd: 0.008, source: "https://aws.amazon.com/elasticloadbalancing/pricing/ (per LCU-hour)" },
    fargateVcpuHour: { X86_64: 0.04048, ARM64: 0.03238, source: "https://aws.amazon.com/fargate/pricing/ (Linux/x86 and Linux/ARM, per vCPU-hour)" },
    fargateGbHour: { X86_64: 0.004445, ARM64: 0.00356, source: "https://aws.amazon.com/fargate/pricing/ (per GB-hour)" },
    publicIpv4Hour: { usd: 0.005, source: "https://aws.amazon.com/vpc/pricing/ (public IPv4 address, in use or idle, per hour)" },
    auroraAcuHour: { usd: 0.12, source: "https://aws.amazon.com/rds/aurora/pricing/ (Serverless v2, Aurora Standard, per ACU-hour)" },
    auroraStorageGbMonth: { usd: 0.10, source: "https://aws.amazon.com/rds/aurora/pricing/ (Aurora Standard storage, per GB-month)" },
    auroraBackupGbMonth: { usd: 0.021, source: "https://aws.amazon.com/rds/aurora/pricing/ (backup storage beyond 100% of the cluster's storage within the retention period, and snapshots kept after it, per GB-month)" },
    s3StandardGbMonth: { usd: 0.023, source: "https://aws.amazon.com/s3/pricing/ (S3 Standard, first 50 TB, per GB-month)" },
    secretMonth: { usd: 0.40, source: "https://aws.amazon.com/secrets-manager/pricing/ (per secret per month)" },
    logsIngestGb: { usd: 0.50, source: "https://aws.amazon.com/cloudwatch/pricing/ (Logs, standard ingestion, per GB)" },
    logsStoreGbMonth: { usd: 0.03, source: "https://aws.amazon.com/cloudwatch/pricing/ (Logs, archived, per GB-month)" },
    alarmMonth: { usd: 0.10, source: "https://aws.amazon.com/cloudwatch/pricing/ (standard-resolution alarm, per alarm metric per month; a metric-math alarm pays for each metric it reads)" },
    dashboardMonth: { usd: 3.00, source: "https://aws.amazon.com/cloudwatch/pricing/ (per dashboard per month beyond the account's 3 free ones)" },
    snsEmailPer100k: { usd: 2.00, source: "https://aws.amazon.com/sns/pricing/ (e-mail notifications, per 100,000 after the first 1,000 a month free; topics cost nothing)" },
    ecrGbMonth: { usd: 0.10, source: "https://aws.amazon.com/ecr/pricing/ (private repository storage, per GB-month)" },
    natGatewayHour: { usd: 0.045, source: "https://aws.amazon.com/vpc/pricing/ (NAT gateway, per hour)" },
    // CloudFront, pay as you go, United States/Europe edges (PriceClass_100): no monthly or hourly
    // fee, so $0 at idle. Data from an AWS origin (the ALB) to CloudFront is not charged.
    cloudFrontHttpsPer10k: { usd: 0.01, source: "https://aws.amazon.com/cloudfront/pricing/ (HTTPS requests, United States/Europe, per 10,000)" },
    cloudFrontOutGb: { usd: 0.085, source: "https://aws.amazon.com/cloudfront/pricing/ (data transfer out to internet, first 10 TB, United States/Europe, per GB)" },
    cloudFrontToOriginGb: { usd: 0.02, source: "https://aws.amazon.com/cloudfront/pricing/ (data transfer out to origin: uploads, United States/Europe, per GB)" },
    cloudFrontFreeOutGb: { gb: 1024, source: "https://aws.amazon.com/cloudfront/pricing/ (always-free tier: 1 TB out per month)" },
    cloudFrontFreeRequests: { requests: 10_000_000, source: "https://aws.amazon.com/cloudfront/pricing/ (always-free tier: 10 million requests per month)" },
} as const;

/** AWS bills a month as 730 hours. */
export const HOURS_PER_MONTH = 730;

/** Usage an idle stack still has; each is an estimate, printed with the result. */
export interface IdleUsage {
    /** ALB capacity units consumed by health checks alone. */
    readonly albLcu: number;
    readonly auroraStorageGb: number;
    readonly logsIngestGbMonth: number;
    readonly ecrStorageGb: number;
    readonly s3StorageGb: number;
    /** Data Aurora changes a day: continuous backups keep it for the retention period, free up to the cluster's size. */
    readonly auroraChangedGbPerDay: number;
    /** Artifacts deleted or overwritten a day: kept as noncurrent versions until they expire. */
    readonly s3DeletedGbPerDay: number;
    /** How long one scheduled task (the project prune) runs, image pull included: Fargate bills per second, at least a minute. */
    readonly scheduledTaskMinutes: number;
}

export const DEFAULT_IDLE_USAGE: IdleUsage = {
    albLcu: 0,
    // Aurora bills storage actually used: a fresh MLflow schema is a few hundred MB.
    auroraStorageGb: 0.5,
    // Health checks every 15 s from the ALB and both containers' logs: well under 0.1 GB.
    logsIngestGbMonth: 0.1,
    // Image layers shared between the kept images: about 1 GB (python slim + MLflow).
    ecrStorageGb: 1,
    s3StorageGb: 0,
    // Idle: nothing logged, nothing deleted (gc's collections are the deletions of a working team).
    auroraChangedGbPerDay: 0,
    s3DeletedGbPerDay: 0,
    scheduledTaskMinutes: 2,
};

export interface CostLine {
    readonly item: string;
    readonly detail: string;
    readonly monthlyUsd: number;
}

const T = {
    alb: "aws:lb/loadBalancer:LoadBalancer",
    service: "aws:ecs/service:Service",
    taskDef: "aws:ecs/taskDefinition:TaskDefinition",
    cluster: "aws:rds/cluster:Cluster",
    instance: "aws:rds/clusterInstance:ClusterInstance",
    secret: "aws:secretsmanager/secret:Secret",
    logGroup: "aws:cloudwatch/logGroup:LogGroup",
    repo: "aws:ecr/repository:Repository",
    bucket: "aws:s3/bucket:Bucket",
    lifecycle: "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    scalingPolicy: "aws:appautoscaling/policy:Policy",
    nat: "aws:ec2/natGateway:NatGateway",
    schedule: "aws:scheduler/schedule:Schedule",
    distribution: "aws:cloudfront/distribution:Distribution",
    alarm: "aws:cloudwatch/metricAlarm:MetricAlarm",
    dashboard: "aws:cloudwatch/dashboard:Dashboard",
    topic: "aws:sns/topic:Topic",
} as const;

const month = (hourly: number) => hourly * HOURS_PER_MONTH;
const usd = (n: number) => `$${n}`;

function ofType(graph: readonly PricedResource[], type: string): PricedResource[] {
    return graph.filter(r => r.type === type);
}

function loadBalancerLines(graph: readonly PricedResource[], use: IdleUsage): CostLine[] {
    const lines: CostLine[] = [];
    for (const lb of ofType(graph, T.alb)) {
        if ((lb.inputs.loadBalancerType ?? "application") !== "application") throw new Error(`${lb.name}: only application load balancers are priced`);
        lines.push({ item: `ALB ${lb.name}`, detail: `${usd(PRICES.albHour.usd)}/h + ${use.albLcu} LCU x ${usd(PRICES.albLcuHour.usd)}/h`,
            monthlyUsd: month(PRICES.albHour.usd + use.albLcu * PRICES.albLcuHour.usd) });
        // An internet-facing ALB holds one public IPv4 address per subnet (availability zone).
        const subnets = lb.inputs.subnets;
        const ips = lb.inputs.internal || !Array.isArray(subnets) ? 0 : subnets.length;
        if (ips > 0) {
            lines.push({ item: `Public IPv4 of ${lb.name}`, detail: `${ips} x ${usd(PRICES.publicIpv4Hour.usd)}/h`, monthlyUsd: month(ips * PRICES.publicIpv4Hour.usd) });
        }
    }
    return lines;
}

function fargateLines(graph: readonly PricedResource[]): CostLine[] {
    const lines: CostLine[] = [];
    // A scheduled task's definition runs no service (scheduledTaskLines prices it).
    const scheduled = ofType(graph, T.schedule).map(sc => scheduledTaskDefinition(ofType(graph, T.taskDef), sc));
    const taskDefs = ofType(graph, T.taskDef).filter(t => !scheduled.includes(t));
    for (const svc of ofType(graph, T.service)) {
        if (svc.inputs.launchType !== "FARGATE") throw new Error(`${svc.name}: only Fargate services are priced`);
        // One service per task definition; with projects, `<x>-service` runs `<x>-task` (components/trackingServer/aws.ts).
        const own = taskDefs.length === 1 ? taskDefs[0] : taskDefs.find(t => t.name === `${svc.name.replace(/-service$/, "")}-task`);
        if (own === undefined) throw new Error(`${svc.name}: expected its task definition ${svc.name.replace(/-service$/, "")}-task among ${taskDefs.length}`);
        const td = own.inputs;
        const arch = field(td, "runtimePlatform", "cpuArchitecture") ?? "X86_64";
        if (arch !== "X86_64" && arch !== "ARM64") throw new Error(`${svc.name}: unknown cpuArchitecture ${JSON.stringify(arch)}`);
        const vcpu = Number(td.cpu) / 1024;
        const gb = Number(td.memory) / 1024;
        const tasks = Number(svc.inputs.desiredCount ?? 1);
        lines.push({
            item: `Fargate ${svc.name}`,
            detail: `${tasks} task x (${vcpu} vCPU x ${usd(PRICES.fargateVcpuHour[arch])}/h + ${gb} GB x ${usd(PRICES.fargateGbHour[arch])}/h), ${arch}`,
            monthlyUsd: month(tasks * (vcpu * PRICES.fargateVcpuHour[arch] + gb * PRICES.fargateGbHour[arch])),
        });
        if (field(svc.inputs, "networkConfiguration", "assignPublicIp")) {
            lines.push({ item: `Public IPv4 of ${svc.name} tasks`, detail: `${tasks} x ${usd(PRICES.publicIpv4Hour.usd)}/h`, monthlyUsd: month(tasks * PRICES.publicIpv4Hour.usd) });
        }
    }
    return lines;
}

/** Runs a month of a `rate(N unit)` schedule; other expressions are not priced. */
export function runsPerMonth(expression: string): number {
    const m = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
    if (m === null) throw new Error(`schedule ${JSON.stringify(expression)}: only rate(N minutes|hours|days) is priced`);
    const hours = Number(m[1]) * (m[2].startsWith("minute") ? 1 / 60 : m[2].startsWith("hour") ? 1 : 24);
    return HOURS_PER_MONTH / hours;
}

/** The task definition a schedule starts: by name (mock ARNs end in it) or by family (`task-definition/<family>:<rev>`). */
function scheduledTaskDefinition(taskDefs: readonly PricedResource[], schedule: PricedResource): PricedResource {
    const ref = field(schedule.inputs, "target", "ecsParameters", "taskDefinitionArn");
    const arn = typeof ref === "string" ? ref : "";
    const td = taskDefs.find(t => arn.endsWith(`/${t.name}`) || arn.includes(`task-definition/${String(t.inputs.family)}:`));
    if (td === undefined) throw new Error(`${schedule.name}: its task definition ${arn} is not in the graph`);
    return td;
}

/**
 * Scheduled ECS tasks (the project prune): Fargate for each run's minutes, its public IPv4 while
 * it runs, and, when Aurora auto-pauses (min 0 ACU), the resume each run causes: 0.5 ACU until
 * Aurora pauses again. EventBridge Scheduler's first 14 million invocations a month are free.
 */
function scheduledTaskLines(graph: readonly PricedResource[], use: IdleUsage): CostLine[] {
    const lines: CostLine[] = [];
    const taskDefs = ofType(graph, T.taskDef);
    for (const schedule of ofType(graph, T.schedule)) {
        const td = scheduledTaskDefinition(taskDefs, schedule);
        const runs = runsPerMonth(String(schedule.inputs.scheduleExpression));
        const hours = runs * use.scheduledTaskMinutes / 60;
        const arch = field(td.inputs, "runtimePlatform", "cpuArchitecture") === "ARM64" ? "ARM64" : "X86_64";
        const vcpu = Number(td.inputs.cpu) / 1024;
        const gb = Number(td.inputs.memory) / 1024;
        const publicIp = field(schedule.inputs, "target", "ecsParameters", "networkConfiguration", "assignPublicIp") ? PRICES.publicIpv4Hour.usd : 0;
        lines.push({
            item: `Fargate scheduled ${schedule.name}`,
            detail: `${Math.round(runs)} runs x ${use.scheduledTaskMinutes} min x (${vcpu} vCPU + ${gb} GB${publicIp ? " + public IPv4" : ""}), ${arch}; scheduler invocations free`,
            monthlyUsd: hours * (vcpu * PRICES.fargateVcpuHour[arch] + gb * PRICES.fargateGbHour[arch] + publicIp),
        });
        for (const cluster of ofType(graph, T.cluster)) {
            const scaling = field(cluster.inputs, "serverlessv2ScalingConfiguration");
            if (Number(field(scaling, "minCapacity") ?? 0.5) !== 0) continue;
            const awake = runs * (use.scheduledTaskMinutes / 60 + Number(field(scaling, "secondsUntilAutoPause") ?? 300) / 3600);
            lines.push({ item: `Aurora resumed by ${schedule.name}`, detail: `${Math.round(runs)} x ${(awake / runs).toFixed(2)} h x 0.5 ACU x ${usd(PRICES.auroraAcuHour.usd)}/h`,
                monthlyUsd: awake * 0.5 * PRICES.auroraAcuHour.usd });
        }
    }
    return lines;
}

function auroraLines(graph: readonly PricedResource[], use: IdleUsage): CostLine[] {
    const lines: CostLine[] = [];
    for (const cluster of ofType(graph, T.cluster)) {
        const minAcu = Number(field(cluster.inputs, "serverlessv2ScalingConfiguration", "minCapacity") ?? 0.5);
        const instances = ofType(graph, T.instance).filter(i => i.inputs.instanceClass === "db.serverless");
        // Idle = the minimum capacity; 0 ACU means paused and billed for storage only. Readers
        // (dbReaderInstances) share the cluster's capacity range: each idles at its minimum too.
        const readers = instances.filter(i => /-reader-\d+$/.test(i.name)).length;
        const idle = `${minAcu} ACU idle${minAcu === 0 ? " (auto-paused)" : ""} x ${usd(PRICES.auroraAcuHour.usd)}/h`;
        lines.push({ item: `Aurora Serverless v2 ${cluster.name}`, detail: `${instances.length - readers} instance x ${idle}`,
            monthlyUsd: month((instances.length - readers) * minAcu * PRICES.auroraAcuHour.usd) });
        if (readers > 0) {
            lines.push({ item: `Aurora readers ${cluster.name}`, detail: `${readers} reader${readers === 1 ? "" : "s"} x ${idle}; each scales with its own load up to the maximum`,
                monthlyUsd: month(readers * minAcu * PRICES.auroraAcuHour.usd) });
        }
        lines.push({ item: `Aurora storage ${cluster.name}`, detail: `${use.auroraStorageGb} GB x ${usd(PRICES.auroraStorageGbMonth.usd)}/GB-month`,
            monthlyUsd: use.auroraStorageGb * PRICES.auroraStorageGbMonth.usd });
        lines.push(auroraBackupLine(cluster, use));
    }
    return lines;
}

/**
 * Automated backups (point-in-time restore over backupRetentionPeriod days): the first copy of
 * the data is free up to 100% of the cluster's storage; what is billed is about the changes
 * kept for the retention period (days x GB changed a day). A kept final snapshot is billed the same way.
 */
function auroraBackupLine(cluster: PricedResource, use: IdleUsage): CostLine {
    const days = Number(cluster.inputs.backupRetentionPeriod ?? 1);
    const gb = days * use.auroraChangedGbPerDay;
    return {
        item: `Aurora backups ${cluster.name}`,
        detail: `${days} days retained x ${use.auroraChangedGbPerDay} GB changed/day beyond the free 100% of storage x ${usd(PRICES.auroraBackupGbMonth.usd)}/GB-month`,
        monthlyUsd: gb * PRICES.auroraBackupGbMonth.usd,
    };
}

/** Days the bucket's lifecycle keeps noncurrent versions; undefined without such a rule. */
function noncurrentDays(graph: readonly PricedResource[]): number | undefined {
    const rules = ofType(graph, T.lifecycle).flatMap((l): unknown[] => (Array.isArray(l.inputs.rules) ? l.inputs.rules as unknown[] : []));
    const days = rules.map(rule => Number(field(rule, "noncurrentVersionExpiration", "noncurrentDays"))).filter(d => d > 0);
    return days.length === 0 ? undefined : Math.max(...days);
}

/** Versioning: a deleted or overwritten artifact stays as a noncurrent version until the lifecycle expires it. */
function versionedStorageLine(graph: readonly PricedResource[], use: IdleUsage): CostLine[] {
    const days = noncurrentDays(graph);
    if (ofType(graph, T.bucket).length === 0 || days === undefined) return [];
    return [{
        item: "S3 noncurrent versions",
        detail: `${days} days kept x ${use.s3DeletedGbPerDay} GB deleted or overwritten/day x ${usd(PRICES.s3StandardGbMonth.usd)}/GB-month`,
        monthlyUsd: days * use.s3DeletedGbPerDay * PRICES.s3StandardGbMonth.usd,
    }];
}

function secretLines(graph: readonly PricedResource[]): CostLine[] {
    const own = ofType(graph, T.secret).length;
    // RDS keeps a managed master password as one more Secrets Manager secret.
    const managed = ofType(graph, T.cluster).filter(c => c.inputs.manageMasterUserPassword).length;
    const n = own + managed;
    return n === 0 ? [] : [{ item: "Secrets Manager", detail: `${own} secret${own === 1 ? "" : "s"} + ${managed} RDS-managed x ${usd(PRICES.secretMonth.usd)}/month`, monthlyUsd: n * PRICES.secretMonth.usd }];
}

/** Alarm metrics CloudWatch bills an alarm for: one, or each metric a metric-math alarm reads. */
function alarmMetrics(alarm: PricedResource): number {
    const queries = alarm.inputs.metricQueries;
    return Array.isArray(queries) ? queries.filter(q => field(q, "metric") !== undefined).length : 1;
}

/**
 * Monitoring (components/monitoring): its alarms per alarm metric, the dashboard (priced as if
 * the account's 3 free dashboards were used elsewhere), the SNS topic (free; an alarm's e-mails
 * stay inside SNS's free 1,000 a month).
 */
function monitoringLines(graph: readonly PricedResource[]): CostLine[] {
    const lines: CostLine[] = [];
    const alarms = ofType(graph, T.alarm);
    if (alarms.length > 0) {
        const metrics = alarms.reduce((n, a) => n + alarmMetrics(a), 0);
        lines.push({ item: "CloudWatch alarms (monitoring)", detail: `${alarms.length} alarms reading ${metrics} metrics x ${usd(PRICES.alarmMonth.usd)}/month`,
            monthlyUsd: metrics * PRICES.alarmMonth.usd });
    }
    const dashboards = ofType(graph, T.dashboard).length;
    if (dashboards > 0) {
        lines.push({ item: "CloudWatch dashboard", detail: `${dashboards} x ${usd(PRICES.dashboardMonth.usd)}/month (free if the account has fewer than 3 others)`,
            monthlyUsd: dashboards * PRICES.dashboardMonth.usd });
    }
    if (ofType(graph, T.topic).length > 0) {
        lines.push({ item: "SNS alarm topic", detail: `no fee per topic; e-mail ${usd(PRICES.snsEmailPer100k.usd)}/100,000 after 1,000 a month free`, monthlyUsd: 0 });
    }
    return lines;
}

/** Days a log group keeps its events: the longest retention in the graph (30 when none is set). */
function retentionDays(graph: readonly PricedResource[]): number {
    return Math.max(0, ...ofType(graph, T.logGroup).map(g => Number(g.inputs.retentionInDays ?? 30)));
}

function smallLines(graph: readonly PricedResource[], use: IdleUsage): CostLine[] {
    const lines: CostLine[] = [];
    const logs = ofType(graph, T.logGroup).length;
    if (logs > 0) {
        // Kept for retentionDays, a steady month stores that many days of ingestion.
        const stored = use.logsIngestGbMonth * retentionDays(graph) / 30;
        lines.push({ item: "CloudWatch Logs", detail: `${use.logsIngestGbMonth} GB/month ingested x ${usd(PRICES.logsIngestGb.usd)} + ${stored.toFixed(2)} GB stored `
            + `(${retentionDays(graph)} days retention) x ${usd(PRICES.logsStoreGbMonth.usd)}/GB-month`,
            monthlyUsd: use.logsIngestGbMonth * PRICES.logsIngestGb.usd + stored * PRICES.logsStoreGbMonth.usd });
    }
    // Target tracking creates two CloudWatch alarms (scale out, scale in) per policy.
    const alarms = 2 * ofType(graph, T.scalingPolicy).filter(p => p.inputs.policyType === "TargetTrackingScaling").length;
    if (alarms > 0) lines.push({ item: "CloudWatch alarms (autoscaling)", detail: `${alarms} x ${usd(PRICES.alarmMonth.usd)}/month`, monthlyUsd: alarms * PRICES.alarmMonth.usd });
    if (ofType(graph, T.repo).length > 0) {
        lines.push({ item: "ECR storage", detail: `${use.ecrStorageGb} GB x ${usd(PRICES.ecrGbMonth.usd)}/GB-month`, monthlyUsd: use.ecrStorageGb * PRICES.ecrGbMonth.usd });
    }
    if (ofType(graph, T.bucket).length > 0) {
        lines.push({ item: "S3 artifacts", detail: `${use.s3StorageGb} GB x ${usd(PRICES.s3StandardGbMonth.usd)}/GB-month (your data)`, monthlyUsd: use.s3StorageGb * PRICES.s3StandardGbMonth.usd });
    }
    const nats = ofType(graph, T.nat).length;
    if (nats > 0) lines.push({ item: "NAT gateways", detail: `${nats} x ${usd(PRICES.natGatewayHour.usd)}/h`, monthlyUsd: month(nats * PRICES.natGatewayHour.usd) });
    return lines;
}

/** What CloudFront adds for a month of use (free tier first); at idle nothing. */
export function cloudFrontUsageUsd(u: { downloadGb: number; uploadGb: number; requests: number }): number {
    const out = Math.max(0, u.downloadGb - PRICES.cloudFrontFreeOutGb.gb) * PRICES.cloudFrontOutGb.usd;
    const requests = Math.max(0, u.requests - PRICES.cloudFrontFreeRequests.requests) / 10_000 * PRICES.cloudFrontHttpsPer10k.usd;
    return out + requests + u.uploadGb * PRICES.cloudFrontToOriginGb.usd;
}

function cloudFrontLines(graph: readonly PricedResource[]): CostLine[] {
    return ofType(graph, T.distribution).map(d => ({
        item: `CloudFront ${d.name}`,
        detail: `no idle fee; per use ${usd(PRICES.cloudFrontHttpsPer10k.usd)}/10k HTTPS requests, ${usd(PRICES.cloudFrontOutGb.usd)}/GB out, `
            + `${usd(PRICES.cloudFrontToOriginGb.usd)}/GB uploaded (1 TB out, 10M requests a month free)`,
        monthlyUsd: 0,
    }));
}

/** One line per cost item of the idle stack; resource types not listed here cost nothing at idle. */
export function idleCost(graph: readonly PricedResource[], use: IdleUsage = DEFAULT_IDLE_USAGE): { lines: CostLine[]; totalUsd: number } {
    const lines = [
        ...loadBalancerLines(graph, use), ...cloudFrontLines(graph), ...fargateLines(graph), ...scheduledTaskLines(graph, use), ...auroraLines(graph, use), ...secretLines(graph), ...smallLines(graph, use), ...versionedStorageLine(graph, use),
        ...monitoringLines(graph),
    ];
    return { lines, totalUsd: lines.reduce((s, l) => s + l.monthlyUsd, 0) };
}

/**
 * Which project a resource belongs to: every resource of project `p` is named `<stack>-project-<p>-...`
 * or `<stack>-proxy-project-<p>-...` (platform/aws.ts); among names that are prefixes of each other
 * (`ab`, `ab-c`) the longest matching one. Undefined for the stack's own resources.
 */
export function projectOf(resourceName: string, projects: readonly string[]): string | undefined {
    const matching = projects.filter(p => resourceName.includes(`-project-${p}-`));
    return matching.sort((a, b) => b.length - a.length)[0];
}

/** The graph without the named projects' resources, and each project's resources. */
export function splitProjects(graph: readonly PricedResource[], projects: readonly string[]): { stack: PricedResource[]; byProject: Record<string, PricedResource[]> } {
    const byProject: Record<string, PricedResource[]> = Object.fromEntries(projects.map(p => [p, []]));
    const stack: PricedResource[] = [];
    for (const r of graph) {
        const p = projectOf(r.name, projects);
        (p === undefined ? stack : byProject[p]).push(r);
    }
    return { stack, byProject };
}

/**
 * What one project adds to the idle bill: its own resources priced alone (its Fargate task and
 * the task's public IPv4, its secrets, its autoscaling alarms); it shares the load balancer,
 * Aurora, logs and image with the server at `/`.
 */
export function projectCostLine(label: string, resources: readonly PricedResource[], use: IdleUsage = DEFAULT_IDLE_USAGE): CostLine {
    const own = idleCost(resources, use);
    // "Public IPv4 of <service> tasks" -> "Public IPv4": the project is named once, in the item.
    const kind = (item: string) => item.replace(/ (of )?\S*-project-\S*( tasks)?$/, "");
    return {
        item: label,
        detail: own.lines.filter(l => l.monthlyUsd > 0).map(l => `${kind(l.item)} $${l.monthlyUsd.toFixed(2)} (${l.detail})`).join(" + "),
        monthlyUsd: own.totalUsd,
    };
}

export function formatCost(result: { lines: CostLine[]; totalUsd: number }, projectLines: readonly CostLine[] = []): string {
    const width = Math.max(...result.lines.map(l => l.item.length), ...projectLines.map(l => l.item.length), 10);
    const row = (l: CostLine) => `${l.item.padEnd(width)}  ${("$" + l.monthlyUsd.toFixed(2)).padStart(8)}  ${l.detail}`;
    return [
        ...result.lines.map(row),
        `${"Idle total".padEnd(width)}  ${("$" + result.totalUsd.toFixed(2)).padStart(8)}  per month, ${PRICES.region} list prices of ${PRICES.date}`,
        ...projectLines.map(row),
    ].join("\n");
}
