// AWS network: a VPC over two availability zones without a NAT gateway (or an existing VPC),
// and the three security groups that admit load balancer -> proxy -> database and nothing else.
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import type { AwsNetworkArgs, AwsNetworkOutputs } from "./types";

/** Address plan of a new VPC: /24 subnets, public ones first. */
export const VPC_CIDR = "10.40.0.0/16";
const PUBLIC_CIDRS = ["10.40.0.0/24", "10.40.1.0/24"];
const PRIVATE_CIDRS = ["10.40.10.0/24", "10.40.11.0/24"];
/** AWS-managed prefix list of the addresses CloudFront connects to origins from. */
export const CLOUDFRONT_ORIGIN_FACING = "com.amazonaws.global.cloudfront.origin-facing";
/** Outbound HTTPS: ECR, CloudWatch Logs, Secrets Manager and S3 (through the gateway endpoint). */
const HTTPS_PORT = 443;

export function buildAwsNetwork(parent: pulumi.Resource, name: string, args: AwsNetworkArgs): AwsNetworkOutputs {
    const opts = { parent };
    // A kept (retained) cluster's network interfaces stay in these: deleting them fails destroy.
    const keepForDatabase = { parent, retainOnDelete: args.retainDatabaseNetwork ?? false };
    const tags = args.tags ?? {};
    const named = (suffix: string) => ({ ...tags, Name: `${name}-${suffix}` });

    const { vpcId, publicSubnetIds, privateSubnetIds } = args.existingVpc
        ? existingVpcIds(args.existingVpc)
        : buildVpc(name, tags, named, opts, keepForDatabase);

    const securityGroup = (suffix: string, description: string, o: pulumi.CustomResourceOptions = opts) => new aws.ec2.SecurityGroup(`${name}-${suffix}`, {
        vpcId,
        description,
        // Rules are separate SecurityGroupIngressRule/EgressRule resources; the provider removes
        // AWS's default allow-all egress, so each group allows only what is listed below.
        revokeRulesOnDelete: true,
        tags: named(suffix),
    }, o);
    const lb = securityGroup("lb-sg", "MLflow load balancer: listener ports from the configured CIDRs");
    const service = securityGroup("service-sg", "MLflow tasks: proxy port from the load balancer only");
    const db = securityGroup("db-sg", "MLflow database: engine port from the MLflow tasks only", keepForDatabase);

    const ingress = (ruleName: string, a: aws.vpc.SecurityGroupIngressRuleArgs) =>
        new aws.vpc.SecurityGroupIngressRule(`${name}-${ruleName}`, { ...a, tags }, opts);
    const egress = (ruleName: string, a: aws.vpc.SecurityGroupEgressRuleArgs) =>
        new aws.vpc.SecurityGroupEgressRule(`${name}-${ruleName}`, { ...a, tags }, opts);

    buildLoadBalancerIngress(parent, args, lb, ingress);
    egress("lb-out-proxy", {
        securityGroupId: lb.id, ipProtocol: "tcp", fromPort: args.proxyPort, toPort: args.proxyPort,
        referencedSecurityGroupId: service.id, description: "To the authenticating proxy in the tasks",
    });

    // Tasks: in on the proxy port from the load balancer; out to AWS APIs (443) and the database.
    ingress("service-in-proxy", {
        securityGroupId: service.id, ipProtocol: "tcp", fromPort: args.proxyPort, toPort: args.proxyPort,
        referencedSecurityGroupId: lb.id, description: "From the load balancer",
    });
    egress("service-out-https", {
        securityGroupId: service.id, ipProtocol: "tcp", fromPort: HTTPS_PORT, toPort: HTTPS_PORT, cidrIpv4: "0.0.0.0/0",
        description: "ECR, CloudWatch Logs, Secrets Manager, S3",
    });
    egress("service-out-db", {
        securityGroupId: service.id, ipProtocol: "tcp", fromPort: args.databasePort, toPort: args.databasePort,
        referencedSecurityGroupId: db.id, description: "To the database",
    });

    // Database: in on the engine port from the tasks; no egress (replies are stateful).
    ingress("db-in-service", {
        securityGroupId: db.id, ipProtocol: "tcp", fromPort: args.databasePort, toPort: args.databasePort,
        referencedSecurityGroupId: service.id, description: "From the MLflow tasks",
    });

    const models = args.servingPorts ? buildModelRules(args.servingPorts, { lb, service, securityGroup, ingress, egress }) : undefined;

    return {
        vpcId,
        publicSubnetIds,
        privateSubnetIds,
        loadBalancerSecurityGroupId: lb.id,
        serviceSecurityGroupId: service.id,
        databaseSecurityGroupId: db.id,
        ...(models ? { modelSecurityGroupId: models.id } : {}),
    };
}

