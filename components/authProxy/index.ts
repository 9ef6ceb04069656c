// The AuthProxy component: the class only; args and outputs are in ./types, each target's
// children in ./docker and ./aws.
import * as pulumi from "@pulumi/pulumi";
import { basicAuthCredentials } from "../shared/credentials";
import type { Target, TargetedConstructor } from "../shared/target";
import { buildAwsAuthProxy } from "./aws";
import { buildDockerAuthProxy } from "./docker";
import { projectNames } from "../shared/projects";
import { joinHtpasswdLines } from "./nginx";
import { metricsPaths, SCRAPER_USERNAME } from "./metrics";
import { AUTH_PROXY_TYPE, ProjectEndpoint, ProxyAccount, AuthProxyArgs, AuthProxyOutputs, AuthProxyResolved, AwsAuthProxyOutputs, TargetOutputs } from "./types";

export * from "./types";

/**
 * HTTP basic auth in front of MLflow (which has none of its own by default): nginx with a
 * rendered config, large-upload friendly, `/health` open and everything else authenticated.
 * Docker: a container publishing the platform's only host port. AWS: an Application Load
 * Balancer whose target is the nginx sidecar in the tracking server's task.
 */
class AuthProxyComponent extends pulumi.ComponentResource {
    constructor(name: string, args: AuthProxyArgs, opts?: pulumi.ComponentResourceOptions) {
        super(AUTH_PROXY_TYPE, name, {}, opts);
        const projects: ReadonlyArray<{ name: string; username: string }> = args.projects ?? [];
        const credentials = basicAuthCredentials(this, name, args.username, args.password);
        const projectCredentials = projects.map(p => basicAuthCredentials(this, `${name}-project-${p.name}`, p.username));
        const resolved: AuthProxyResolved = {
            credentials,
            projectCredentials,
            htpasswd: withAccounts(credentials.htpasswd, args.accounts ?? []),
            projectHtpasswd: projects.map((p, i) => withAccounts(projectCredentials[i].htpasswd,
                (args.accounts ?? []).filter(a => a.projects === "all" || a.projects.includes(p.name)))),
            // The Prometheus scraper's own login (docs/observability.md); the local target's scrape endpoint.
            ...(args.target === "local" ? { scraper: basicAuthCredentials(this, `${name}-metrics`, SCRAPER_USERNAME) } : {}),
            maxUploadSize: args.maxUploadSize ?? "5g",
            timeoutSeconds: args.timeoutSeconds ?? 3600,
        };
        const target: Partial<TargetOutputs<AwsAuthProxyOutputs>> & TargetOutputs<AuthProxyOutputs["local"]> = args.target === "local"
            ? buildDockerAuthProxy(this, name, { ...args, ...resolved })
            : buildAwsAuthProxy(this, name, { ...args, ...resolved });
        const projectEndpoints: Record<string, ProjectEndpoint> = {};
        projects.forEach((p, i) => {
            projectEndpoints[p.name] = {
                trackingUri: target.url.apply(u => `${u}${projectNames(p.name).urlPath}`),
                username: pulumi.output(p.username),
                password: resolved.projectCredentials[i].password,
            };
        });
        const metrics = resolved.scraper === undefined ? {} : { metrics: {
            urls: target.url.apply(u => metricsPaths(projects.map(p => p.name)).map(path => `${u}${path}`)),
            username: pulumi.output(SCRAPER_USERNAME),
            password: resolved.scraper.password,
        } };
        const o = { ...target, username: pulumi.output(args.username), password: resolved.credentials.password, projects: projectEndpoints, ...metrics };
        Object.assign(this, o);
        this.registerOutputs({
            url: o.url,
            username: o.username,
            password: o.password,
            loadBalancerDnsName: o.loadBalancerDnsName,
        });
    }
}

/** A location's htpasswd file: its own login's line, then the accounts' (unchanged without any). */
function withAccounts(own: pulumi.Output<string>, accounts: readonly ProxyAccount[]): pulumi.Output<string> {
    if (accounts.length === 0) return own;
    return pulumi.secret(pulumi.all([own, ...accounts.map(a => a.htpasswdLine)]).apply(joinHtpasswdLines));
}

/** An AuthProxy whose outputs are those of target F. */
export type AuthProxy<F extends Target = Target> = AuthProxyComponent & AuthProxyOutputs[F];
export const AuthProxy = AuthProxyComponent as TargetedConstructor<AuthProxyArgs, AuthProxyComponent, AuthProxyOutputs>;
