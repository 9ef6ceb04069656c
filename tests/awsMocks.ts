// What the AWS provider's functions answer under mocks, for every test that runs the aws graph.
import type { CallHandler } from "./harness";

export const REGION = "eu-west-1";
/** The ECR token's password: tests check it never reaches a resource input. */
export const ECR_TOKEN_PASSWORD = "ecr-token-password-value";

/** CloudFront's origin-facing managed prefix list, as the region answers for it. */
export const CLOUDFRONT_PREFIX_LIST_NAME = "com.amazonaws.global.cloudfront.origin-facing";
export const CLOUDFRONT_PREFIX_LIST_ID = "pl-4fa04526";

export const awsCalls: CallHandler = (token, inputs) => {
    switch (token) {
        case "aws:index/getAvailabilityZones:getAvailabilityZones":
            return { id: REGION, names: [`${REGION}a`, `${REGION}b`, `${REGION}c`], zoneIds: ["euw1-az1", "euw1-az2", "euw1-az3"] };
        case "aws:index/getRegion:getRegion":
            return { id: REGION, region: REGION, name: REGION, description: "Europe (Ireland)", endpoint: `ec2.${REGION}.amazonaws.com` };
        case "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            return {
                id: "123456789012", userName: "AWS", password: ECR_TOKEN_PASSWORD, authorizationToken: "QVdTOnNlY3JldA==",
                proxyEndpoint: `https://123456789012.dkr.ecr.${REGION}.amazonaws.com`, expiresAt: "2026-11-24T00:00:00Z", registryId: "123456789012",
            };
        case "aws:ec2/getManagedPrefixList:getManagedPrefixList":
            if (inputs.name !== CLOUDFRONT_PREFIX_LIST_NAME) return undefined;
            return { id: CLOUDFRONT_PREFIX_LIST_ID, name: inputs.name, addressFamily: "IPv4", maxEntries: 55, entries: [], arn: `arn:aws:ec2:aws::prefix-list/${CLOUDFRONT_PREFIX_LIST_ID}`, ownerId: "AWS", tags: {}, version: 1 };
        default:
            return undefined;
    }
};