/** Load balancer: in from CloudFront only, or from the configured CIDRs, on the listener ports. */
function buildLoadBalancerIngress(
    parent: pulumi.Resource, args: AwsNetworkArgs, lb: aws.ec2.SecurityGroup,
    ingress: (ruleName: string, a: aws.vpc.SecurityGroupIngressRuleArgs) => aws.vpc.SecurityGroupIngressRule,
): void {
    if (args.cloudFrontOnly) {
        // AWS keeps this list to CloudFront's origin-facing addresses; it counts as 55 rules of the group's quota.
        const cloudFront = aws.ec2.getManagedPrefixListOutput({ name: CLOUDFRONT_ORIGIN_FACING }, { parent });
        for (const port of args.listenerPorts) {
            ingress(`lb-in-cloudfront-${port}`, {
                securityGroupId: lb.id, ipProtocol: "tcp", fromPort: port, toPort: port, prefixListId: cloudFront.id,
                description: `CloudFront origin-facing servers on ${port}`,
            });
        }
        return;
    }
    args.ingressCidrs.forEach((cidr, i) => {
        for (const port of args.listenerPorts) {
            ingress(`lb-in-${port}-${i}`, {
                securityGroupId: lb.id, ipProtocol: "tcp", fromPort: port, toPort: port, cidrIpv4: cidr,
                description: `Clients on ${port}`,
            });
        }
    });
}

interface RuleMakers {
    readonly lb: aws.ec2.SecurityGroup;
    readonly service: aws.ec2.SecurityGroup;
    readonly securityGroup: (suffix: string, description: string) => aws.ec2.SecurityGroup;
    readonly ingress: (ruleName: string, a: aws.vpc.SecurityGroupIngressRuleArgs) => aws.vpc.SecurityGroupIngressRule;
    readonly egress: (ruleName: string, a: aws.vpc.SecurityGroupEgressRuleArgs) => aws.vpc.SecurityGroupEgressRule;
}

/**
 * Served models: LB -> model sidecar; model task -> the tracking sidecar's read-only endpoint
 * (registry reader port, Cloud Map name) and 443 (AWS APIs, presigned S3 downloads). MLflow's
 * own port stays closed to them: the read-only endpoint is all they can reach of the registry.
 * The two reader rules keep the names they had when they opened MLflow's port (5000): same
 * URNs, and the provider updates a rule's ports in place (ModifySecurityGroupRules; only a new
 * group or kind of source replaces it: terraform-provider-aws vpc_security_group_ingress_rule.go).
 */
function buildModelRules(ports: NonNullable<AwsNetworkArgs["servingPorts"]>, m: RuleMakers): aws.ec2.SecurityGroup {
    const models = m.securityGroup("models-sg", "MLflow model servers: sidecar port from the load balancer only");
    m.egress("lb-out-models", {
        securityGroupId: m.lb.id, ipProtocol: "tcp", fromPort: ports.modelProxy, toPort: ports.modelProxy,
        referencedSecurityGroupId: models.id, description: "To the model servers' authenticating sidecars",
    });
    m.ingress("models-in-proxy", {
        securityGroupId: models.id, ipProtocol: "tcp", fromPort: ports.modelProxy, toPort: ports.modelProxy,
        referencedSecurityGroupId: m.lb.id, description: "From the load balancer",
    });
    m.egress("models-out-https", {
        securityGroupId: models.id, ipProtocol: "tcp", fromPort: HTTPS_PORT, toPort: HTTPS_PORT, cidrIpv4: "0.0.0.0/0",
        description: "ECR, CloudWatch Logs, Secrets Manager",
    });
    m.egress("models-out-mlflow", {
        securityGroupId: models.id, ipProtocol: "tcp", fromPort: ports.registryReader, toPort: ports.registryReader,
        referencedSecurityGroupId: m.service.id, description: "To the tracking sidecar's read-only registry endpoint",
    });
    m.ingress("service-in-models", {
        securityGroupId: m.service.id, ipProtocol: "tcp", fromPort: ports.registryReader, toPort: ports.registryReader,
        referencedSecurityGroupId: models.id, description: "Read-only registry endpoint, from the model servers",
    });
    return models;
}

