// The aws target's monitoring: an SNS topic (with an optional e-mail subscription), one
// CloudWatch alarm per spec of ./alarms and the dashboard of ./dashboard.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { AlarmSpec, MetricRef, MonitoringInput, renderAlarms } from "./alarms";
import { renderDashboardBody } from "./dashboard";
import type { AwsMonitoringArgs, MonitoringOutputs } from "./types";

type In = pulumi.Input<string>;

function input(args: AwsMonitoringArgs): MonitoringInput<In> {
    return {
        loadBalancer: args.loadBalancerArnSuffix,
        services: args.services.map(s => ({ key: s.key, title: s.title, clusterName: s.clusterName, serviceName: s.serviceName, targetGroup: s.targetGroupArnSuffix })),
        database: args.database,
        thresholds: args.thresholds,
    };
}

function metricQuery(m: MetricRef<In>, id: string): aws.types.input.cloudwatch.MetricAlarmMetricQuery {
    return { id, returnData: false, metric: { namespace: m.namespace, metricName: m.metricName, dimensions: m.dimensions, stat: m.stat, period: m.period } };
}

/** A spec as MetricAlarm inputs: a single metric, or metric math with its metrics as m1, m2, ... */
function alarmArgs(spec: AlarmSpec<In>, topicArn: pulumi.Output<string>, tags: Record<string, string>): aws.cloudwatch.MetricAlarmArgs {
    const common = {
        alarmDescription: spec.description,
        comparisonOperator: spec.comparison,
        threshold: spec.threshold,
        evaluationPeriods: spec.evaluationPeriods,
        datapointsToAlarm: spec.datapointsToAlarm,
        treatMissingData: spec.treatMissingData,
        // The topic hears when an alarm fires and when it clears.
        alarmActions: [topicArn],
        okActions: [topicArn],
        tags,
    };
    if (spec.metric !== undefined) {
        const m = spec.metric;
        return { ...common, namespace: m.namespace, metricName: m.metricName, dimensions: m.dimensions, statistic: m.stat, period: m.period };
    }
    const e = spec.expression!;
    return {
        ...common,
        metricQueries: [
            ...e.metrics.map((m, i) => metricQuery(m, `m${i + 1}`)),
            { id: "e1", expression: e.expression, label: e.label, returnData: true },
        ],
    };
}

export function buildAwsMonitoring(parent: pulumi.Resource, name: string, args: AwsMonitoringArgs): MonitoringOutputs {
    const tags = args.tags ?? {};
    const opts = { parent };
    // No KMS key: CloudWatch can publish to a topic under the AWS-managed SNS key only with a key policy of one's own.
    const topic = new aws.sns.Topic(`${name}-alarms`, { tags }, opts);
    if (args.alarmEmail !== undefined) {
        // Pending until the address follows the link AWS mails it; nothing is delivered before.
        new aws.sns.TopicSubscription(`${name}-alarms-email`, { topic: topic.arn, protocol: "email", endpoint: args.alarmEmail }, opts);
    }
    const alarms = renderAlarms(input(args)).map(spec => new aws.cloudwatch.MetricAlarm(`${name}-${spec.key}`, alarmArgs(spec, topic.arn, tags), opts));
    const resolved = pulumi.all([
        args.loadBalancerArnSuffix, args.database.clusterIdentifier,
        pulumi.all(args.services.map(s => pulumi.all([s.clusterName, s.serviceName, s.targetGroupArnSuffix]))),
        pulumi.all(alarms.map(a => a.arn)),
    ]);
    const body = resolved.apply(([loadBalancer, clusterIdentifier, services, arns]) => renderDashboardBody({
        loadBalancer,
        services: args.services.map((s, i) => ({ key: s.key, title: s.title, clusterName: services[i][0], serviceName: services[i][1], targetGroup: services[i][2] })),
        database: { ...args.database, clusterIdentifier },
        thresholds: args.thresholds,
    }, args.region, arns));
    const dashboard = new aws.cloudwatch.Dashboard(`${name}-dashboard`, { dashboardName: args.dashboardName, dashboardBody: body }, opts);
    return { alarmTopicArn: topic.arn, dashboardName: dashboard.dashboardName };
}