type VpcIds = { vpcId: pulumi.Output<string>; publicSubnetIds: pulumi.Output<string[]>; privateSubnetIds: pulumi.Output<string[]> };

function existingVpcIds(v: NonNullable<AwsNetworkArgs["existingVpc"]>): VpcIds {
    return { vpcId: pulumi.output(v.vpcId), publicSubnetIds: pulumi.output(v.publicSubnetIds), privateSubnetIds: pulumi.output(v.privateSubnetIds) };
}

function buildVpc(
    name: string,
    tags: Record<string, string>,
    named: (suffix: string) => Record<string, string>,
    opts: pulumi.CustomResourceOptions,
    keepForDatabase: pulumi.CustomResourceOptions,
): VpcIds {
    const zones = aws.getAvailabilityZonesOutput({ state: "available" }, { parent: opts.parent });
    const zone = (i: number) => zones.names.apply(names => {
        if (names.length < 2) throw new Error(`the region has ${names.length} available zone(s); the platform needs two`);
        return names[i];
    });
    const vpc = new aws.ec2.Vpc(`${name}-vpc`, {
        cidrBlock: VPC_CIDR,
        enableDnsSupport: true,
        // Needed for the S3 gateway endpoint and for tasks to resolve AWS service names.
        enableDnsHostnames: true,
        tags: named("vpc"),
    }, keepForDatabase);
    const igw = new aws.ec2.InternetGateway(`${name}-igw`, { vpcId: vpc.id, tags: named("igw") }, opts);

    const publicRt = new aws.ec2.RouteTable(`${name}-public-rt`, { vpcId: vpc.id, tags: named("public-rt") }, opts);
    new aws.ec2.Route(`${name}-public-default`, {
        routeTableId: publicRt.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id,
    }, opts);
    // Isolated: only the local route and the S3 endpoint; nothing reaches the internet from here.
    const privateRt = new aws.ec2.RouteTable(`${name}-private-rt`, { vpcId: vpc.id, tags: named("private-rt") }, opts);

    const publicSubnets = PUBLIC_CIDRS.map((cidr, i) => {
        const subnet = new aws.ec2.Subnet(`${name}-public-${i}`, {
            vpcId: vpc.id, cidrBlock: cidr, availabilityZone: zone(i),
            // Tasks get their public IP from the service's assignPublicIp, not from the subnet.
            mapPublicIpOnLaunch: false,
            tags: named(`public-${i}`),
        }, opts);
        new aws.ec2.RouteTableAssociation(`${name}-public-${i}`, { subnetId: subnet.id, routeTableId: publicRt.id }, opts);
        return subnet;
    });
    const privateSubnets = PRIVATE_CIDRS.map((cidr, i) => {
        const subnet = new aws.ec2.Subnet(`${name}-private-${i}`, {
            vpcId: vpc.id, cidrBlock: cidr, availabilityZone: zone(i), mapPublicIpOnLaunch: false,
            tags: named(`private-${i}`),
        }, keepForDatabase);
        new aws.ec2.RouteTableAssociation(`${name}-private-${i}`, { subnetId: subnet.id, routeTableId: privateRt.id }, opts);
        return subnet;
    });

    // Free: S3 traffic (artifacts, ECR image layers) stays on the AWS network.
    const region = aws.getRegionOutput({}, { parent: opts.parent });
    new aws.ec2.VpcEndpoint(`${name}-s3`, {
        vpcId: vpc.id,
        serviceName: pulumi.interpolate`com.amazonaws.${region.region}.s3`,
        vpcEndpointType: "Gateway",
        routeTableIds: [publicRt.id, privateRt.id],
        tags: { ...tags, Name: `${name}-s3` },
    }, opts);

    return {
        vpcId: vpc.id,
        publicSubnetIds: pulumi.all(publicSubnets.map(s => s.id)),
        privateSubnetIds: pulumi.all(privateSubnets.map(s => s.id)),
    };
}
